"""``asyncdlms listen URL``: receive what meters push and print one line (or JSON object) per
notification.

    asyncdlms listen tcp://0.0.0.0:4059 --keys keys.toml --json-lines
    asyncdlms listen "serial:///dev/ttyUSB0?baud=2400" --block-cipher-key HEX --auth-key HEX
    asyncdlms listen "file:///tmp/han.bin?framing=hdlc"
    cat capture.bin | asyncdlms listen - --count 1

Keys: one key set for every sender (``--block-cipher-key`` / ``--auth-key``, also from
ASYNCDLMS_BLOCK_CIPHER_KEY / ASYNCDLMS_AUTH_KEY) or a TOML file of keys by system title
(``--keys``). Received invocation counters go to the counter store (``--counter-store``), so
a replayed push is dropped across runs too; files and standard input are decoded with
counters of their own (decoding a capture twice is no replay). Rejected pushes are reported
on standard error and never stop the listener. With ``--json-lines`` each notification is
one JSON object: ``system_title``, ``invocation_counter``, ``datetime`` (ISO 8601),
``source``, ``readings`` (OBIS → value, scaled, with ``unit``) when a layout applies, else
the decoded ``body``. ``--store URL`` keeps every notification's readings (see
``asyncdlms readings``); ``--redis URL`` publishes each one to the fleet's notifications
stream (``<prefix>:notifications``; several listeners behind a load balancer feed one
place); ``--metrics-port`` serves Prometheus metrics (pushes received and rejected, store
write latency). Security suites 1 and 2: signed pushes (general-signing) are accepted only
when they verify with the sender's ``signing_public_key`` in ``--keys`` (JSON: ``signed_by``;
``--require-signature`` refuses unsigned ones); general-ciphering pushes with agreed keys
need our ``--key-agreement-key PEM``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import sys
import time
from typing import Any

from ..errors import DlmsError
from ..listen import (
    KeyStore,
    Listener,
    MemoryKeyStore,
    Notification,
    PushRejected,
    TomlKeyStore,
    listen,
)
from ..listen.url import parse_listen_url
from ..security.counters import MemoryInvocationCounterStore
from ..store import ReadingStore
from ..store.pushes import push_batch
from .counters import add_counter_store_option, counter_store
from .general_protection import load_key_agreement_key
from .meter import to_json
from .store_options import add_metrics_option, add_store_option, metrics_for, opened_store

__all__ = ["add_listen_command", "notification_to_json"]


def notification_to_json(push: Notification) -> dict[str, Any]:
    """One notification as JSON-ready data (what ``--json-lines`` prints)."""
    date_time = push.date_time
    record: dict[str, Any] = {
        "system_title": None if push.system_title is None else push.system_title.hex().upper(),
        "invocation_counter": push.invocation_counter,
        "datetime": None if date_time is None else to_json(date_time),
        "source": str(push.source),
    }
    if push.signature is not None:  # a verified general-signing push (suites 1 and 2)
        record["signed_by"] = push.signature.signer_system_title.hex().upper()
    readings = push.readings()
    if readings:
        record["readings"] = {
            str(obis): {"value": to_json(reading.scaled), "unit": _unit(reading.unit)}
            if reading.unit is not None
            else to_json(reading.value)
            for obis, reading in readings.items()
        }
    else:
        record["body"] = to_json(push.body)
    return record


def _unit(unit: object) -> str:
    return str(getattr(unit, "symbol", None) or getattr(unit, "name", None) or unit)


def _line(push: Notification) -> str:
    record = notification_to_json(push)
    who = record["system_title"] or push.link_address
    when = record["datetime"] or "-"
    counter = "" if record["invocation_counter"] is None else f" IC {record['invocation_counter']}"
    if "readings" in record:
        values = "  ".join(
            f"{obis}={value['value']} {value['unit']}"
            if isinstance(value, dict)
            else f"{obis}={value}"
            for obis, value in record["readings"].items()
        )
    else:
        values = json.dumps(record["body"])
    return f"{when} {who}{counter}: {values}"


def _keys(args: argparse.Namespace) -> KeyStore | None:
    if args.keys is not None:
        return TomlKeyStore(args.keys)
    if args.block_cipher_key is None and args.auth_key is None and args.broadcast_key is None:
        return None
    return MemoryKeyStore.for_everyone(
        _hex_key(args.block_cipher_key, "--block-cipher-key"),
        _hex_key(args.auth_key, "--auth-key"),
        broadcast_key=_hex_key(args.broadcast_key, "--broadcast-key"),
    )


def _hex_key(text: str | None, option: str) -> bytes | None:
    if text is None:
        return None
    try:
        key = bytes.fromhex(text)
    except ValueError:
        raise ValueError(f"{option} must be 32 hex digits") from None
    if len(key) != 16:
        raise ValueError(f"{option} must be 16 bytes (32 hex digits), not {len(key)}")
    return key


async def _listen(args: argparse.Namespace) -> int:
    target = parse_listen_url(args.url)
    options: dict[str, Any] = {
        "keys": _keys(args),
        "require_ciphering": args.require_ciphering,
        "unsafe_skip_tag_check": args.unsafe_skip_tag_check,
    }
    if args.system_title is not None:
        options["system_titles"] = args.system_title
    if args.key_agreement_key is not None:  # suites 1 and 2: general-ciphering, agreed keys
        options["key_agreement_key"] = load_key_agreement_key(args.key_agreement_key)
    if args.require_signature:
        options["require_signature"] = True
    if target.scheme == "file":  # offline decoding: a capture decoded twice is no replay
        options["counter_store"] = MemoryInvocationCounterStore()
    received = 0
    metrics = metrics_for(args)
    redis = _redis(args)
    try:
        async with opened_store(args.store) as store, listen(target, **options) as listener:
            received = await _serve(args, listener, store, redis, metrics)
    finally:
        if redis is not None:
            await redis.aclose()
    if target.scheme == "file" and not received:
        print("asyncdlms listen: no notification in the input", file=sys.stderr)
        return 1
    return 0


def _redis(args: argparse.Namespace) -> Any:
    if args.redis is None:
        return None
    from ..distributed import open_redis

    return open_redis(args.redis)


async def _serve(
    args: argparse.Namespace, listener: Listener, store: Any, redis: Any, metrics: Any
) -> int:
    """Print (and keep, publish, count) every notification; the number printed."""
    received = 0
    if listener.target.scheme != "file":
        print(f"listening on {listener.url}", file=sys.stderr, flush=True)
    loop = asyncio.get_running_loop()
    deadline = None if args.duration is None else loop.time() + args.duration
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout_at(deadline):
            async for event in listener.events():
                if not isinstance(event, Notification):
                    print(f"asyncdlms listen: {event}", file=sys.stderr, flush=True)
                    if metrics is not None and isinstance(event, PushRejected):
                        metrics.push_rejected(type(event.cause).__name__)
                    continue
                received += 1
                if metrics is not None:
                    metrics.push_received()
                if store is not None:
                    await _keep(store, event, metrics)
                if redis is not None:
                    await _publish(redis, args.prefix, event, listener.url)
                if args.json_lines:
                    print(json.dumps(notification_to_json(event)), flush=True)
                else:
                    print(_line(event), flush=True)
                if args.count is not None and received >= args.count:
                    break
    return received


async def _publish(redis: Any, prefix: str, push: Notification, listener: str) -> None:
    """Put the notification on the fleet's notifications stream."""
    from ..distributed import StreamKeys, publish_notification

    record = notification_to_json(push)
    await publish_notification(
        redis,
        meter=record["system_title"] or record["source"],
        apdu=push.apdu.encode(),
        system_title=push.system_title,
        values=record.get("readings") or {"body": record.get("body")},
        listener=listener,
        keys=StreamKeys(prefix),
    )


