"""Fleet polling beyond one machine, on Redis Streams consumer groups
(``pip install 'asyncdlms[redis]'``).

- :func:`schedule_cycles` / :func:`enqueue_cycle`: one :class:`Job` per meter per cycle on
  the jobs stream (``asyncdlms:jobs``; :class:`StreamKeys` for another prefix) — meter,
  connect options and plan, never a secret (``*_env`` options travel as variable names);
- :class:`Worker`: reads jobs through the consumer group, polls with the fleet's
  :class:`~asyncdlms.fleet.FleetPoller`, commits to a :class:`JobStore`, publishes a result
  record (``asyncdlms:results``) and acknowledges only then; claims the jobs of dead
  workers; holds a Redis lock per shared bus; rides out Redis restarts with back-off;
- :func:`queue_status`: queue length, pending per consumer, oldest pending job, results
  per second, dead consumers;
- :func:`publish_notification`: received pushes onto ``asyncdlms:notifications``.
"""

from __future__ import annotations

from .connection import RedisBackoff, RedisMissingError, ensure_group, open_redis
from .counters import RedisInvocationCounterStore
from .jobs import SECRET_OPTIONS, Job, JobError, SecretInJobError, jobs_from_fleet, load_job_fleet
from .keys import DEFAULT_PREFIX, GROUP, StreamKeys
from .notifications import publish_notification, read_notifications
from .schedule import enqueue_cycle, schedule_cycles
from .sink import JobStore, JobStoreError, ReadingStoreJobStore, open_job_store
from .status import ConsumerStatus, FleetQueueStatus, queue_status
from .worker import Worker, WorkerStatistics, default_worker_name

__all__ = [
    "DEFAULT_PREFIX",
    "GROUP",
    "SECRET_OPTIONS",
    "ConsumerStatus",
    "FleetQueueStatus",
    "Job",
    "JobError",
    "JobStore",
    "JobStoreError",
    "ReadingStoreJobStore",
    "RedisBackoff",
    "RedisInvocationCounterStore",
    "RedisMissingError",
    "SecretInJobError",
    "StreamKeys",
    "Worker",
    "WorkerStatistics",
    "default_worker_name",
    "enqueue_cycle",
    "ensure_group",
    "jobs_from_fleet",
    "load_job_fleet",
    "open_job_store",
    "open_redis",
    "publish_notification",
    "queue_status",
    "read_notifications",
    "schedule_cycles",
]
