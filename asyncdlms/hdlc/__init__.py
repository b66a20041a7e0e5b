"""IEC 62056-46 HDLC link layer: frame codec, stream splitter and the sans-IO link.

- :class:`HdlcAddress`: 1/2/4-byte client and server addresses,
- :class:`Frame`, :class:`FrameType`, :func:`decode_frame`: the type-3 frame codec,
- :class:`HdlcParameters`: the SNRM/UA parameter negotiation field,
- :class:`FrameSplitter`: frames from a byte stream in any slicing, resynchronising on noise,
- :class:`HdlcConnection` with :class:`HdlcSettings`: the link itself, client (primary
  station) or server (secondary station) role, implementing :class:`asyncdlms.link.Link`.
  Its states, inputs and actions (:class:`LinkState`, :class:`LinkInput`, :class:`Action`)
  form one table, :data:`TRANSITIONS`.
"""

from __future__ import annotations

from ._state import TRANSITIONS, Action, LinkInput, LinkState, Role, Transition
from .addresses import (
    ALL_STATION,
    HdlcAddress,
    decode_address,
    physical_address_from_serial_number,
    server_address_from_serial_number,
)
from .connection import HdlcConnection, HdlcSettings
from .crc import crc16_x25
from .frames import (
    LLC_REQUEST,
    LLC_RESPONSE,
    MAX_FRAME_LENGTH,
    Frame,
    FrameType,
    add_llc_header,
    decode_frame,
    strip_llc_header,
)
from .parameters import HdlcParameters
from .splitter import FrameSplitter

__all__ = [
    "ALL_STATION",
    "LLC_REQUEST",
    "LLC_RESPONSE",
    "MAX_FRAME_LENGTH",
    "TRANSITIONS",
    "Action",
    "Frame",
    "FrameSplitter",
    "FrameType",
    "HdlcAddress",
    "HdlcConnection",
    "HdlcParameters",
    "HdlcSettings",
    "LinkInput",
    "LinkState",
    "Role",
    "Transition",
    "add_llc_header",
    "crc16_x25",
    "decode_address",
    "decode_frame",
    "physical_address_from_serial_number",
    "server_address_from_serial_number",
    "strip_llc_header",
]
