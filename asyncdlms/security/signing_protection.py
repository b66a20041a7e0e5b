"""General-signing of an association's APDUs: an
:class:`~asyncdlms.session.pipeline.ApduProtection` for either role (security suites 1 and 2).

Give it to a client as ``ClientSettings(protection=...)`` (or a factory making one per
association) and to our server as ``ServerSettings(protection_factory=...)``: every xDLMS APDU
sent — the InitiateRequest/Response in the AARQ/AARE included — goes in general-signing with
our ECDSA signature, and every APDU received must come in general-signing with a signature
that verifies with the peer's public key (else :class:`~asyncdlms.security.suites.SignatureError`,
:class:`~asyncdlms.security.general.UnknownSignerError` or, for a plain APDU,
:class:`~asyncdlms.errors.SecurityPolicyError`; replayed transaction-ids are refused).
``inner``: a ciphering protection (a :class:`~asyncdlms.security.ciphering.SecurityContext`)
applied first — ciphered, then signed — and removed last.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives.asymmetric import ec

from ..apdu.tags import ApduTag
from ..errors import DecipheringError
from .counters import InvocationCounterStore
from .general import PublicKeyLookup, plain_or_protected, sign_apdu, verify_signed_apdu
from .suites import SecuritySuiteId, suite_parameters

if TYPE_CHECKING:
    from ..session.pipeline import ApduProtection

__all__ = ["GeneralSigningProtection"]

_GENERAL_SIGNING = int(ApduTag.GENERAL_SIGNING)
_DEFAULT_PLAIN = (ApduTag.EXCEPTION_RESPONSE, ApduTag.CONFIRMED_SERVICE_ERROR)


class GeneralSigningProtection:
    """Sign what we send, verify what we receive (see the module documentation).

    ``system_title``: ours (the originator); ``signing_key``: our ECDSA private key;
    ``peer_signing_key``: the peer's public key, or a lookup system title → public key;
    ``peer_system_title``: the peer's (the recipient of what we sign; received APDUs must
    come from it when given); ``suite``: 1 or 2; ``counter_store``: the transaction-ids
    sent and received (the process's store by default); ``allow_plain``: tags that may
    arrive unsigned (a meter answers an exception-response when it cannot verify).
    """

    __slots__ = (
        "_allow_plain",
        "_counter_store",
        "_inner",
        "_lookup",
        "_peer_system_title",
        "_signing_key",
        "_suite",
        "_system_title",
    )

    def __init__(
        self,
        *,
        system_title: bytes,
        signing_key: ec.EllipticCurvePrivateKey,
        peer_signing_key: ec.EllipticCurvePublicKey | PublicKeyLookup,
        suite: SecuritySuiteId | int,
        peer_system_title: bytes | None = None,
        inner: ApduProtection | None = None,
        counter_store: InvocationCounterStore | None = None,
        allow_plain: Iterable[int] = _DEFAULT_PLAIN,
    ) -> None:
        titles = [system_title] + ([] if peer_system_title is None else [peer_system_title])
        if any(len(title) != 8 for title in titles):
            raise ValueError("a system title is 8 bytes long")
        self._suite = suite_parameters(suite).suite
        self._system_title = bytes(system_title)
        self._signing_key = signing_key
        if isinstance(peer_signing_key, ec.EllipticCurvePublicKey):
            fixed = peer_signing_key
            self._lookup: PublicKeyLookup = lambda _title: fixed
        else:
            self._lookup = peer_signing_key
        self._peer_system_title = None if peer_system_title is None else bytes(peer_system_title)
        if inner is not None and not (hasattr(inner, "protect") and hasattr(inner, "unprotect")):
            raise TypeError("inner must be an ApduProtection (protect/unprotect)")
        self._inner = inner
        self._counter_store = counter_store
        self._allow_plain = frozenset(int(tag) for tag in allow_plain)

    def __repr__(self) -> str:
        peer = None if self._peer_system_title is None else self._peer_system_title.hex().upper()
        return (
            f"GeneralSigningProtection(system_title={self._system_title.hex().upper()}, "
            f"peer_system_title={peer}, suite={int(self._suite)}, signing_key=****)"
        )

    @property
    def ciphered(self) -> bool:
        """Whether the inner protection ciphers (signing alone needs no ciphered context)."""
        return bool(getattr(self._inner, "ciphered", False))

    @property
    def overhead(self) -> int:
        """The most bytes :meth:`protect` adds: the general-signing header (tag, 8-byte
        transaction-id and system titles, empty date-time and other-information), the
        content length and the signature, plus the inner protection's."""
        signature = suite_parameters(self._suite).signature_length
        header = 1 + 3 * (1 + 8) + 2 + 3 + 1 + signature
        return header + int(getattr(self._inner, "overhead", 0))

    def protect(self, apdu: bytes) -> bytes:
        """``apdu`` (ciphered by the inner protection first) in general-signing."""
        if self._inner is not None:
            apdu = self._inner.protect(apdu)
        return sign_apdu(
            apdu,
            self._system_title,
            self._peer_system_title or b"",
            self._signing_key,
            self._suite,
            counter_store=self._counter_store,
        )

    def unprotect(self, apdu: bytes) -> bytes:
        """The APDU inside a received general-signing one whose signature verified."""
        data, protected = plain_or_protected(
            apdu,
            _GENERAL_SIGNING,
            self._allow_plain,
            "unsigned: this association signs every APDU (general-signing)",
        )
        if not protected:
            return data
        signed = verify_signed_apdu(
            data,
            self._lookup,
            self._suite,
            recipient_system_title=self._system_title,
            counter_store=self._counter_store,
        )
        peer = self._peer_system_title
        if peer is not None and signed.signer_system_title != peer:
            raise DecipheringError(
                f"an APDU signed by {signed.signer_system_title.hex().upper()}, not by the "
                f"peer {peer.hex().upper()}"
            )
        content = signed.content
        if self._inner is not None:
            return self._inner.unprotect(content)
        return content
