"""The simulator's Security setup object (interface class 64, version 1) and the per-meter
keys and certificates of security suites 1 and 2 (:class:`SimulatedSecurity`).

Each meter gets its own signing and key agreement key pairs, derived from a seed and its
index (so a restarted simulator has the same keys), and certificates for them in the DLMS
conventions (subject CN = the meter's system title in hex), issued by a CA of the simulator
(:attr:`SimulatedSecurity.ca_certificate`). A client trusts that CA, or takes a meter's
certificate with :meth:`Simulator.meter_certificate <asyncdlms.server.Simulator.meter_certificate>`
or through the Security setup object (``export_certificate``).

The object, ``0.0.43.0.0.255``:

==  ==================================  ===================================================
1   logical_name                        0.0.43.0.0.255
2   security_policy                     version 1 bits of the association asking (read);
                                        ``security_activate`` strengthens it (below)
3   security_suite                      0, 1 or 2
4   client_system_title                 the calling-AP-title of the association asking
5   server_system_title                 the meter's
6   certificates                        array of certificate_info
==  ==================================  ===================================================

Methods (management clients: every client SAP but 16 and 17): 1 security_activate, 2
key_transfer (keys wrapped with the master key, RFC 3394; used from the next association),
3 key_agreement (ephemeral unified model C(2e, 0s), :mod:`asyncdlms.security.setup_key_agreement`;
the keys agreed are used from the next association), 4 generate_key_pair, 5
generate_certificate_request (PKCS#10, DER), 6 import_certificate (DER: a client's
certificate, a CA's, or the meter's own new one), 7 export_certificate and 8
remove_certificate (by entity + type + system title, or by serial number + issuer).

``security_activate`` strengthens the security policy (Blue Book, IC 64 version 1: a new
value must keep every bit of the one in force, else the action fails with other-reason) and
the new policy is in force from the next association on, for every association of the
meter with ciphering keys of this suite: authentication bits 0x24 → authenticated APDUs,
encryption bits 0x48 → encrypted ones, both → authenticated encryption. The simulator
ciphers requests and responses alike, so a value with the request and response bits of
authentication or encryption not paired (e.g. 0x04 alone) is refused (other-reason); the
digital signature bits (0x10, 0x80) are recorded and read back but not enforced.
"""

from __future__ import annotations

import datetime
import hashlib
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap

from ..apdu.acse import MechanismName
from ..apdu.enums import ActionResult
from ..cosem.security_setup import (
    CertificateEntity,
    CertificateType,
    KeyId,
    SecurityPolicyFlags,
)
from ..errors import CertificateError
from ..obis import Obis
from ..security.certificates import (
    KeyStore,
    KeyUsage,
    certificate_system_title,
    load_certificate,
    make_certificate,
    make_certificate_request,
    validate_certificate,
)
from ..security.ciphering import SecurityPolicy
from ..security.hls import Secret
from ..security.setup_key_agreement import derive_key, make_offer, read_offer
from ..security.suites import SecuritySuiteId, SignatureError, suite_parameters
from ..session.object_access import AssociationContext, AttributeAccess
from ..session.server import AssociationPolicy, ServerSecurity, ServerSettings
from ..types.values import Array, Enum, OctetString, Structure
from .model import AttributeDef, MethodDef, ObjectDef

__all__ = [
    "SECURITY_SETUP",
    "SimulatedSecurity",
    "certificate_info",
    "security_setup_object",
]

SECURITY_SETUP = Obis("0.0.43.0.0.255")
"""The logical name of the simulator's Security setup object."""

