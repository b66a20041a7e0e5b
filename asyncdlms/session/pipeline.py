"""The protection step of the APDU pipeline, where ciphering slots in.

Outgoing, a session encodes a PDU, then protects it (security suite 0 ciphering maps e.g. a
get-request 0xC0 to a glo-get-request 0xC8), then hands it to General Block Transfer (when
negotiated) and to the link. Incoming, the link's APDU is reassembled from GBT blocks,
unprotected, then decoded. Without security the step is the identity, :class:`NoProtection`.

Two members are optional (a protection without them counts as neither ciphering nor growing
APDUs); :func:`is_ciphered` and :func:`protection_overhead` read them:

- ``ciphered``: True when the association must use a ciphered application context
  (logical/short name referencing *with ciphering*), as
  :class:`~asyncdlms.security.ciphering.SecurityContext` says;
- ``overhead``: how many bytes protecting an APDU adds at most (tag, length, security
  header, authentication tag), so that block transfer leaves room for it in the max PDU.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

__all__ = [
    "ApduProtection",
    "CipheringProtection",
    "NoProtection",
    "is_ciphered",
    "protection_overhead",
]


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


@runtime_checkable
class CipheringProtection(ApduProtection, Protocol):
    """An :class:`ApduProtection` that also says whether it ciphers and by how much it grows
    an APDU (the optional members, see the module docstring)."""

    @property
    def ciphered(self) -> bool:
        """Whether the association needs a ciphered application context."""
        ...

    @property
    def overhead(self) -> int:
        """Bytes added to an APDU by :meth:`protect`, at most."""
        ...


def is_ciphered(protection: ApduProtection) -> bool:
    """The optional ``ciphered`` member of ``protection`` (False when absent)."""
    return bool(getattr(protection, "ciphered", False))


def protection_overhead(protection: ApduProtection) -> int:
    """The optional ``overhead`` member of ``protection`` (0 when absent)."""
    return int(getattr(protection, "overhead", 0))


class NoProtection:
    """No security: APDUs pass unchanged."""

    __slots__ = ()

    ciphered = False
    """Never a ciphered application context."""
    overhead = 0
    """Nothing added."""

    def protect(self, apdu: bytes) -> bytes:
        """Return ``apdu`` unchanged."""
        return apdu

    def unprotect(self, apdu: bytes) -> bytes:
        """Return ``apdu`` unchanged."""
        return apdu
