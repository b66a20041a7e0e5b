"""Decode pushes held in a file or given on the command line (``asyncdlms decode``): one call,
the framing detected from the first bytes when not given.

Offline decoding checks tags like a listener but keeps its invocation counters to itself (a
fresh in-memory store, unless one is given): decoding a capture twice, or an old capture, is
not a replay of anything the process received.
"""

from __future__ import annotations

import math

from cryptography.hazmat.primitives.asymmetric import ec

from ..security.counters import InvocationCounterStore, MemoryInvocationCounterStore
from ..wrapper.frames import HEADER_LENGTH, WRAPPER_VERSION
from .keys import KeyStore
from .notification import PushEvent
from .receiver import Framing, PushReceiver

__all__ = ["decode_pushes", "detect_framing"]


def detect_framing(data: bytes) -> Framing:
    """The framing ``data`` starts with: ``"hdlc"`` (a 0x7E flag and a type-3 format field),
    ``"mbus"`` (``68 L L 68``), ``"wrapper"`` (version 0x0001 and a length that fits), else
    ``"apdu"``."""
    if len(data) >= 2 and data[0] == 0x7E and data[1] & 0xF0 == 0xA0:
        return "hdlc"
    if len(data) >= 4 and data[0] == 0x68 and data[3] == 0x68 and data[1] == data[2]:
        return "mbus"
    if (
        len(data) >= HEADER_LENGTH
        and int.from_bytes(data[:2], "big") == WRAPPER_VERSION
        and int.from_bytes(data[6:8], "big") <= len(data) - HEADER_LENGTH
    ):
        return "wrapper"
    return "apdu"


def decode_pushes(
    data: bytes,
    framing: Framing | None = None,
    *,
    keys: KeyStore | None = None,
    counter_store: InvocationCounterStore | None = None,
    system_title: bytes | str | None = None,
    unsafe_skip_tag_check: bool = False,
    key_agreement_key: ec.EllipticCurvePrivateKey | None = None,
) -> list[PushEvent]:
    """Every event ``data`` gives, the incomplete APDUs left at its end included (reported as
    :class:`~asyncdlms.listen.PushRejected` with a reassembly timeout). ``system_title``: the
    sender's, for glo-/ded-ciphered pushes that do not carry it. ``key_agreement_key``: ours,
    for general-ciphering pushes with agreed keys (suites 1 and 2)."""
    receiver = PushReceiver(
        framing or detect_framing(data),
        keys=keys,
        counter_store=counter_store or MemoryInvocationCounterStore(),
        system_titles=None if system_title is None else {None: system_title},
        unsafe_skip_tag_check=unsafe_skip_tag_check,
        key_agreement_key=key_agreement_key,
    )
    receiver.receive_data(data, now=0.0, source=None)
    receiver.expire(math.inf)
    return receiver.events()