_SECURITY_SETUP_CLASS = 64
_VERSION = 1
_VALID_FROM = datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)
_VALID_TO = datetime.datetime(2049, 12, 31, 23, 59, 59, tzinfo=datetime.UTC)
_FLAGS = {
    None: SecurityPolicyFlags.NONE,
    SecurityPolicy.AUTHENTICATION_ONLY: SecurityPolicyFlags.AUTHENTICATED_REQUEST
    | SecurityPolicyFlags.AUTHENTICATED_RESPONSE,
    SecurityPolicy.ENCRYPTION_ONLY: SecurityPolicyFlags.ENCRYPTED_REQUEST
    | SecurityPolicyFlags.ENCRYPTED_RESPONSE,
    SecurityPolicy.AUTHENTICATED_ENCRYPTION: SecurityPolicyFlags.AUTHENTICATED_REQUEST
    | SecurityPolicyFlags.ENCRYPTED_REQUEST
    | SecurityPolicyFlags.AUTHENTICATED_RESPONSE
    | SecurityPolicyFlags.ENCRYPTED_RESPONSE,
}
_POLICIES = {int(flags): policy for policy, flags in _FLAGS.items()}
"""The ciphering policy an association applies for the authentication/encryption bits."""
_CIPHERING_BITS = int(_FLAGS[SecurityPolicy.AUTHENTICATED_ENCRYPTION])
_KEY_IDS = {
    KeyId.GLOBAL_UNICAST_ENCRYPTION_KEY: "block_cipher_key",
    KeyId.GLOBAL_BROADCAST_ENCRYPTION_KEY: "broadcast_key",
    KeyId.AUTHENTICATION_KEY: "authentication_key",
}


def _derived_key(seed: bytes, label: str, suite: SecuritySuiteId) -> ec.EllipticCurvePrivateKey:
    """A private key of ``suite`` derived from ``seed`` and ``label`` (deterministic, for a
    simulator only: never a way to make real keys)."""
    parameters = suite_parameters(suite)
    assert parameters.curve is not None
    digest = hashlib.sha512(seed + b"|" + label.encode()).digest()
    # below 2^(bits-1): inside the order of P-256 and P-384, never zero
    scalar = int.from_bytes(digest, "big") % (1 << (parameters.curve.key_size - 1)) + 1
    return ec.derive_private_key(scalar, parameters.curve)


def _add_client_certificate(
    store: KeyStore, certificate: x509.Certificate, suite: SecuritySuiteId
) -> None:
    """File a client's certificate for each key usage it names (digitalSignature,
    keyAgreement, or both), validated for each (:class:`CertificateError`)."""
    try:
        allowed = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
        usages = [
            usage
            for usage, named in (
                (KeyUsage.DIGITAL_SIGNATURE, allowed.digital_signature),
                (KeyUsage.KEY_AGREEMENT, allowed.key_agreement),
            )
            if named
        ]
    except x509.ExtensionNotFound:
        usages = []
    for usage in usages or [KeyUsage.DIGITAL_SIGNATURE]:  # none: refused with the reason
        store.add_certificate(certificate, usage, suite=suite)


@dataclass(slots=True)
class _MeterSecurity:
    """What one meter's Security setup holds."""

    store: KeyStore
    system_title: bytes
    activated_policy: int | None = None
    keys: dict[str, Secret] = field(default_factory=dict)


