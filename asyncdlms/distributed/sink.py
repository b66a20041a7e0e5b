"""Where a worker commits what a job read, before it acknowledges the job.

The worker needs one thing of a store: :class:`JobStore` — commit one job's outcome in one
transaction, idempotently, so that a job done twice (a worker died after committing, before
acknowledging) leaves one set of rows. :func:`open_job_store` gives the readings store
(:mod:`asyncdlms.store`, SQLite or PostgreSQL: upserts on (meter, object, capture time))
behind that interface: a register, clock or attribute value is stored at the *cycle's* time
(:attr:`~.jobs.Job.scheduled`), not the moment of the read, so a second delivery overwrites
the first delivery's rows instead of adding a second set; profile rows keep their own capture
times, with the meter's new position in the same transaction. Workers on one machine may
share one SQLite file (WAL, busy timeout); across machines they share PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from ..errors import DlmsError
from ..fleet import MeterResult, ReadPlan
from ..fleet.positions import StorePositions, result_batch
from ..store import ReadingQuery, ReadingStore, StoreBatch, open_store
from .jobs import Job

__all__ = ["JobStore", "JobStoreError", "ReadingStoreJobStore", "open_job_store"]


class JobStoreError(DlmsError):
    """The store cannot be opened or written (the message names it and what to change)."""


@runtime_checkable
class JobStore(Protocol):
    """What a worker needs of a store."""

    async def commit(self, outcomes: Sequence[tuple[Job, MeterResult]]) -> None:
        """Write what each result read for its job (and its failure, if any), all in one
        transaction, idempotently; return once it is committed."""
        ...

    async def stored(self, meter: str) -> list[tuple[str, dt.datetime]]:
        """(object ``class/OBIS/attribute``, capture time) of every value kept for
        ``meter``, sorted."""
        ...

    async def close(self) -> None:
        """Close the connections."""
        ...


async def open_job_store(url: str) -> ReadingStoreJobStore:
    """The readings store at ``url`` (``sqlite:///path`` or ``postgresql://...``) for a
    worker."""
    try:
        store = await open_store(url)
    except DlmsError as exc:
        raise JobStoreError(str(exc)) from None
    return ReadingStoreJobStore(store)


class ReadingStoreJobStore:
    """A :class:`JobStore` on a :class:`~asyncdlms.store.ReadingStore`: a job's outcome
    becomes one :class:`~asyncdlms.store.StoreBatch` (:func:`~asyncdlms.fleet.positions.
    result_batch`: values at the cycle's time, profile rows at theirs with the meter's new
    position, a failure with its step), the outcomes of a commit written in one transaction.
    :meth:`positions_hook` gives the poller the stored profile positions, so a profile read
    continues from what any worker stored before."""

    def __init__(self, store: ReadingStore) -> None:
        self.store = store

    async def commit(self, outcomes: Sequence[tuple[Job, MeterResult]]) -> None:
        """See :meth:`JobStore.commit`."""
        batches = [result_batch(result, job.scheduled) for job, result in outcomes]
        await self.store.write(StoreBatch.join(batches))

    def positions_hook(self, plan: ReadPlan) -> StorePositions:
        """The ``positions`` hook of a :class:`~asyncdlms.fleet.FleetPoller` polling
        ``plan``."""
        return StorePositions(self.store, plan)

    async def stored(self, meter: str) -> list[tuple[str, dt.datetime]]:
        """See :meth:`JobStore.stored`."""
        query = ReadingQuery(meter=meter)
        values = [(r.object, r.capture_time) for r in await self.store.readings(query)]
        values += [
            (f"7/{r.profile}/2", r.capture_time) for r in await self.store.profile_rows(query)
        ]
        return sorted(values)

    async def close(self) -> None:
        """See :meth:`JobStore.close`."""
        await self.store.close()
