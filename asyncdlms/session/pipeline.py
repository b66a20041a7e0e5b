"""The protection step of the APDU pipeline, where ciphering slots in.

Outgoing, a session encodes a PDU, then protects it (security suite 0 ciphering maps e.g. a
get-request 0xC0 to a glo-get-request 0xC8), then hands it to General Block Transfer (when
negotiated) and to the link. Incoming, the link's APDU is reassembled from GBT blocks,
unprotected, then decoded. Without security the step is the identity, :class:`NoProtection`.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

__all__ = ["ApduProtection", "NoProtection"]


@runtime_checkable
class ApduProtection(Protocol):
    """Turns plain APDUs into protected ones and back, for one association."""

    def protect(self, apdu: bytes) -> bytes:
        """The APDU to send in place of ``apdu`` (plain xDLMS, incl. an InitiateRequest)."""
        ...

    def unprotect(self, apdu: bytes) -> bytes:
        """The plain APDU inside a received one; raises a DlmsError for a bad one (wrong tag,
        replayed invocation counter, authentication tag mismatch...). A plain APDU that the
        security policy does not allow is refused here too."""
        ...


class NoProtection:
    """No security: APDUs pass unchanged."""

    __slots__ = ()

    def protect(self, apdu: bytes) -> bytes:
        """Return ``apdu`` unchanged."""
        return apdu

    def unprotect(self, apdu: bytes) -> bytes:
        """Return ``apdu`` unchanged."""
        return apdu
