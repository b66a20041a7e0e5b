"""Exceptions raised by asyncdlms.

Every error the stack raises on purpose derives from :class:`DlmsError`, so a caller can
catch one type. Messages name the problem and, where it helps, what to change; they never
contain keys, passwords or other secrets.
"""

from __future__ import annotations

__all__ = [
    "ActionError",
    "AddressMismatchError",
    "ApplicationError",
    "AssociationError",
    "AssociationRejectedError",
    "AuthenticationError",
    "AuthenticationRejectedError",
    "AuthenticationTagError",
    "BlockTransferError",
    "CertificateError",
    "ConnectionRejectedError",
    "DataAccessError",
    "DecipheringError",
    "DecodeError",
    "DlmsError",
    "EncodeError",
    "FrameRejectedError",
    "InvocationCounterExhaustedError",
    "InvocationCounterStoreError",
    "LinkError",
    "LinkTimeoutError",
    "NotProcessedError",
    "ReplayError",
    "RequestTimeoutError",
    "SecurityPolicyError",
    "SequenceError",
    "ServiceError",
    "ServiceNotNegotiatedError",
    "ShortNameError",
    "UnexpectedApduError",
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


# ---------------------------------------------------------------------------------------------
# Application layer: association and services. ``result``/``diagnostic`` hold the standard's
# enumerations (asyncdlms.apdu enums); messages use the standard's names (object-undefined...).


class ApplicationError(DlmsError):
    """A problem reported by, or found in, the application layer (ACSE or xDLMS)."""


class AssociationError(ApplicationError):
    """The association could not be established or was lost."""


class AssociationRejectedError(AssociationError):
    """The server answered the AARQ with an AARE that rejects it.

    ``result`` is the association-result (rejected-permanent / rejected-transient) and
    ``diagnostic`` the acse-service-user or acse-service-provider diagnostic, when present.
    """

    def __init__(self, message: str, result: object = None, diagnostic: object = None) -> None:
        super().__init__(message)
        self.result = result
        self.diagnostic = diagnostic


class AuthenticationError(AssociationError):
    """Authentication failed: wrong password or key, or the server's HLS pass 4 did not check."""


class AuthenticationRejectedError(AssociationRejectedError, AuthenticationError):
    """The server rejected the AARQ because authentication failed (wrong password, key or
    client address): catchable both as a rejection and as an authentication error."""


class ServiceError(ApplicationError):
    """The server refused a service: confirmed-service-error or exception-response.

    ``error`` holds the decoded PDU's reason (e.g. the service-error enum).
    """

    def __init__(self, message: str, error: object = None) -> None:
        super().__init__(message)
        self.error = error


class DataAccessError(ApplicationError):
    """A GET or SET answered with a data-access-result other than success.

    ``result`` is the :class:`asyncdlms.apdu.DataAccessResult` (e.g. object-undefined).
    """

    def __init__(self, message: str, result: object = None) -> None:
        super().__init__(message)
        self.result = result


class ActionError(ApplicationError):
    """An ACTION answered with an action-result other than success (``result``)."""

    def __init__(self, message: str, result: object = None) -> None:
        super().__init__(message)
        self.result = result


class ShortNameError(DataAccessError):
    """A short-name (SN) access failed: the meter answered a data-access-result other than
    success for ``short_name`` (``result``), or an object addressed by class and logical name
    has no short name in the association's object list (``short_name`` None, ``result``
    object-undefined). The message names the short name, the object and the result."""

    def __init__(self, message: str, result: object = None, short_name: int | None = None) -> None:
        super().__init__(message, result)
        self.short_name = short_name


class RequestTimeoutError(DlmsError, TimeoutError):
    """A request or the association got no answer in time (the asyncio client's timeouts).

    It is also a :class:`TimeoutError`, so ``except TimeoutError`` catches it.
    """


class BlockTransferError(ApplicationError):
    """Block transfer (service-specific or general) went wrong: wrong block number, aborted..."""


class UnexpectedApduError(ApplicationError):
    """An APDU that does not fit the current state of the association."""


class ServiceNotNegotiatedError(ApplicationError):
    """A service the association did not negotiate: the meter did not grant its conformance
    bit in the AARE (``conformance``, e.g. ``Conformance.ACCESS``)."""

    def __init__(self, message: str, conformance: object = None) -> None:
        super().__init__(message)
        self.conformance = conformance


class NotProcessedError(ApplicationError):
    """An operation of an ACCESS request with break-on-error that the meter did not carry
    out: an earlier operation of the same request failed."""


# ---------------------------------------------------------------------------------------------
# Security (ciphering and invocation counters). Messages never contain key bytes.


class DecipheringError(DecodeError):
    """A ciphered APDU that cannot be turned back into a plain one: truncated security
    header, unknown or unexpected tag, missing key, unsupported compression..."""


class CertificateError(DlmsError, ValueError):
    """A certificate or public key refused by the key store: not for the system title it
    claims (subject CN), on another curve than the security suite's, without the key usage
    its role needs (digitalSignature / keyAgreement), outside its validity period, not
    signed by the CA given, or unreadable. The message says which."""


class SecurityPolicyError(DecipheringError):
    """A received APDU protected less than the security policy requires (a plain APDU, or a
    security control byte without the authentication or encryption bit the policy asks
    for, or for another security suite)."""


class AuthenticationTagError(DecipheringError, AuthenticationError):
    """The GMAC authentication tag does not match: wrong authentication key, block cipher
    key or system title, or the APDU was changed on the way. No plaintext is returned."""


class ReplayError(DecipheringError):
    """A received invocation counter that is not greater than the last one accepted from
    the same system title and key: a replayed (or reordered) APDU.

    ``received`` is the counter in the APDU, ``last`` the last accepted one.
    """

    def __init__(self, message: str, received: int, last: int) -> None:
        super().__init__(message)
        self.received = received
        self.last = last


class InvocationCounterExhaustedError(EncodeError):
    """The invocation counter of a key reached 2^32 - 1: no fresh nonce is left, the key
    must be changed (security setup key transfer) before anything else is protected."""


class InvocationCounterStoreError(DlmsError):
    """A persisted invocation counter store that cannot be read or written. Ciphering stops
    rather than risk reusing a nonce."""
