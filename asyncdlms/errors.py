"""Exceptions raised by asyncdlms.

Every error the stack raises on purpose derives from :class:`DlmsError`, so a caller can
catch one type. Messages name the problem and, where it helps, what to change; they never
contain keys, passwords or other secrets.
"""

from __future__ import annotations

__all__ = [
    "AddressMismatchError",
    "ConnectionRejectedError",
    "DecodeError",
    "DlmsError",
    "EncodeError",
    "FrameRejectedError",
    "LinkError",
    "LinkTimeoutError",
    "SequenceError",
    "WrapperError",
]


class DlmsError(Exception):
    """Base class of every error raised by asyncdlms."""


class DecodeError(DlmsError, ValueError):
    """Bytes that cannot be decoded: truncated, malformed, over a bound, or trailing garbage.

    ``offset`` is the position in the input where the problem was found (``None`` when the
    problem is not tied to one position).
    """

    def __init__(self, message: str, offset: int | None = None) -> None:
        self.reason = message
        self.offset = offset
        super().__init__(message if offset is None else f"{message} (at offset {offset})")


class EncodeError(DlmsError, ValueError):
    """A value that cannot be encoded (out of range for its type, wrong Python type, ...)."""


class LinkError(DlmsError):
    """A problem of the link layer (HDLC or wrapper) the user can act on."""


class AddressMismatchError(LinkError):
    """A frame came from or went to another address than the one configured."""


class ConnectionRejectedError(LinkError):
    """The peer refused to establish the link (HDLC DM in answer to SNRM)."""


class SequenceError(LinkError):
    """Frames arrived out of sequence (N(S)/N(R)) and could not be recovered."""


class FrameRejectedError(LinkError):
    """The peer reported a frame reject (HDLC FRMR)."""


class LinkTimeoutError(LinkError):
    """The peer did not answer within the response timeout after all retransmissions."""


class WrapperError(LinkError):
    """A wrapper (IEC 62056-47) header with a wrong version, wPort or length."""
