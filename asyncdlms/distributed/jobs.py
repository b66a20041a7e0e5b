"""Jobs on the jobs stream: one :class:`Job` per meter per cycle, naming the meter, its
connect options and the read plan — and never a secret.

A fleet file's ``*_env`` fields (``password_env = "METER_PASSWORD"``) travel as the *name*
of the environment variable; the worker reads the value from its own environment. A secret
written literally in the fleet file (``password = "..."``, a key in hex) is refused with
:class:`SecretInJobError`: it would be stored in Redis for anyone with access to read.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ..errors import DlmsError
from ..fleet import FleetFileError, Meter, ReadPlan, parse_fleet

__all__ = [
    "SECRET_OPTIONS",
    "Job",
    "JobError",
    "SecretInJobError",
    "jobs_from_fleet",
    "load_job_fleet",
]

SECRET_OPTIONS = frozenset(
    {"password", "secret", "block_cipher_key", "authentication_key", "auth_key", "broadcast_key"}
)
"""Connect options that are secrets: only their ``*_env`` form may be in a job."""

_ENV_MARK = "\x00asyncdlms-env\x00"


class JobError(DlmsError):
    """A job record that cannot be used (the message names the field)."""


class SecretInJobError(FleetFileError):
    """A fleet file gives a secret literally; jobs carry only the name of an environment
    variable (``password_env``), resolved on the worker."""


class _NamesOnly(Mapping[str, str]):
    """An environment in which every variable exists and its value is a mark naming it, so
    that the fleet file parser keeps *which* variable a ``*_env`` field names."""

    def __getitem__(self, name: str) -> str:
        return _ENV_MARK + name

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str)

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


@dataclass(frozen=True, slots=True)
class Job:
    """One meter to poll in one cycle.

    ``meter`` (its name), ``url``, ``options`` (the association options by the flat names
    of fleet files, :mod:`asyncdlms.aio.options`; JSON values, no secret), ``environment``
    (option -> the environment variable the worker reads it from), ``bus`` (the shared bus
    key or ``""``), ``deadline`` (seconds, or None), ``plan`` (plan item texts), ``cycle``
    (its number) and ``scheduled`` (the cycle's time, UTC: the capture time of the values
    read, so that a job done twice stores the same rows)."""

    meter: str
    url: str
    cycle: int
    scheduled: dt.datetime
    plan: tuple[str, ...]
    options: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    environment: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    bus: str = ""
    deadline: float | None = None

    def fields(self) -> dict[str, str]:
        """The stream entry's fields."""
        out = {
            "meter": self.meter,
            "url": self.url,
            "cycle": str(self.cycle),
            "scheduled": self.scheduled.astimezone(dt.UTC).isoformat(),
            "plan": json.dumps(list(self.plan)),
            "options": json.dumps(dict(self.options), sort_keys=True),
            "environment": json.dumps(dict(self.environment), sort_keys=True),
            "bus": self.bus,
        }
        if self.deadline is not None:
            out["deadline"] = repr(self.deadline)
        return out

    @classmethod
    def from_fields(cls, fields: Mapping[str, str]) -> Job:
        """A job from a stream entry's fields; :class:`JobError` names a bad field."""
        try:
            options = json.loads(fields["options"])
            environment = json.loads(fields["environment"])
            plan = json.loads(fields["plan"])
            deadline = fields.get("deadline")
            return cls(
                meter=fields["meter"],
                url=fields["url"],
                cycle=int(fields["cycle"]),
                scheduled=dt.datetime.fromisoformat(fields["scheduled"]),
                plan=tuple(str(item) for item in plan),
                options=options,
                environment=environment,
                bus=fields.get("bus", ""),
                deadline=None if deadline in (None, "") else float(deadline),
            )
        except KeyError as exc:
            raise JobError(f"a job without the field {exc.args[0]!r}") from None
        except (ValueError, TypeError) as exc:
            raise JobError(f"a job with a bad field: {exc}") from None

    def identity(self) -> str:
        """What makes two jobs poll the same way (all but cycle and schedule)."""
        fields = self.fields()
        for name in ("cycle", "scheduled"):
            del fields[name]
        return json.dumps(fields, sort_keys=True)

    def to_meter(self, environ: Mapping[str, str] | None = None) -> Meter:
        """The :class:`Meter` to poll, secrets read from ``environ`` (the process's
        environment by default); :class:`JobError` names a variable that is not set."""
        environ = os.environ if environ is None else environ
        options = dict(self.options)
        for option, variable in self.environment.items():
            if variable not in environ:
                raise JobError(
                    f"meter {self.meter}: option {option!r} comes from the environment "
                    f"variable {variable}, which is not set on this worker"
                )
            options[option] = environ[variable]
        return Meter(
            self.url, options, name=self.meter, bus=self.bus or False, deadline=self.deadline
        )

    def read_plan(self) -> ReadPlan:
        return ReadPlan.parse(self.plan)


def load_job_fleet(path: str | os.PathLike[str]) -> tuple[tuple[Meter, ...], ReadPlan]:
    """The meters of a fleet file with every ``*_env`` value replaced by a mark naming the
    variable (see :func:`jobs_from_fleet`), and its plan."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise FleetFileError(f"{path}: cannot read: {exc.strerror or exc}") from None
    kind = path.suffix.lstrip(".").lower()
    fleet = parse_fleet(text, kind, name=str(path), environ=_NamesOnly())
    return fleet.meters, fleet.plan


def jobs_from_fleet(
    meters: tuple[Meter, ...], plan: ReadPlan, cycle: int, scheduled: dt.datetime
) -> list[Job]:
    """One job per meter for ``cycle``. Meters come from :func:`load_job_fleet`: an option
    holding an environment mark becomes an ``environment`` entry; a secret option given
    literally raises :class:`SecretInJobError`."""
    jobs = []
    texts = tuple(plan.keys)
    for meter in meters:
        options: dict[str, Any] = {}
        environment: dict[str, str] = {}
        for key, value in meter.options.items():
            if isinstance(value, str) and value.startswith(_ENV_MARK):
                environment[key] = value[len(_ENV_MARK) :]
            elif key in SECRET_OPTIONS and value is not None:
                raise SecretInJobError(
                    f"meter {meter.name}: {key!r} is given in the fleet file; jobs go through "
                    f"Redis, so give '{key}_env' (an environment variable of the workers) "
                    "instead"
                )
            else:
                try:
                    json.dumps(value)
                except TypeError:
                    raise FleetFileError(
                        f"meter {meter.name}: option {key!r} cannot travel in a job"
                    ) from None
                options[key] = value
        jobs.append(
            Job(
                meter=meter.name,
                url=meter.url,
                cycle=cycle,
                scheduled=scheduled,
                plan=texts,
                options=options,
                environment=environment,
                bus=meter.bus_key or "",
                deadline=meter.deadline,
            )
        )
    return jobs
