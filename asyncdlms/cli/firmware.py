"""``asyncdlms firmware``: upgrade one meter's firmware (Image transfer, class 18).

::

    asyncdlms firmware tcp://10.0.0.7:4059 fw-2.1.bin --identifier FW-2.1 \\
        --client 18 --auth md5 --activate now

A progress bar goes to standard error (blocks, %, rate, time left; plain lines every 10 %
when standard error is not a terminal), the outcome and the effective rate to standard
output. ``--activate now`` (default) activates at once and confirms the new active firmware
identifier, ``--activate 2027-01-02T03:00`` sets the image activation schedule, ``--activate
no`` leaves the image verified. Exit status 0 when done, 1 when the upgrade failed, 2 for bad
options. The same options (``--identifier``, ``--activate``, ``--no-verify``) run a fleet
campaign: ``asyncdlms poll FLEET --firmware IMAGE``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from typing import IO, Any

from ..aio.connect import connect
from ..aio.loop import run as run_loop
from ..errors import DlmsError
from ..firmware import Activation, FirmwareProgress, FirmwareSettings, FirmwareUpgradeResult
from ..obis import Obis
from ..store import StoreError
from ..store.firmware import FirmwareTransferStore
from .counters import counter_store
from .meter import add_association_options, connect_options
from .store_options import opened_store

__all__ = [
    "FirmwareProgressBar",
    "add_firmware_command",
    "add_firmware_options",
    "describe_result",
    "firmware_arguments",
]


def parse_activation(text: str) -> bool | dt.datetime:
    """``now`` / ``no`` / an ISO 8601 time (naive: the meter's local time)."""
    lowered = text.strip().lower()
    if lowered in ("now", "yes"):
        return True
    if lowered in ("no", "none", "never"):
        return False
    try:
        return dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--activate wants now, no or a time like 2027-01-02T03:00, not {text!r}"
        ) from None


def parse_identifier(text: str) -> bytes:
    """The image identifier: text (sent in UTF-8), or ``hex:0102...`` for raw octets."""
    if text.startswith("hex:"):
        try:
            return bytes.fromhex(text[4:])
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r}: not hexadecimal after hex:") from None
    if not text:
        raise argparse.ArgumentTypeError("the identifier must not be empty")
    return text.encode("utf-8")


def add_firmware_options(parser: argparse.ArgumentParser, *, required: bool = True) -> None:
    """``--identifier``, ``--activate``, ``--no-verify``, ``--instance`` and the waits."""
    group = parser.add_argument_group("firmware")
    add = group.add_argument
    add("--identifier", type=parse_identifier, required=required, metavar="ID",
        help="the image identifier (text, or hex:0102...)")  # fmt: skip
    add("--activate", type=parse_activation, default=True, metavar="now|TIME|no",
        help="activate now (default), at TIME (ISO 8601, sets the image activation "
             "schedule 0.0.15.0.2.255) or not")  # fmt: skip
    add("--no-verify", dest="verify", action="store_false",
        help="do not call image_verify (activation then needs a meter that verifies "
             "itself)")  # fmt: skip
    add("--instance", type=Obis, default=Obis("0.0.44.0.0.255"), metavar="OBIS",
        help="the Image transfer object (default 0.0.44.0.0.255)")  # fmt: skip
    add("--firmware-identifier", type=Obis, default=Obis("1.0.0.2.0.255"), metavar="OBIS",
        help="the active firmware identifier read to confirm (default 1.0.0.2.0.255)")  # fmt: skip
    add("--no-pipeline", dest="pipeline", action="store_false",
        help="one image block per ACTION (no ACTION with-list)")  # fmt: skip
    add("--verification-timeout", type=float, default=300.0, metavar="S",
        help="seconds the meter may take to verify or activate (default 300)")  # fmt: skip


def firmware_arguments(args: argparse.Namespace) -> dict[str, Any]:
    """The :meth:`~asyncdlms.Client.upgrade_firmware` keywords of the options."""
    settings = FirmwareSettings(
        instance=args.instance,
        firmware_identifier=args.firmware_identifier,
        pipeline=args.pipeline,
        verification_timeout=args.verification_timeout,
        activation_timeout=args.verification_timeout,
    )
    return {"verify": args.verify, "activate": args.activate, "settings": settings}


