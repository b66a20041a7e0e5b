"""The key store and the DLMS certificate rules (Green Book 9.2.6): a certificate for another
system title, on another curve, with another key usage, outside its validity period, signed
by another CA or altered is refused with a CertificateError saying which rule it breaks."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from asyncdlms.errors import CertificateError
from asyncdlms.security.certificates import (
    KeyStore,
    KeyUsage,
    certificate_system_title,
    load_certificate,
    load_private_key,
    make_certificate,
    make_certificate_request,
    private_key_to_pem,
    validate_certificate,
)
from asyncdlms.security.suites import private_key_to_bytes, public_key_to_bytes

from .pki import NOW, Authority, key

METER = bytes.fromhex("4D4D4D0000BC614E")
CLIENT = bytes.fromhex("4142430000000001")


@pytest.mark.parametrize("suite", [1, 2])
def test_a_dlms_certificate_is_accepted_and_filed_under_its_system_title(suite: int) -> None:
    ca = Authority.make(suite)
    meter_key = key(suite)
    certificate = ca.issue(meter_key.public_key(), METER)
    store = KeyStore(authorities=[ca.certificate])
    assert store.add_certificate(certificate) == METER
    found = store.public_key(METER, suite)
    assert public_key_to_bytes(found) == public_key_to_bytes(meter_key)
    assert store.certificate(METER, suite) == certificate
    # DER and PEM bytes are read as well
    der = certificate.public_bytes(serialization.Encoding.DER)
    pem = certificate.public_bytes(serialization.Encoding.PEM)
    assert load_certificate(der) == load_certificate(pem) == certificate
    assert KeyStore().add_certificate(der, suite=suite) == METER


def test_wrong_system_title_is_refused() -> None:
    ca = Authority.make(1)
    certificate = ca.issue(key(1).public_key(), METER)
    with pytest.raises(CertificateError, match="4D4D4D0000BC614E, not 4142430000000001"):
        validate_certificate(certificate, usage=KeyUsage.DIGITAL_SIGNATURE, system_title=CLIENT)
    not_a_title = ca.issue(key(1).public_key(), METER, common_name="meter 12")
    with pytest.raises(CertificateError, match="not a system title"):
        KeyStore().add_certificate(not_a_title)


def test_wrong_curve_is_refused() -> None:
    ca = Authority.make(2)
    certificate = ca.issue(key(2).public_key(), METER)
    with pytest.raises(CertificateError, match="secp384r1, security suite 1 uses secp256r1"):
        KeyStore().add_certificate(certificate, suite=1)


def test_wrong_key_usage_and_missing_key_usage_are_refused() -> None:
    ca = Authority.make(1)
    agreement = ca.issue(key(1).public_key(), METER, agreement=True)
    with pytest.raises(CertificateError, match="does not allow digitalSignature"):
        KeyStore().add_certificate(agreement, KeyUsage.DIGITAL_SIGNATURE)
    assert KeyStore().add_certificate(agreement, KeyUsage.KEY_AGREEMENT) == METER
    bare = ca.issue(key(1).public_key(), METER, key_usage=False)
    with pytest.raises(CertificateError, match="no key usage"):
        KeyStore().add_certificate(bare)


def test_expired_and_not_yet_valid_certificates_are_refused() -> None:
    ca = Authority.make(1)
    expired = ca.issue(
        key(1).public_key(),
        METER,
        not_before=NOW - datetime.timedelta(days=30),
        not_after=NOW - datetime.timedelta(days=1),
    )
    with pytest.raises(CertificateError, match=r"is valid from .* not at"):
        KeyStore().add_certificate(expired)
    future = ca.issue(key(1).public_key(), METER, not_before=NOW + datetime.timedelta(days=1))
    with pytest.raises(CertificateError, match="is valid from"):
        KeyStore().add_certificate(future)


def test_a_certificate_that_expires_later_is_refused_when_used() -> None:
    ca = Authority.make(1)
    certificate = ca.issue(key(1).public_key(), METER, not_after=NOW + datetime.timedelta(days=2))
    moment = [NOW.timestamp()]
    store = KeyStore(clock=lambda: moment[0])
    store.add_certificate(certificate)
    store.public_key(METER, 1)
    moment[0] += 3 * 86400
    with pytest.raises(CertificateError, match="not at"):
        store.public_key(METER, 1)


def test_another_issuer_and_an_altered_signature_are_refused() -> None:
    ca = Authority.make(1)
    impostor = Authority.make(1)  # same name "Test CA", another key
    forged = impostor.issue(key(1).public_key(), METER)
    with pytest.raises(CertificateError, match="issuer signature does not verify"):
        KeyStore(authorities=[ca.certificate]).add_certificate(forged)
    stranger = Authority.make(1, "Other CA").issue(key(1).public_key(), METER)
    with pytest.raises(CertificateError, match="none of the CA certificates"):
        KeyStore(authorities=[ca.certificate]).add_certificate(stranger)
    # a certificate whose signed part was changed after signing (the public key swapped)
    genuine = ca.issue(key(1).public_key(), METER).public_bytes(serialization.Encoding.DER)
    other_key = public_key_to_bytes(key(1))
    original_key = public_key_to_bytes(load_certificate(genuine).public_key())  # type: ignore[arg-type]
    tampered = genuine.replace(original_key, other_key)
    assert tampered != genuine
    with pytest.raises(CertificateError, match="issuer signature does not verify"):
        KeyStore(authorities=[ca.certificate]).add_certificate(tampered)
    with pytest.raises(CertificateError, match="not a PEM or DER"):
        KeyStore().add_certificate(b"\x30\x03garbage")


def test_unknown_system_title_and_missing_private_key() -> None:
    store = KeyStore()
    with pytest.raises(CertificateError, match="for system title 4D4D4D0000BC614E"):
        store.public_key(METER, 1)
    with pytest.raises(CertificateError, match="no signing private key of security suite 2"):
        store.private_key(2)


def test_private_keys_never_in_repr_and_files_round_trip(tmp_path: Path) -> None:
    ca = Authority.make(1)
    ours = key(1)
    store = KeyStore(authorities=[ca.certificate])
    store.set_private_key(ours)
    store.set_private_key(key(1), KeyUsage.KEY_AGREEMENT)
    store.add_certificate(ca.issue(key(1).public_key(), METER))
    store.add_public_key(CLIENT, public_key_to_bytes(key(1)), suite=1)
    scalar = private_key_to_bytes(ours)
    for text in (repr(store), str(store)):
        assert scalar.hex() not in text.lower()
        assert str(ours.private_numbers().private_value) not in text
    store.save(tmp_path, password=b"pass phrase")
    key_file = tmp_path / "key-1-digital_signature.pem"
    assert key_file.stat().st_mode & 0o077 == 0
    assert b"ENCRYPTED" in key_file.read_bytes()
    loaded = KeyStore.load(tmp_path, password=b"pass phrase")
    assert private_key_to_bytes(loaded.private_key(1)) == scalar
    assert public_key_to_bytes(loaded.public_key(METER, 1)) == public_key_to_bytes(
        store.public_key(METER, 1)
    )
    assert public_key_to_bytes(loaded.public_key(CLIENT, 1)) == public_key_to_bytes(
        store.public_key(CLIENT, 1)
    )
    assert loaded.authorities == (ca.certificate,)
    with pytest.raises(CertificateError, match="password is wrong") as error:
        load_private_key(key_file.read_bytes(), b"wrong")
    assert scalar.hex() not in str(error.value)


def test_our_own_builders_keep_the_conventions() -> None:
    ca_key = key(2)
    ca = make_certificate(ca_key.public_key(), issuer_key=ca_key, usage=None, common_name="CA")
    meter_key = key(2)
    certificate = make_certificate(
        meter_key.public_key(), issuer_key=ca_key, issuer=ca, system_title=METER
    )
    assert certificate_system_title(certificate) == METER
    validate_certificate(certificate, usage=KeyUsage.DIGITAL_SIGNATURE, suite=2, authorities=[ca])
    request = make_certificate_request(meter_key, METER, KeyUsage.KEY_AGREEMENT)
    assert request.is_signature_valid
    assert request.subject.rfc4514_string() == "CN=4D4D4D0000BC614E"
    usage = request.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.key_agreement and not usage.digital_signature
    pem = private_key_to_pem(meter_key)
    assert private_key_to_bytes(load_private_key(pem)) == private_key_to_bytes(meter_key)