class SimulatedSecurity:
    """Per-meter key pairs and certificates of a simulator (suites 1 and 2) and the state of
    each meter's Security setup object; give it to ``Simulator(security_keys=...)``.

    - ``suite``: 1 (P-256) or 2 (P-384).
    - ``seed``: the keys of meter ``i`` are derived from ``seed`` and ``i``; the CA's from
      ``seed``.
    - ``client_certificates``: certificates of the clients every meter trusts (validated
      against the simulator's CA and ``authorities`` when they are signed by one of them);
      ``client_public_keys``: system title -> bare public key, trusted as given;
      ``client_key_agreement_keys``: the same for the clients' key agreement (ECDH) keys
      (general-ciphering with agreed keys, :mod:`.general_ciphering`). A client certificate
      is filed for each key usage it allows.
    - ``authorities``: more CA certificates the meters trust (besides their own CA).
    - ``master_key``: the key encrypting key of ``key_transfer`` (none: refused).
    - ``clock``: the time certificates are checked at (``time.time``).
    """

    def __init__(
        self,
        suite: SecuritySuiteId | int = SecuritySuiteId.SUITE_1,
        *,
        seed: bytes = b"asyncdlms-simulator",
        client_certificates: Iterable[x509.Certificate] = (),
        client_public_keys: Mapping[bytes, ec.EllipticCurvePublicKey] | None = None,
        client_key_agreement_keys: Mapping[bytes, ec.EllipticCurvePublicKey] | None = None,
        authorities: Iterable[x509.Certificate] = (),
        master_key: Secret | bytes | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.suite = SecuritySuiteId(suite)
        if self.suite == SecuritySuiteId.SUITE_0:
            raise ValueError("SimulatedSecurity is for security suites 1 and 2 (keys, ECDSA)")
        self.seed = bytes(seed)
        self.clock = clock
        self.client_certificates = tuple(client_certificates)
        self.client_public_keys = dict(client_public_keys or {})
        self.client_key_agreement_keys = dict(client_key_agreement_keys or {})
        self.master_key = None if master_key is None else Secret(bytes(master_key))
        self.ca_key = _derived_key(self.seed, "ca", self.suite)
        self.ca_certificate = make_certificate(
            self.ca_key.public_key(),
            issuer_key=self.ca_key,
            usage=None,
            common_name="asyncdlms simulator CA",
            not_before=_VALID_FROM,
            not_after=_VALID_TO,
            serial_number=1,
        )
        self.authorities = (self.ca_certificate, *authorities)
        self._meters: dict[int, _MeterSecurity] = {}

    def __repr__(self) -> str:
        return f"SimulatedSecurity(suite={int(self.suite)}, meters={len(self._meters)}, keys=****)"

    # -- per-meter keys -----------------------------------------------------------------------

    def meter_key(
        self, index: int, usage: KeyUsage = KeyUsage.DIGITAL_SIGNATURE
    ) -> ec.EllipticCurvePrivateKey:
        """The private key meter ``index`` starts with (for tests; never sent anywhere)."""
        return _derived_key(self.seed, f"meter-{index}-{usage.name}", self.suite)

    def _certificate(
        self, key: ec.EllipticCurvePublicKey, system_title: bytes, usage: KeyUsage, serial: int
    ) -> x509.Certificate:
        return make_certificate(
            key,
            issuer_key=self.ca_key,
            issuer=self.ca_certificate,
            system_title=system_title,
            usage=usage,
            not_before=_VALID_FROM,
            not_after=_VALID_TO,
            serial_number=serial,
        )

    def meter(self, index: int, system_title: bytes) -> _MeterSecurity:
        """The Security setup state of meter ``index`` (made on first use)."""
        state = self._meters.get(index)
        if state is None:
            store = KeyStore(authorities=self.authorities, clock=self.clock)
            for number, usage in enumerate(KeyUsage):
                key = self.meter_key(index, usage)
                store.set_private_key(key, usage)
                serial = 0x1000 + 4 * index + number
                certificate = self._certificate(key.public_key(), system_title, usage, serial)
                store.set_own_certificate(certificate, usage)
            for certificate in self.client_certificates:
                _add_client_certificate(store, certificate, self.suite)
            for title, public_key in self.client_public_keys.items():
                store.add_public_key(title, public_key, suite=self.suite)
            for title, public_key in self.client_key_agreement_keys.items():
                store.add_public_key(title, public_key, KeyUsage.KEY_AGREEMENT, suite=self.suite)
            state = self._meters[index] = _MeterSecurity(store, bytes(system_title))
        return state

    def meter_certificate(
        self, index: int, system_title: bytes, usage: KeyUsage = KeyUsage.DIGITAL_SIGNATURE
    ) -> x509.Certificate:
        """The current certificate of meter ``index`` for ``usage``."""
        certificate = self.meter(index, system_title).store.own_certificate(self.suite, usage)
        if certificate is None:
            raise CertificateError(
                f"meter {index} has no {usage.name.lower()} certificate (a new key pair was "
                "generated and no certificate imported for it yet)"
            )
        return certificate

    def template_store(self) -> KeyStore:
        """A store with a signing key, for building the associations: each meter's
        associations get the meter's own store (:meth:`apply`)."""
        store = KeyStore(authorities=self.authorities, clock=self.clock)
        store.set_private_key(_derived_key(self.seed, "template", self.suite))
        return store

    def security(
        self,
        block_cipher_key: Secret | bytes | None,
        authentication_key: Secret | bytes | None,
        policy: SecurityPolicy | None = SecurityPolicy.AUTHENTICATED_ENCRYPTION,
        **options: Any,
    ) -> ServerSecurity:
        """A :class:`ServerSecurity` of this suite (keys of its length) for the associations
        of the simulator."""
        return ServerSecurity(
            None if block_cipher_key is None else Secret(bytes(block_cipher_key)),
            None if authentication_key is None else Secret(bytes(authentication_key)),
            policy,
            suite=self.suite,
            key_store=self.template_store(),
            **options,
        )

    def ecdsa_policy(
        self,
        block_cipher_key: Secret | bytes | None = None,
        authentication_key: Secret | bytes | None = None,
        policy: SecurityPolicy | None = SecurityPolicy.AUTHENTICATED_ENCRYPTION,
    ) -> AssociationPolicy:
        """An association with HLS-ECDSA (mechanism 7) and ciphering ``policy`` (with a
        policy of None the keys may be left out: signatures only, APDUs plain)."""
        return AssociationPolicy(
            MechanismName.HIGH_ECDSA,
            security=self.security(block_cipher_key, authentication_key, policy),
        )

    def apply(self, index: int, settings: ServerSettings) -> ServerSettings:
        """``settings`` of meter ``index`` with its own key store (and the keys of a
        key_transfer) in every association of this suite."""
        title = settings.system_title
        if title is None:
            return settings
        state = self.meter(index, title)
        policies: dict[int, AssociationPolicy] = {}
        for client, policy in settings.policies.items():
            security = policy.security
            if security is not None and security.suite == self.suite:
                security = replace(security, key_store=state.store)
                if state.keys:  # from key_transfer, for the associations after it
                    security = replace(
                        security,
                        block_cipher_key=state.keys.get(
                            "block_cipher_key", security.block_cipher_key
                        ),
                        authentication_key=state.keys.get(
                            "authentication_key", security.authentication_key
                        ),
                        broadcast_key=state.keys.get("broadcast_key", security.broadcast_key),
                    )
                if state.activated_policy is not None and security.block_cipher_key is not None:
                    activated = _POLICIES[state.activated_policy & _CIPHERING_BITS]
                    security = replace(security, policy=activated)
                policy = replace(policy, security=security)
            policies[client] = policy
        return replace(settings, policies=policies)


# -- the object ---------------------------------------------------------------------------------


def certificate_info(
    certificate: x509.Certificate, entity: CertificateEntity, usage: CertificateType
) -> Structure:
    """The certificate_info structure of attribute 6: entity, type, serial number (DER
    integer content, big-endian), issuer, subject (RFC 4514 strings) and subject alt name."""
    serial = certificate.serial_number
    try:
        alternative = certificate.extensions.get_extension_for_class(
            x509.SubjectAlternativeName
        ).value
        alt_name = ",".join(str(name.value) for name in alternative)
    except x509.ExtensionNotFound:
        alt_name = ""
    return Structure(
        (
            Enum(int(entity)),
            Enum(int(usage)),
            OctetString(serial.to_bytes((serial.bit_length() + 8) // 8, "big")),
            OctetString(certificate.issuer.rfc4514_string().encode()),
            OctetString(certificate.subject.rfc4514_string().encode()),
            OctetString(alt_name.encode()),
        )
    )


def _keys(state: Any) -> SimulatedSecurity | None:
    keys = getattr(state.simulator, "security_keys", None)
    return keys if isinstance(keys, SimulatedSecurity) else None


def _meter(state: Any) -> tuple[SimulatedSecurity, _MeterSecurity] | None:
    keys = _keys(state)
    if keys is None:
        return None
    return keys, keys.meter(state.index, state.simulator.meter_system_title(state.index))


def _association_security(state: Any, context: AssociationContext) -> ServerSecurity | None:
    policy = state.simulator.associations.get(context.client_address)
    return None if policy is None else policy.security


def _policy(state: Any, context: AssociationContext, selection: Any) -> Any:
    return Enum(_current_flags(state, context))


def _suite(state: Any, context: AssociationContext, selection: Any) -> Any:
    security = _association_security(state, context)
    return Enum(0 if security is None else int(security.suite))


def _client_title(state: Any, context: AssociationContext, selection: Any) -> Any:
    return OctetString(context.client_system_title)


def _server_title(state: Any, context: AssociationContext, selection: Any) -> Any:
    return OctetString(state.simulator.meter_system_title(state.index))


def _entries(
    keys: SimulatedSecurity, meter: _MeterSecurity
) -> list[tuple[x509.Certificate, CertificateEntity, CertificateType]]:
    entries = []
    for usage in KeyUsage:
        own = meter.store.own_certificate(keys.suite, usage)
        if own is not None:
            entries.append((own, CertificateEntity.SERVER, CertificateType(int(usage))))
    for _title, _suite_id, usage, certificate in meter.store.peers():
        if certificate is not None:
            entries.append((certificate, CertificateEntity.CLIENT, CertificateType(int(usage))))
    for authority in meter.store.authorities:
        entries.append(
            (authority, CertificateEntity.CERTIFICATION_AUTHORITY, CertificateType.OTHER)
        )
    return entries


def _certificates(state: Any, context: AssociationContext, selection: Any) -> Any:
    found = _meter(state)
    if found is None:
        return Array(())
    return Array(certificate_info(*entry) for entry in _entries(*found))


def _security_activate(state: Any, context: AssociationContext, parameters: Any) -> Any:
    found = _meter(state)
    if found is None:
        return ActionResult.TEMPORARY_FAILURE
    try:
        value = int(parameters)
    except (TypeError, ValueError):
        return ActionResult.TYPE_UNMATCHED
    if not 0 <= value <= 0xFF or value & 0x03 or value & _CIPHERING_BITS not in _POLICIES:
        return ActionResult.OTHER_REASON
    current = _current_flags(state, context)
    if value & current != current:  # the policy can only be strengthened
        return ActionResult.OTHER_REASON
    security = _association_security(state, context)
    has_keys = security is not None and (
        security.block_cipher_key is not None or "block_cipher_key" in found[1].keys
    )
    if value & _CIPHERING_BITS and not has_keys:
        return ActionResult.OTHER_REASON  # nothing to cipher with
    found[1].activated_policy = value
    return None


def _current_flags(state: Any, context: AssociationContext) -> int:
    found = _meter(state)
    if found is not None and found[1].activated_policy is not None:
        return found[1].activated_policy
    security = _association_security(state, context)
    return int(_FLAGS[None if security is None else security.policy])


def _key_transfer(state: Any, context: AssociationContext, parameters: Any) -> Any:
    found = _meter(state)
    if found is None or found[0].master_key is None:
        return ActionResult.TEMPORARY_FAILURE
    keys, meter = found
    assert keys.master_key is not None
    length = suite_parameters(keys.suite).key_length
    unwrapped: dict[str, Secret] = {}
    try:
        for item in parameters:
            key_id, wrapped = int(item[0]), bytes(item[1])
            name = _KEY_IDS.get(KeyId(key_id)) if key_id in KeyId._value2member_map_ else None
            if name is None:
                return ActionResult.OTHER_REASON
            key = aes_key_unwrap(keys.master_key.value, wrapped)
            if len(key) != length:
                return ActionResult.OTHER_REASON
            unwrapped[name] = Secret(key)
    except (TypeError, ValueError, IndexError, InvalidUnwrap):
        return ActionResult.OTHER_REASON
    meter.keys.update(unwrapped)
    return None


def _key_agreement(state: Any, context: AssociationContext, parameters: Any) -> Any:
    """C(2e, 0s): check each client ephemeral key's signature with the client's signing key
    (by its system title), answer ours signed, derive the keys (used from the next
    association)."""
    found = _meter(state)
    if found is None:
        return ActionResult.TEMPORARY_FAILURE
    keys, meter = found
    try:
        client_key = meter.store.public_key(
            context.client_system_title or bytes(8), keys.suite, KeyUsage.DIGITAL_SIGNATURE
        )
        signing_key = meter.store.private_key(keys.suite, KeyUsage.DIGITAL_SIGNATURE)
    except CertificateError:
        return ActionResult.READ_WRITE_DENIED
    answers: list[Structure] = []
    derived: dict[str, Secret] = {}
    try:
        for item in parameters:
            key_id, data = int(item[0]), bytes(item[1])
            name = _KEY_IDS.get(KeyId(key_id)) if key_id in (0, 1, 2) else None
            if name is None:
                return ActionResult.OTHER_REASON
            peer = read_offer(data, key_id, client_key, keys.suite)
            ephemeral, offer = make_offer(signing_key, key_id, keys.suite)
            derived[name] = derive_key(
                ephemeral, peer, keys.suite, context.client_system_title, meter.system_title
            )
            answers.append(Structure((Enum(key_id), OctetString(offer))))
    except SignatureError:
        return ActionResult.READ_WRITE_DENIED
    except (TypeError, ValueError, IndexError):
        return ActionResult.TYPE_UNMATCHED
    meter.keys.update(derived)
    return Array(answers)


def _usage(parameters: Any) -> KeyUsage | None:
    try:
        value = int(parameters)
    except (TypeError, ValueError):
        return None
    return KeyUsage(value) if value in (0, 1) else None


def _generate_key_pair(state: Any, context: AssociationContext, parameters: Any) -> Any:
    found = _meter(state)
    usage = _usage(parameters)
    if found is None:
        return ActionResult.TEMPORARY_FAILURE
    if usage is None:
        return ActionResult.OTHER_REASON
    keys, meter = found
    meter.store.set_private_key(ec.generate_private_key(keys.ca_key.curve), usage)
    return None


def _generate_certificate_request(state: Any, context: AssociationContext, parameters: Any) -> Any:
    found = _meter(state)
    usage = _usage(parameters)
    if found is None:
        return ActionResult.TEMPORARY_FAILURE
    if usage is None:
        return ActionResult.OTHER_REASON
    keys, meter = found
    request = make_certificate_request(
        meter.store.private_key(keys.suite, usage), meter.system_title, usage
    )
    return OctetString(request.public_bytes(serialization.Encoding.DER))


def _is_authority(certificate: x509.Certificate) -> bool:
    try:
        return certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        return False


def _import_certificate(state: Any, context: AssociationContext, parameters: Any) -> Any:
    found = _meter(state)
    if found is None:
        return ActionResult.TEMPORARY_FAILURE
    keys, meter = found
    try:
        certificate = load_certificate(bytes(parameters))
        if _is_authority(certificate):
            meter.store.add_authority(certificate)
            return None
        usage_extension = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
        usage = (
            KeyUsage.KEY_AGREEMENT if usage_extension.key_agreement else KeyUsage.DIGITAL_SIGNATURE
        )
        if certificate_system_title(certificate) == meter.system_title:
            validate_certificate(
                certificate,
                usage=usage,
                suite=keys.suite,
                authorities=meter.store.authorities,
                at=keys.clock(),
            )
            meter.store.set_own_certificate(certificate, usage)
        else:
            meter.store.add_certificate(certificate, usage, suite=keys.suite)
    except (CertificateError, x509.ExtensionNotFound, TypeError, ValueError):
        return ActionResult.OTHER_REASON
    return None


def _find(
    keys: SimulatedSecurity, meter: _MeterSecurity, identification: Any
) -> tuple[x509.Certificate, CertificateEntity, CertificateType] | None:
    """The certificate a certificate_identification structure designates."""
    kind, data = int(identification[0]), identification[1]
    for certificate, entity, usage in _entries(keys, meter):
        if kind == 0:
            wanted_entity, wanted_type, title = int(data[0]), int(data[1]), bytes(data[2])
            if entity != wanted_entity or usage != wanted_type:
                continue
            try:
                if certificate_system_title(certificate) == title:
                    return certificate, entity, usage
            except CertificateError:
                continue
        elif kind == 1:
            serial, issuer = bytes(data[0]), bytes(data[1])
            if (
                int.from_bytes(serial, "big") == certificate.serial_number
                and issuer.decode(errors="replace") == certificate.issuer.rfc4514_string()
            ):
                return certificate, entity, usage
    return None


def _export_certificate(state: Any, context: AssociationContext, parameters: Any) -> Any:
    found = _meter(state)
    if found is None:
        return ActionResult.TEMPORARY_FAILURE
    try:
        entry = _find(*found, parameters)
    except (TypeError, ValueError, IndexError):
        return ActionResult.TYPE_UNMATCHED
    if entry is None:
        return ActionResult.OBJECT_UNAVAILABLE
    return OctetString(entry[0].public_bytes(serialization.Encoding.DER))


def _remove_certificate(state: Any, context: AssociationContext, parameters: Any) -> Any:
    found = _meter(state)
    if found is None:
        return ActionResult.TEMPORARY_FAILURE
    keys, meter = found
    try:
        entry = _find(keys, meter, parameters)
    except (TypeError, ValueError, IndexError):
        return ActionResult.TYPE_UNMATCHED
    if entry is None:
        return ActionResult.OBJECT_UNAVAILABLE
    certificate, entity, usage = entry
    if entity is not CertificateEntity.CLIENT:
        return ActionResult.OTHER_REASON  # the meter's own and its CA's stay
    meter.store.remove(certificate_system_title(certificate), keys.suite, KeyUsage(int(usage)))
    return None


def security_setup_object(association_clients: Sequence[int]) -> ObjectDef:
    """The Security setup object of the simulator's model: attributes readable by every
    client but the public one (16), methods for the management clients (not 16, 17)."""
    readers = {c: AttributeAccess.READ for c in association_clients if c != 16}
    managers = {c: True for c in association_clients if c not in (16, 17)}
    return ObjectDef(
        _SECURITY_SETUP_CLASS,
        SECURITY_SETUP,
        {
            2: AttributeDef(getter=_policy, access=readers),
            3: AttributeDef(getter=_suite, access=readers),
            4: AttributeDef(getter=_client_title, access=readers),
            5: AttributeDef(getter=_server_title, access=readers),
            6: AttributeDef(getter=_certificates, access=readers),
        },
        {
            1: MethodDef(_security_activate, managers),
            2: MethodDef(_key_transfer, managers),
            3: MethodDef(_key_agreement, managers),
            4: MethodDef(_generate_key_pair, managers),
            5: MethodDef(_generate_certificate_request, managers),
            6: MethodDef(_import_certificate, managers),
            7: MethodDef(_export_certificate, managers),
            8: MethodDef(_remove_certificate, managers),
        },
        version=_VERSION,
    )
