"""Receive what meters send: the sans-IO push receiver and its parts.

* :class:`PushReceiver` (:mod:`.receiver`) — bytes in (wrapper, HDLC, M-Bus or bare APDUs),
  events out, time passed in, no IO; the core under every asyncio listener;
* :class:`Notification`, :class:`PushRejected`, :class:`PushIgnored` (:mod:`.notification`)
  — its events;
* :class:`KeyStore`, :class:`KeySet`, :class:`MemoryKeyStore`, :class:`TomlKeyStore`
  (:mod:`.keys`) — keys by sender system title;
* :func:`readings`, :class:`Reading`, :class:`PositionalLayout`, :data:`POSITIONAL_LAYOUTS`
  (:mod:`.readings`) — OBIS code → value for the layouts met in the field;
* :class:`MBusFrame`, :class:`MBusSplitter` (:mod:`.mbus`) — M-Bus long frames;
* :func:`decode_pushes`, :func:`detect_framing` (:mod:`.offline`) — a capture in one call;
* :func:`listen`, :class:`Listener`, :class:`MeterConnection` (:mod:`.listener`) — the asyncio
  listener on a URL (:mod:`.url`): TCP, UDP, HAN serial and M-Bus lines, files, stdin, and
  meters that call home.

See docs/receiving-pushes.md.
"""

from __future__ import annotations

from .errors import (
    KeyStoreError,
    MBusFrameError,
    NotANotificationError,
    ReassemblyTimeoutError,
    SignatureError,
    UnknownSenderError,
    UnknownSignerError,
    UnsupportedSecuritySuiteError,
)
from .keys import (
    KeySet,
    KeyStore,
    MemoryKeyStore,
    TomlKeyStore,
    parse_system_title,
    public_key_from,
)
from .listener import Listener, ListenerStatistics, MeterConnection, listen
from .mbus import MBusFrame, MBusSplitter, mbus_segments
from .notification import (
    AppliedSecurity,
    LinkAddress,
    Notification,
    NotificationApdu,
    PushEvent,
    PushIgnored,
    PushRejected,
    PushSignature,
)
from .offline import decode_pushes, detect_framing
from .readings import (
    LIST_SCALERS,
    POSITIONAL_LAYOUTS,
    PositionalColumn,
    PositionalLayout,
    Reading,
    push_object_list_readings,
    readings,
    tagged_readings,
)
from .receiver import Framing, PushReceiver
from .url import ListenTarget, parse_listen_url

__all__ = [
    "LIST_SCALERS",
    "POSITIONAL_LAYOUTS",
    "AppliedSecurity",
    "Framing",
    "KeySet",
    "KeyStore",
    "KeyStoreError",
    "LinkAddress",
    "ListenTarget",
    "Listener",
    "ListenerStatistics",
    "MBusFrame",
    "MBusFrameError",
    "MBusSplitter",
    "MemoryKeyStore",
    "MeterConnection",
    "NotANotificationError",
    "Notification",
    "NotificationApdu",
    "PositionalColumn",
    "PositionalLayout",
    "PushEvent",
    "PushIgnored",
    "PushReceiver",
    "PushRejected",
    "PushSignature",
    "Reading",
    "ReassemblyTimeoutError",
    "SignatureError",
    "TomlKeyStore",
    "UnknownSenderError",
    "UnknownSignerError",
    "UnsupportedSecuritySuiteError",
    "decode_pushes",
    "detect_framing",
    "listen",
    "mbus_segments",
    "parse_listen_url",
    "parse_system_title",
    "public_key_from",
    "push_object_list_readings",
    "readings",
    "tagged_readings",
]
