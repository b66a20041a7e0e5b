"""A firmware campaign: one image to every meter of a fleet, ``max_parallel`` at a time, each
meter's outcome kept so that a second run works only on the meters not done.

Outcomes: **done** (transferred, verified and activated as asked), **skipped** (the meter
already runs that identifier: nothing sent), **failed** (with the reason). Where they are
kept: in the store's ``firmware_transfers`` table when a store is given (the row of the
meter, the identifier and the image's SHA-256, status ``done``), else in a small JSON state
file (by default next to the fleet file: ``FLEET.firmware-<identifier hex>-<sha>.json``).
Either way a re-run still asks each remaining meter what it holds (the meter is the truth
for its blocks), so an interrupted transfer resumes where it stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import enum
import json
import os
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any

from ..aio.client import Client
from ..aio.connect import connect
from ..aio.options import connect_keywords
from ..errors import DlmsError
from ..firmware.plan import FirmwareSettings, FirmwareUpgradeResult, ImagePlan, load_image
from ..store.firmware import FirmwareTransferStatus, FirmwareTransferStore
from .meters import Meter

__all__ = ["CampaignOutcome", "CampaignState", "FirmwareCampaign", "MeterOutcome", "state_file"]


class CampaignOutcome(enum.StrEnum):
    DONE = "done"
    SKIPPED = "skipped"
    FAILED = "failed"


@dataclasses.dataclass(frozen=True, slots=True)
class MeterOutcome:
    """One meter's outcome; ``earlier``: done or skipped by a previous run (not contacted
    now); ``result`` when this run upgraded it."""

    meter: str
    outcome: CampaignOutcome
    reason: str = ""
    earlier: bool = False
    result: FirmwareUpgradeResult | None = None


def state_file(fleet: str | os.PathLike[str], identifier: bytes, image: bytes) -> Path:
    """The campaign state file next to ``fleet`` for this identifier and image."""
    path = Path(fleet)
    sha = ImagePlan(image, identifier, 1).sha256[:12]
    return path.with_name(f"{path.name}.firmware-{identifier.hex()}-{sha}.json")


class CampaignState:
    """Outcomes by meter name in a JSON file (written after every meter, atomically)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            data = {}
        except (OSError, ValueError) as exc:
            raise ValueError(f"{path}: unreadable campaign state ({exc}); remove it") from None
        self.outcomes: dict[str, dict[str, str]] = dict(data.get("meters", {}))

    def finished(self, meter: str) -> bool:
        entry = self.outcomes.get(meter)
        return entry is not None and entry.get("outcome") in ("done", "skipped")

    def save(self, outcome: MeterOutcome) -> None:
        self.outcomes[outcome.meter] = {
            "outcome": str(outcome.outcome),
            "reason": outcome.reason,
            "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }
        temporary = self.path.with_name(self.path.name + ".tmp")
        temporary.write_text(json.dumps({"meters": self.outcomes}, indent=1), encoding="utf-8")
        temporary.replace(self.path)


class FirmwareCampaign:
    """Upgrade ``meters`` with ``image`` as ``identifier``, ``max_parallel`` at a time
    (meters with the same :attr:`~asyncdlms.fleet.Meter.bus_key` one after the other).

    ``store`` (a :class:`~asyncdlms.store.firmware.FirmwareTransferStore`) or ``state``
    (a :class:`CampaignState`) remembers the outcomes (a store wins when both are given);
    ``upgrade`` holds the :meth:`~asyncdlms.Client.upgrade_firmware` keywords (``verify``,
    ``activate``, ``settings``); ``connect_timeout`` is the per-request timeout when a
    meter's options give none; ``on_outcome`` is called as each meter finishes."""

    def __init__(
        self,
        meters: Sequence[Meter],
        image: bytes | str | os.PathLike[str],
        identifier: bytes,
        *,
        max_parallel: int = 10,
        store: FirmwareTransferStore | None = None,
        state: CampaignState | None = None,
        upgrade: dict[str, Any] | None = None,
        timeout: float = 10.0,
        on_outcome: Callable[[MeterOutcome], None] | None = None,
        connector: Callable[..., Any] = connect,
    ) -> None:
        if max_parallel < 1:
            raise ValueError("max_parallel must be at least 1")
        self.meters = list(meters)
        self.image = load_image(image)
        self.identifier = identifier
        self.max_parallel = max_parallel
        self.store = store
        self.state = state
        self.upgrade = dict(upgrade or {})
        self.timeout = timeout
        self.on_outcome = on_outcome
        self.connector = connector
        self.sha256 = ImagePlan(self.image, identifier, 1).sha256

    async def run(self) -> list[MeterOutcome]:
        """Work on every meter; the outcomes in the fleet's order."""
        finished = await self._finished_earlier()
        semaphore = asyncio.Semaphore(self.max_parallel)
        # meters on one line (a serial bus, an HDLC gateway) are upgraded one at a time
        lines: dict[str, asyncio.Lock] = {}

        async def one(meter: Meter) -> MeterOutcome:
            if meter.name in finished:
                outcome = MeterOutcome(meter.name, finished[meter.name], "earlier run", True)
            else:
                key = meter.bus_key or f"meter {id(meter)}"  # a meter alone: its own line
                async with lines.setdefault(key, asyncio.Lock()), semaphore:
                    outcome = await self._upgrade(meter)
                if self.state is not None and self.store is None:
                    self.state.save(outcome)
            if self.on_outcome is not None:
                self.on_outcome(outcome)
            return outcome

        return list(await asyncio.gather(*(one(meter) for meter in self.meters)))

    async def _finished_earlier(self) -> dict[str, CampaignOutcome]:
        if self.store is not None:
            records = await self.store.firmware_transfers(image_sha256=self.sha256)
            return {
                r.meter: CampaignOutcome.DONE
                for r in records
                if r.identifier == self.identifier.hex() and r.status is FirmwareTransferStatus.DONE
            }
        if self.state is not None:
            return {
                name: CampaignOutcome(entry["outcome"])
                for name, entry in self.state.outcomes.items()
                if self.state.finished(name)
            }
        return {}

    async def _upgrade(self, meter: Meter) -> MeterOutcome:
        settings: FirmwareSettings = self.upgrade.get("settings") or FirmwareSettings()
        options = {"timeout": self.timeout, **meter.options}
        try:
            async with self._connected(meter, options) as client:
                current = await _active_identifier(client, settings)
                if current == self.identifier:
                    return MeterOutcome(
                        meter.name,
                        CampaignOutcome.SKIPPED,
                        f"already at {self.identifier.decode(errors='replace')}",
                    )
                result = await client.upgrade_firmware(
                    self.image, self.identifier, store=self.store, meter=meter.name,
                    **self.upgrade,
                )  # fmt: skip
        except (DlmsError, OSError, ValueError) as exc:
            return MeterOutcome(meter.name, CampaignOutcome.FAILED, f"{type(exc).__name__}: {exc}")
        return MeterOutcome(meter.name, CampaignOutcome.DONE, result=result)

    @contextlib.asynccontextmanager
    async def _connected(self, meter: Meter, options: dict[str, Any]) -> AsyncIterator[Client]:
        client: Client = await self.connector(meter.url, **connect_keywords(options))
        try:
            yield client
        finally:
            await client.close()


async def _active_identifier(client: Client, settings: FirmwareSettings) -> bytes | None:
    try:
        value = await client.get(
            settings.firmware_identifier_class, settings.firmware_identifier, 2
        )
    except DlmsError:
        return None
    if isinstance(value, str):
        return value.encode("utf-8")
    return bytes(value) if isinstance(value, (bytes, bytearray)) else None
