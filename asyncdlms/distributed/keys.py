"""The Redis keys of one distributed fleet (every key starts with one prefix)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEFAULT_PREFIX", "GROUP", "StreamKeys"]

DEFAULT_PREFIX = "asyncdlms"
"""The prefix of every key (``asyncdlms:jobs``, ``asyncdlms:results``...)."""

GROUP = "workers"
"""The consumer group of the workers on the jobs stream."""


@dataclass(frozen=True, slots=True)
class StreamKeys:
    """The keys under ``prefix``: the ``jobs`` stream (read by the consumer group
    :data:`GROUP`), the ``results`` stream (one record per job done), the ``notifications``
    stream (received pushes) and one lock key per shared bus."""

    prefix: str = DEFAULT_PREFIX

    @property
    def jobs(self) -> str:
        return f"{self.prefix}:jobs"

    @property
    def results(self) -> str:
        return f"{self.prefix}:results"

    @property
    def notifications(self) -> str:
        return f"{self.prefix}:notifications"

    @property
    def group(self) -> str:
        return GROUP

    def bus_lock(self, bus: str) -> str:
        """The lock of one shared bus (a serial line, an HDLC gateway)."""
        return f"{self.prefix}:bus:{bus}"
