"""``asyncdlms plot --store URL --meter NAME --obis OBIS -o profile.png``: draw a stored
load profile (one line per numeric column) or a register's history (needs matplotlib:
``pip install 'asyncdlms[plot]'``)."""

from __future__ import annotations

import argparse
import asyncio
import itertools
import sys
from typing import Any

from ..store import ReadingQuery, StoreError, open_store
from .readings import iso_time

__all__ = ["add_plot_command", "plot_series"]

Series = dict[str, tuple[list[Any], list[float]]]


async def plot_series(url: str, query: ReadingQuery, *, raw: bool = False) -> tuple[Series, str]:
    """The lines to draw, by label (times, values), and the y-axis label: the numeric
    columns of the profile named by ``query`` if it is one — the increase from one row to
    the next (energy per capture period) unless ``raw`` —, else the stored readings."""
    store = await open_store(url, create=False)
    try:
        rows = await store.profile_rows(query)
        readings = [] if rows else await store.readings(query)
    finally:
        await store.close()
    series: Series = {}
    if rows:
        for row in rows:
            for column, number in zip(row.columns, row.numbers(), strict=False):
                if number is None or column.startswith("8/"):
                    continue
                times, values = series.setdefault(column, ([], []))
                times.append(row.capture_time)
                values.append(number)
        if raw:
            return series, "raw value"
        increases: Series = {}
        for column, (times, values) in series.items():
            steps = [later - earlier for earlier, later in itertools.pairwise(values)]
            increases[column] = (times[1:], steps)
        return increases, "increase per capture period (raw)"
    units = set()
    for reading in readings:
        if reading.number is None:
            continue
        times, values = series.setdefault(reading.object, ([], []))
        times.append(reading.capture_time)
        values.append(reading.number)
        units.add(reading.unit)
    return series, " ".join(sorted(u for u in units if u)) or "value"


def _draw(series: Series, ylabel: str, title: str, output: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(figsize=(10, 4.5), dpi=100)
    try:
        for label, (times, values) in sorted(series.items()):
            axes.plot(times, values, label=label, linewidth=1.2)
        axes.set_title(title)
        axes.set_xlabel("capture time (UTC)")
        axes.set_ylabel(ylabel)
        axes.grid(True, alpha=0.3)
        axes.legend(loc="best", fontsize="small")
        figure.autofmt_xdate()
        figure.tight_layout()
        figure.savefig(output, format="png")
    finally:
        pyplot.close(figure)


def _command_plot(args: argparse.Namespace) -> int:
    if args.store is None:
        print("asyncdlms plot: give --store URL (or set ASYNCDLMS_STORE)", file=sys.stderr)
        return 2
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print("asyncdlms plot: needs matplotlib: pip install 'asyncdlms[plot]'", file=sys.stderr)
        return 2
    query = ReadingQuery(args.meter, (args.obis,), args.start, args.end)
    try:
        series, ylabel = asyncio.run(plot_series(args.store, query, raw=args.raw))
    except (StoreError, ValueError) as exc:
        print(f"asyncdlms plot: {exc}", file=sys.stderr)
        return 2
    if not series:
        print(f"asyncdlms plot: nothing numeric stored for {args.meter} {args.obis}",
              file=sys.stderr)  # fmt: skip
        return 1
    points = sum(len(values) for _, values in series.values())
    _draw(series, ylabel, f"{args.meter}  {args.obis}", args.output)
    print(f"{args.output}: {len(series)} series, {points} points")
    return 0


def add_plot_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``plot`` to the command line."""
    from .store_options import add_store_option

    plot = commands.add_parser(
        "plot",
        help="draw a stored load profile or register history to a PNG",
        description="Draw a stored profile (each numeric column) or register history.",
    )
    add_store_option(plot)
    plot.add_argument("--meter", required=True, metavar="NAME", help="only this meter")
    plot.add_argument("--obis", required=True, metavar="OBIS",
                      help="a profile (1.0.99.1.0.255) or a register (1.0.1.8.0.255)")  # fmt: skip
    plot.add_argument("--from", dest="start", type=iso_time, help="ISO 8601 start")
    plot.add_argument("--to", dest="end", type=iso_time, help="ISO 8601 end")
    plot.add_argument("--raw", action="store_true",
                      help="a profile's values as stored, not their increase per row")  # fmt: skip
    plot.add_argument("-o", "--output", required=True, metavar="FILE.png", help="the PNG to write")
    plot.set_defaults(handler=_command_plot)
