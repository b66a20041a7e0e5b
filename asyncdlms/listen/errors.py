"""Errors of the push receiver, each a subclass of the asyncdlms error a caller already
catches (:class:`~asyncdlms.errors.DecipheringError`, :class:`~asyncdlms.errors.DecodeError`,
:class:`~asyncdlms.errors.BlockTransferError`). None of them ever carries key material.
:class:`UnknownSignerError` and :class:`SignatureError` (signed pushes, suites 1 and 2) are
re-exported from :mod:`asyncdlms.security`."""

from __future__ import annotations

from ..errors import (
    BlockTransferError,
    DecipheringError,
    DecodeError,
    DlmsError,
    SecurityPolicyError,
)
from ..security.general import UnknownSignerError
from ..security.suites import SignatureError

__all__ = [
    "KeyStoreError",
    "MBusFrameError",
    "NotANotificationError",
    "ReassemblyTimeoutError",
    "SignatureError",
    "UnknownSenderError",
    "UnknownSignerError",
    "UnsupportedSecuritySuiteError",
]


class KeyStoreError(DlmsError, ValueError):
    """A key store that cannot be read: a missing or malformed file, a bad entry. The
    message names the file and the entry (the system title), never a key."""


class UnknownSenderError(DecipheringError):
    """A ciphered push from a sender the key store has no keys for (or whose system title is
    not known at all: a glo-/ded-ciphered push carries none; give the receiver
    ``system_titles`` for such senders)."""


class UnsupportedSecuritySuiteError(SecurityPolicyError):
    """A security control byte naming a security suite this receiver cannot decipher: one
    above 2, or a suite whose key length is not the one of the sender's keys (suite 2,
    AES-GCM-256, needs 32-byte keys; suites 0 and 1 16-byte keys)."""


class NotANotificationError(DecodeError):
    """Bytes that are not a push: an APDU of another service (an AARE, a GET response),
    or a deciphered payload that is no xDLMS APDU at all."""


class MBusFrameError(DecodeError):
    """M-Bus (EN 13757-2) long frames that do not form a DLMS/COSEM transport-layer APDU:
    a segment out of sequence, a transport header that is too short."""


class ReassemblyTimeoutError(BlockTransferError):
    """HDLC segments, M-Bus segments or general-block-transfer blocks whose APDU did not
    complete within the receiver's ``reassembly_timeout``: what arrived is dropped."""