def firmware_store(store: object) -> FirmwareTransferStore | None:
    """``store`` when it can record firmware progress (both stores can), else None."""
    return store if isinstance(store, FirmwareTransferStore) else None


def _size(count: float) -> str:
    for unit in ("B", "kB", "MB"):
        if count < 1000 or unit == "MB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1000
    raise AssertionError("unreachable")  # pragma: no cover


def _duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


class FirmwareProgressBar:
    """``[######----] 120/200 blocks  60%  12.3 kB/s  ETA 0:07`` redrawn on a terminal,
    a plain line every 10 % (and at each phase) otherwise."""

    def __init__(self, stream: IO[str], *, tty: bool | None = None, prefix: str = "") -> None:
        self.stream = stream
        self.tty = stream.isatty() if tty is None else tty
        self.prefix = prefix
        self._drawn = 0.0
        self._tenth = -1
        self._phase = ""

    def __call__(self, progress: FirmwareProgress) -> None:
        if progress.phase != "transfer":
            if progress.phase != self._phase:
                self._end_line()
                print(f"{self.prefix}{progress.phase}...", file=self.stream, flush=True)
            self._phase = progress.phase
            return
        self._phase = progress.phase
        line = self.line(progress)
        if self.tty:
            now = time.monotonic()
            if now - self._drawn >= 0.1 or progress.blocks_done == progress.blocks:
                self._drawn = now
                self.stream.write("\r" + line)
                self.stream.flush()
            return
        tenth = int(progress.fraction * 10)
        if tenth != self._tenth:
            self._tenth = tenth
            print(line, file=self.stream, flush=True)

    def line(self, progress: FirmwareProgress) -> str:
        width = 20
        filled = int(progress.fraction * width)
        eta = progress.eta
        return (
            f"{self.prefix}[{'#' * filled}{'-' * (width - filled)}] "
            f"{progress.blocks_done}/{progress.blocks} blocks {progress.fraction:4.0%} "
            f"{_size(progress.rate)}/s ETA {'?' if eta is None else _duration(eta)}"
        )

    def _end_line(self) -> None:
        if self.tty and self._phase == "transfer":
            self.stream.write("\n")

    def finish(self) -> None:
        self._end_line()
        self._phase = ""


def describe_result(result: FirmwareUpgradeResult) -> str:
    """One line: what was sent, at what effective rate, and the outcome."""
    resumed = f", resumed from block {result.resumed_from}" if result.resumed_from else ""
    activation = {
        Activation.NOW: "activated",
        Activation.SCHEDULED: "activation scheduled",
        Activation.NONE: "not activated",
    }[result.activation]
    verified = "verified, " if result.verified else ""
    after = result.firmware_after
    version = "" if after is None else f"; active firmware {after.decode(errors='replace')}"
    rate = (
        f"effective rate {_size(result.rate)}/s"
        if result.blocks_sent
        else "the meter held every block already"
    )
    return (
        f"{result.blocks_sent} of {result.blocks} blocks ({_size(result.bytes_sent)}) sent in "
        f"{result.seconds:.1f} s{resumed}: {rate}; {verified}{activation}{version}"
    )