async def _keep(store: ReadingStore, push: Notification, metrics: Any) -> None:
    """Write the push's readings (the sender's system title, else where it came from, names
    the meter; the push's date-time, else now, is the capture time)."""
    readings = push.readings()
    if not readings:
        return  # no layout gives OBIS codes: printed, not stored
    meter = push.system_title.hex().upper() if push.system_title else str(push.source)
    captured = dt.datetime.now(dt.UTC)
    if push.date_time is not None:
        with contextlib.suppress(DlmsError, ValueError):
            captured = push.date_time.to_datetime()
    started = time.perf_counter()
    batch = push_batch(meter, readings, captured)
    await store.write(batch)
    if metrics is not None:
        metrics.store_written(time.perf_counter() - started, len(batch.readings))


def _command_listen(args: argparse.Namespace) -> int:
    try:
        with counter_store(args):
            return asyncio.run(_listen(args))
    except KeyboardInterrupt:
        return 130
    except (DlmsError, OSError, ValueError) as exc:
        print(f"asyncdlms listen: {exc}", file=sys.stderr)
        return 2


def add_listen_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``listen`` to the command line."""
    env = os.environ.get
    parser = commands.add_parser(
        "listen",
        help="receive what meters push (TCP, UDP, HAN serial, M-Bus, files)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add = parser.add_argument
    add("url", help="tcp://HOST:PORT, hdlc+tcp://, udp://, serial:///DEV?baud=2400, "
        "mbus+serial:///DEV, file:///PATH?framing=hdlc, - (standard input)")  # fmt: skip
    add("--block-cipher-key", metavar="HEX", default=env("ASYNCDLMS_BLOCK_CIPHER_KEY"),
        help="global unicast encryption key of every sender, 32 hex digits")  # fmt: skip
    add("--auth-key", metavar="HEX", default=env("ASYNCDLMS_AUTH_KEY"),
        help="authentication key of every sender, 32 hex digits")  # fmt: skip
    add("--broadcast-key", metavar="HEX", help="global broadcast encryption key, 32 hex digits")
    add("--keys", metavar="FILE", help="a TOML file of keys by system title (instead)")
    add("--system-title", metavar="HEX",
        help="the sender's system title, for glo-ciphered pushes that do not carry it")  # fmt: skip
    add("--require-ciphering", action="store_true", help="reject plain pushes")
    add("--require-signature", action="store_true",
        help="reject pushes that are not signed (general-signing, suites 1 and 2)")  # fmt: skip
    add("--key-agreement-key", metavar="PEM",
        help="our key agreement private key (PEM), for general-ciphering pushes with agreed "
             "keys (suites 1 and 2)")  # fmt: skip
    add("--unsafe-skip-tag-check", action="store_true",
        help="decipher authenticated pushes WITHOUT checking their tag when no authentication "
             "key is known (anyone with the encryption key can forge them)")  # fmt: skip
    add("--json-lines", action="store_true", help="one JSON object per notification")
    add("--count", type=int, metavar="N", help="stop after N notifications")
    add("--duration", type=float, metavar="S", help="stop after S seconds")
    add_counter_store_option(parser)
    add_store_option(parser)
    add_metrics_option(parser)
    add("--redis", metavar="URL",
        help="also publish each notification to the fleet's Redis (redis://HOST:PORT/DB; "
             "needs asyncdlms[redis])")  # fmt: skip
    add("--prefix", default="asyncdlms",
        help="prefix of the Redis keys (default asyncdlms: asyncdlms:notifications)")  # fmt: skip
    parser.set_defaults(handler=_command_listen)
