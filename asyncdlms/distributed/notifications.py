"""Received notifications (pushes) onto a stream, so that several listeners behind a load
balancer feed one place (``asyncdlms listen ... --redis URL`` uses this)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .keys import StreamKeys

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["publish_notification", "read_notifications"]


def _json(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return bytes(value).hex()
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    symbol = getattr(value, "symbol", None)
    number = getattr(value, "value", None)
    if symbol is not None and number is not None:  # a Quantity
        return {"value": float(number), "unit": symbol}
    return str(value)


async def publish_notification(
    redis: Redis,
    *,
    meter: str,
    apdu: bytes,
    received_at: dt.datetime | None = None,
    system_title: bytes | None = None,
    values: Mapping[str, Any] | None = None,
    listener: str = "",
    keys: StreamKeys | None = None,
    max_length: int = 1_000_000,
) -> str:
    """Add one received notification to the notifications stream; return its entry id.

    ``meter`` names the sender, ``apdu`` the notification's APDU bytes (as received, or
    as the listener deciphered it — the keys never go to Redis), ``system_title`` the
    sender's, ``values`` what it carried when the listener decoded it (JSON-ready or decoded
    values; byte strings as hex), ``listener`` which listener received it. The stream
    keeps about ``max_length`` entries."""
    keys = keys or StreamKeys()
    moment = received_at or dt.datetime.now(dt.UTC)
    fields = {
        "meter": meter,
        "received": moment.astimezone(dt.UTC).isoformat(),
        "apdu": apdu.hex(),
        "system_title": system_title.hex() if system_title else "",
        "values": json.dumps(_json(dict(values or {})), sort_keys=True),
        "listener": listener,
    }
    entry = await redis.xadd(
        keys.notifications,
        fields,  # type: ignore[arg-type]
        maxlen=max_length,
        approximate=True,
    )
    return str(entry)


async def read_notifications(
    redis: Redis, keys: StreamKeys | None = None, *, start: str = "-", count: int = 1000
) -> list[tuple[str, dict[str, Any]]]:
    """Entries of the notifications stream from ``start``: (id, fields with ``apdu`` and
    ``system_title`` as bytes and ``values`` decoded)."""
    keys = keys or StreamKeys()
    out = []
    entries: Any = await redis.xrange(keys.notifications, min=start, max="+", count=count)
    for entry_id, fields in entries:
        data: dict[str, Any] = dict(fields)
        data["apdu"] = bytes.fromhex(data["apdu"])
        data["system_title"] = bytes.fromhex(data["system_title"])
        data["values"] = json.loads(data["values"])
        out.append((str(entry_id), data))
    return out