def _command_firmware(args: argparse.Namespace) -> int:
    async def upgrade() -> FirmwareUpgradeResult:
        bar = FirmwareProgressBar(sys.stderr, tty=args.progress)
        async with (
            opened_store(args.store) as store,
            connect(args.url, timeout=args.timeout, **connect_options(args)) as meter,
        ):
            try:
                return await meter.upgrade_firmware(
                    image, args.identifier, progress=bar, store=firmware_store(store),
                    **firmware_arguments(args),
                )  # fmt: skip
            finally:
                bar.finish()

    try:
        with open(args.image, "rb") as file:
            image = file.read()
    except OSError as exc:
        print(f"asyncdlms firmware: {args.image}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    try:
        with counter_store(args):
            result = run_loop(upgrade())
    except KeyboardInterrupt:
        return 130
    except StoreError as exc:
        print(f"asyncdlms firmware: {exc}", file=sys.stderr)
        return 2
    except (DlmsError, OSError, ValueError) as exc:
        print(f"asyncdlms firmware: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(describe_result(result))
    return 0


def add_firmware_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``firmware`` to the command line."""
    parser = commands.add_parser(
        "firmware",
        help="upgrade a meter's firmware: URL IMAGE --identifier ID",
        description="Transfer IMAGE to the meter's Image transfer object (resuming from the "
        "blocks it holds), verify, activate and confirm the new firmware identifier.",
    )
    parser.add_argument("url", help="tcp://HOST:PORT, hdlc+tcp://, udp://, serial://...")
    parser.add_argument("image", help="the image file")
    add_firmware_options(parser)
    parser.add_argument("--timeout", type=float, default=10.0,
                        help="seconds for the association and each request "
                             "(default 10)")  # fmt: skip
    parser.add_argument("--store", default=os.environ.get("ASYNCDLMS_STORE"), metavar="URL",
                        help="record the progress in this store's firmware_transfers table "
                             "(default ASYNCDLMS_STORE)")  # fmt: skip
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                        help="redraw a progress bar (default: when stderr is a terminal; "
                             "else a line every 10%%)")  # fmt: skip
    add_association_options(parser)
    parser.set_defaults(handler=_command_firmware)


def add_campaign_options(parser: argparse.ArgumentParser) -> None:
    """``poll``'s firmware campaign options: ``--firmware IMAGE``, ``--max-parallel N`` and
    :func:`add_firmware_options` (``--identifier`` then required)."""
    parser.add_argument("--firmware", metavar="IMAGE",
                        help="instead of reading: upgrade every meter of FLEET_FILE with "
                             "IMAGE (needs --identifier); a re-run works only on meters not "
                             "done")  # fmt: skip
    parser.add_argument("--max-parallel", type=int, default=10, metavar="N",
                        help="with --firmware: meters upgraded at once (default 10)")  # fmt: skip
    add_firmware_options(parser, required=False)


def run_campaign(args: argparse.Namespace, meters: list[Any], fleet_path: str) -> int:
    """``poll FLEET --firmware IMAGE``: one line per meter on stdout (done / skipped /
    failed with the reason), a summary on stderr; exit 0 when no meter failed, else 1;
    2 for bad options. Outcomes are kept in ``--store`` when given, else in a state file
    next to the fleet file (its path is printed)."""
    from ..fleet.firmware import CampaignState, FirmwareCampaign, MeterOutcome, state_file
    from .poll import with_options

    if args.identifier is None:
        print("asyncdlms poll: --firmware needs --identifier", file=sys.stderr)
        return 2
    try:
        with open(args.firmware, "rb") as file:
            image = file.read()
    except OSError as exc:
        print(f"asyncdlms poll: {args.firmware}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    meters = with_options(meters, connect_options(args))

    def show(outcome: MeterOutcome) -> None:
        if outcome.earlier:
            line = f"{outcome.meter}: {outcome.outcome} (earlier run)"
        elif outcome.result is not None:
            line = f"{outcome.meter}: done: {describe_result(outcome.result)}"
        else:
            reason = f": {outcome.reason}" if outcome.reason else ""
            line = f"{outcome.meter}: {outcome.outcome}{reason}"
        print(line, flush=True)

    async def campaign() -> list[MeterOutcome]:
        async with opened_store(args.store) as store:
            state = None
            if store is None:
                path = state_file(fleet_path, args.identifier, image)
                print(f"campaign state: {path}", file=sys.stderr)
                state = CampaignState(path)
            return await FirmwareCampaign(
                meters, image, args.identifier, max_parallel=args.max_parallel,
                store=firmware_store(store), state=state, upgrade=firmware_arguments(args),
                timeout=args.timeout, on_outcome=show,
            ).run()  # fmt: skip

    try:
        with counter_store(args):
            outcomes = run_loop(campaign())
    except KeyboardInterrupt:
        return 130
    except (StoreError, ValueError, OSError) as exc:
        print(f"asyncdlms poll: {exc}", file=sys.stderr)
        return 2
    kinds = ("done", "skipped", "failed")
    counts = {kind: sum(o.outcome == kind for o in outcomes) for kind in kinds}
    print(f"firmware campaign: {counts['done']} done, {counts['skipped']} skipped, "
          f"{counts['failed']} failed of {len(outcomes)} meters", file=sys.stderr)  # fmt: skip
    return 1 if counts["failed"] else 0
