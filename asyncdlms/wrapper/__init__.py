"""IEC 62056-47 wrapper (DLMS over TCP and UDP): frame codec, stream splitter and link.

- :class:`WrapperFrame` / :class:`WrapperHeader`: the 8-byte header and its APDU,
- :class:`WrapperSplitter`: frames from a TCP stream in any slicing,
- :func:`decode_datagram`: one UDP datagram, one frame; :func:`encode_frame`: one frame's
  bytes, the header packed in one call,
- :class:`WrapperConnection`: the sans-IO :class:`asyncdlms.link.Link` over them.
"""

from __future__ import annotations

from .connection import WrapperConnection, WrapperState
from .frames import (
    HEADER_LENGTH,
    MAX_APDU_LENGTH,
    WRAPPER_VERSION,
    WrapperFrame,
    WrapperHeader,
    WrapperSplitter,
    WrapperStreamError,
    decode_datagram,
    encode_frame,
)

__all__ = [
    "HEADER_LENGTH",
    "MAX_APDU_LENGTH",
    "WRAPPER_VERSION",
    "WrapperConnection",
    "WrapperFrame",
    "WrapperHeader",
    "WrapperSplitter",
    "WrapperState",
    "WrapperStreamError",
    "decode_datagram",
    "encode_frame",
]
