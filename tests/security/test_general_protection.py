"""General signing and general ciphering with explicit keys (asyncdlms.security.general)."""

from __future__ import annotations

import contextlib

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from gurux_dlms.AesGcmParameter import AesGcmParameter
from gurux_dlms.enums.Security import Security
from gurux_dlms.GXDLMSChippering import GXDLMSChippering
from gurux_dlms.objects.enums.SecuritySuite import SecuritySuite

from asyncdlms.apdu.general_protection import (
    AgreedKey,
    GeneralCiphering,
    GeneralSigning,
    IdentifiedKey,
    KeyAgreementScheme,
    ProtectionHeader,
    WrappedKey,
)
from asyncdlms.errors import (
    AuthenticationTagError,
    DecipheringError,
    DecodeError,
    ReplayError,
    SecurityPolicyError,
)
from asyncdlms.security import general
from asyncdlms.security.ciphering import SecurityPolicy
from asyncdlms.security.counters import MemoryInvocationCounterStore
from asyncdlms.security.general import (
    GeneralCipheringKeys,
    GlobalKey,
    OnePassDiffieHellman,
    StaticUnifiedModel,
    UnknownSignerError,
    WrappedContentKey,
    cipher_general,
    decipher_general,
    sign_apdu,
    unprotect_general,
    verify_signed_apdu,
)
from asyncdlms.security.hls import Secret
from asyncdlms.security.suites import SignatureError, generate_private_key

METER = bytes.fromhex("4D4D4D0000BC614E")
HEAD_END = bytes.fromhex("4142434445464748")
# a data-notification: long-invoke-id 1, no date-time, body unsigned 7
NOTIFICATION = bytes.fromhex("0f00000001001107")
SUITES = [1, 2]


class Party:
    """The keys of one side."""

    def __init__(self, suite: int, title: bytes) -> None:
        self.title = title
        self.signing = generate_private_key(suite)
        self.agreement = generate_private_key(suite)


def _lookup(*parties: Party, agreement: bool = False) -> general.PublicKeyLookup:
    table: dict[bytes, ec.EllipticCurvePublicKey] = {
        p.title: (p.agreement if agreement else p.signing).public_key() for p in parties
    }
    return table.get


def _keys(suite: int, me: Party, *peers: Party, **symmetric: Secret) -> GeneralCipheringKeys:
    return GeneralCipheringKeys(
        system_title=me.title,
        key_agreement_key=me.agreement,
        signing_key_for=_lookup(*peers),
        key_agreement_key_for=_lookup(*peers, agreement=True),
        **symmetric,
    )


# -- general-signing ----------------------------------------------------------------------------


@pytest.mark.parametrize("suite", SUITES)
def test_sign_and_verify(suite: int) -> None:
    meter = Party(suite, METER)
    sent = MemoryInvocationCounterStore()
    received = MemoryInvocationCounterStore()
    date_time = bytes.fromhex("07E80C0405000000FF800000")
    data = sign_apdu(
        NOTIFICATION, METER, b"", meter.signing, suite, date_time=date_time, counter_store=sent
    )
    decoded = GeneralSigning.decode(data)
    assert decoded.content == NOTIFICATION
    assert decoded.header.transaction_id == (1).to_bytes(8, "big")
    assert len(decoded.signature) == (64 if suite == 1 else 96)
    signed = verify_signed_apdu(data, _lookup(meter), suite, counter_store=received)
    assert signed.content == NOTIFICATION
    assert signed.signer_system_title == METER
    assert signed.date_time == date_time
    assert int(signed.security_suite) == suite
    # the same APDU again is a replay; the next one (next transaction-id) is accepted
    with pytest.raises(ReplayError):
        verify_signed_apdu(data, _lookup(meter), suite, counter_store=received)
    again = sign_apdu(NOTIFICATION, METER, b"", meter.signing, suite, counter_store=sent)
    assert GeneralSigning.decode(again).header.transaction_id == (2).to_bytes(8, "big")
    verify_signed_apdu(again, _lookup(meter), suite, counter_store=received)


@pytest.mark.parametrize("suite", SUITES)
def test_tampered_or_unknown_signatures_are_refused(suite: int) -> None:
    meter = Party(suite, METER)
    store = MemoryInvocationCounterStore()
    data = sign_apdu(NOTIFICATION, METER, HEAD_END, meter.signing, suite, b"\x00\x07")
    # every byte of the APDU after the tag is covered (the content length only through the
    # content): flipping any of them breaks the signature or the decoding
    for position in range(1, len(data)):
        tampered = data[:position] + bytes([data[position] ^ 0x01]) + data[position + 1 :]
        with pytest.raises(DecodeError):  # SignatureError, UnknownSignerError, malformed
            verify_signed_apdu(tampered, _lookup(meter), suite, counter_store=store)
    with pytest.raises(UnknownSignerError, match="4D4D4D0000BC614E"):
        verify_signed_apdu(data, {}.get, suite, counter_store=store)
    impostor = Party(suite, METER)
    with pytest.raises(SignatureError):
        verify_signed_apdu(data, _lookup(impostor), suite, counter_store=store)
    with pytest.raises(DecipheringError, match="addressed to"):
        verify_signed_apdu(
            data, _lookup(meter), suite, recipient_system_title=METER, counter_store=store
        )
    # a forgery never advanced the transaction-id: the genuine APDU is still accepted
    assert verify_signed_apdu(data, _lookup(meter), suite, counter_store=store).content
    no_id = sign_apdu(NOTIFICATION, METER, b"", meter.signing, suite, b"")
    with pytest.raises(DecipheringError, match="replay"):
        verify_signed_apdu(no_id, _lookup(meter), suite, counter_store=store)


def test_signing_needs_an_asymmetric_suite() -> None:
    with pytest.raises(ValueError, match="suite 1 or 2"):
        sign_apdu(NOTIFICATION, METER, b"", generate_private_key(1), 0)


# -- general-ciphering --------------------------------------------------------------------------


def _sources(suite: int, meter: Party, head_end: Party) -> list[general.KeySource]:
    return [
        GlobalKey(Secret(bytes(range(16 if suite == 1 else 32)))),
        GlobalKey(Secret(bytes(range(16 if suite == 1 else 32))), send_key_info=False),
        WrappedContentKey(Secret(b"\x11" * (16 if suite == 1 else 32))),
        OnePassDiffieHellman(head_end.agreement.public_key(), meter.signing),
        StaticUnifiedModel(meter.agreement, head_end.agreement.public_key()),
    ]


@pytest.mark.parametrize("suite", SUITES)
@pytest.mark.parametrize(
    "policy",
    [
        SecurityPolicy.AUTHENTICATED_ENCRYPTION,
        SecurityPolicy.AUTHENTICATION_ONLY,
        SecurityPolicy.ENCRYPTION_ONLY,
    ],
)
def test_cipher_and_decipher_with_every_key_info(suite: int, policy: SecurityPolicy) -> None:
    meter, head_end = Party(suite, METER), Party(suite, HEAD_END)
    size = 16 if suite == 1 else 32
    sent = MemoryInvocationCounterStore()
    received = MemoryInvocationCounterStore()
    keys = _keys(
        suite,
        head_end,
        meter,
        block_cipher_key=Secret(bytes(range(size))),
        master_key=Secret(b"\x11" * size),
        authentication_key=Secret(b"\xaa" * size),
    )
    for source in _sources(suite, meter, head_end):
        data = cipher_general(
            NOTIFICATION,
            originator_system_title=METER,
            recipient_system_title=HEAD_END,
            suite=suite,
            key=source,
            policy=policy,
            authentication_key=Secret(b"\xaa" * size),
            counter_store=sent,
        )
        apdu = GeneralCiphering.decode(data)
        assert apdu.ciphered_content[0] == int(policy) | suite
        counter = int.from_bytes(apdu.ciphered_content[1:5], "big")
        assert apdu.header.transaction_id == counter.to_bytes(8, "big")
        if policy is not SecurityPolicy.AUTHENTICATION_ONLY:
            assert NOTIFICATION not in data
        result = decipher_general(data, keys, counter_store=received)
        assert result.apdu == NOTIFICATION
        assert result.originator_system_title == METER
        assert result.invocation_counter == counter
        with pytest.raises(ReplayError):
            decipher_general(data, keys, counter_store=received)
    # every counter handed out was different (a (key, counter) pair never repeats)
    assert sent.peek_next(METER, general._signing_identity(b"x")) >= 1


@pytest.mark.parametrize("suite", SUITES)
def test_tampering_is_detected(suite: int) -> None:
    meter, head_end = Party(suite, METER), Party(suite, HEAD_END)
    keys = _keys(suite, head_end, meter)
    store = MemoryInvocationCounterStore()
    for source in (
        OnePassDiffieHellman(head_end.agreement.public_key(), meter.signing),
        StaticUnifiedModel(meter.agreement, head_end.agreement.public_key()),
    ):
        data = cipher_general(
            NOTIFICATION,
            originator_system_title=METER,
            recipient_system_title=HEAD_END,
            suite=suite,
            key=source,
        )
        for position in range(1, len(data)):
            tampered = data[:position] + bytes([data[position] ^ 0x04]) + data[position + 1 :]
            with pytest.raises(DecodeError):
                decipher_general(tampered, keys, counter_store=store)
        # nothing tampered was recorded: the genuine APDU still deciphers
        assert decipher_general(data, keys, counter_store=store).apdu == NOTIFICATION


@pytest.mark.parametrize("suite", SUITES)
def test_wrong_keys_and_missing_keys(suite: int) -> None:
    meter, head_end = Party(suite, METER), Party(suite, HEAD_END)
    data = cipher_general(
        NOTIFICATION,
        originator_system_title=METER,
        recipient_system_title=HEAD_END,
        suite=suite,
        key=OnePassDiffieHellman(head_end.agreement.public_key(), meter.signing),
    )
    store = MemoryInvocationCounterStore()
    stranger = Party(suite, HEAD_END)
    with pytest.raises(AuthenticationTagError):  # another static key: another derived key
        decipher_general(data, _keys(suite, stranger, meter), counter_store=store)
    with pytest.raises(UnknownSignerError):
        decipher_general(data, _keys(suite, head_end), counter_store=store)
    with pytest.raises(DecipheringError, match="key agreement private key"):
        decipher_general(data, GeneralCipheringKeys(system_title=HEAD_END), counter_store=store)
    with pytest.raises(DecipheringError, match="addressed to"):
        decipher_general(data, _keys(suite, Party(suite, METER), meter), counter_store=store)
    with pytest.raises(SecurityPolicyError, match="suite"):
        decipher_general(data, _keys(suite, head_end, meter), security_suites=(3 - suite,))
    wrapped = cipher_general(
        NOTIFICATION,
        originator_system_title=METER,
        recipient_system_title=HEAD_END,
        suite=suite,
        key=WrappedContentKey(Secret(b"\x11" * (16 if suite == 1 else 32))),
    )
    assert isinstance(GeneralCiphering.decode(wrapped).key_info, WrappedKey)
    with pytest.raises(DecipheringError, match="unwrap"):
        decipher_general(
            wrapped,
            GeneralCipheringKeys(master_key=Secret(b"\x12" * (16 if suite == 1 else 32))),
            counter_store=store,
        )
    text = repr(GeneralCipheringKeys(master_key=Secret(b"\x12" * 16)))
    assert "1212" not in text and "****" in text


def test_broadcast_key_sets_the_key_set_bit() -> None:
    key = Secret(bytes(16))
    data = cipher_general(
        NOTIFICATION,
        originator_system_title=METER,
        recipient_system_title=b"",
        suite=1,
        key=GlobalKey(key, general.SymmetricKeyId.GLOBAL_BROADCAST_ENCRYPTION_KEY),
    )
    apdu = GeneralCiphering.decode(data)
    assert apdu.key_info == IdentifiedKey(general.SymmetricKeyId.GLOBAL_BROADCAST_ENCRYPTION_KEY)
    assert apdu.ciphered_content[0] == 0x71
    with pytest.raises(DecipheringError, match="broadcast"):
        decipher_general(data, GeneralCipheringKeys(block_cipher_key=key))
    assert decipher_general(data, GeneralCipheringKeys(broadcast_key=key)).apdu == NOTIFICATION
    # the key-info and the key set bit must agree
    position = data.index(apdu.ciphered_content)
    unicast_bit = data[:position] + b"\x31" + data[position + 1 :]
    with pytest.raises(DecipheringError, match="the other global key"):
        decipher_general(unicast_bit, GeneralCipheringKeys(broadcast_key=key, block_cipher_key=key))


def test_additional_authenticated_data_has_the_layout_gurux_builds() -> None:
    """Gurux (gurux-dlms) as an oracle of the FORMAT of the additional authenticated data of
    an authenticated and encrypted suite 1 general-ciphering: SC || AK || transaction-id ||
    originator || recipient || date-time || other-information, each with its length."""
    authentication_key = bytes(range(0xD0, 0xE0))
    counter = 0x01020304
    header = ProtectionHeader(counter.to_bytes(8, "big"), METER, HEAD_END)
    parameter = AesGcmParameter(0, METER, bytes(16), authentication_key)
    parameter.security = Security.AUTHENTICATION_ENCRYPTION
    parameter.securitySuite = SecuritySuite.SUITE_1
    parameter.invocationCounter = counter
    parameter.recipientSystemTitle = HEAD_END
    theirs = bytes(GXDLMSChippering.getAuthenticatedData(parameter, 0x31, b""))
    assert general._aad(0x31, authentication_key, header) == theirs


# -- nesting -----------------------------------------------------------------------------------


@pytest.mark.parametrize("suite", SUITES)
def test_signed_then_ciphered_and_ciphered_then_signed(suite: int) -> None:
    meter, head_end = Party(suite, METER), Party(suite, HEAD_END)
    keys = _keys(suite, head_end, meter)
    store = MemoryInvocationCounterStore()

    def cipher(apdu: bytes) -> bytes:
        return cipher_general(
            apdu,
            originator_system_title=METER,
            recipient_system_title=HEAD_END,
            suite=suite,
            key=OnePassDiffieHellman(head_end.agreement.public_key(), meter.signing),
        )

    def sign(apdu: bytes) -> bytes:
        return sign_apdu(apdu, METER, HEAD_END, meter.signing, suite)

    for data, kinds in (
        (cipher(sign(NOTIFICATION)), ["general-ciphering", "general-signing"]),
        (sign(cipher(NOTIFICATION)), ["general-signing", "general-ciphering"]),
        (sign(NOTIFICATION), ["general-signing"]),
    ):
        result = unprotect_general(data, keys=keys, suites=(suite,), counter_store=store)
        assert result.apdu == NOTIFICATION
        assert [layer.kind for layer in result.layers] == kinds
        assert result.signed and result.signer_system_title == METER
    inner = cipher(NOTIFICATION)
    result = unprotect_general(inner, keys=keys, counter_store=store)
    assert not result.signed and result.signer_system_title is None
    with pytest.raises(DecipheringError, match="layers"):
        deep = NOTIFICATION
        for _ in range(3):
            deep = sign(deep)
        unprotect_general(
            deep, keys=keys, counter_store=MemoryInvocationCounterStore(), max_layers=0
        )


def test_agreed_key_info_names_the_scheme() -> None:
    meter, head_end = Party(1, METER), Party(1, HEAD_END)
    data = cipher_general(
        NOTIFICATION,
        originator_system_title=METER,
        recipient_system_title=HEAD_END,
        suite=1,
        key=StaticUnifiedModel(meter.agreement, head_end.agreement.public_key()),
    )
    result = decipher_general(data, _keys(1, head_end, meter))
    assert isinstance(result.key_info, AgreedKey)
    assert result.key_agreement is KeyAgreementScheme.STATIC_UNIFIED_MODEL


class _GuruxParameter(AesGcmParameter):  # type: ignore[misc]  (gurux-dlms has no types)
    """gurux-dlms's parameter with the setters its general-ciphering parser calls."""

    def setSystemTitle(self, value: bytes) -> None:  # gurux's method names
        self.systemTitle = value

    def setRecipientSystemTitle(self, value: bytes) -> None:
        self.recipientSystemTitle = value

    def setKeyParameters(self, value: int) -> None:
        self.keyParameters = value


@pytest.mark.parametrize("scheme", [1, 2])
def test_gurux_parses_our_general_ciphering_header(scheme: int) -> None:
    """gurux-dlms as an oracle of the FORMAT of an agreed-key general-ciphering APDU: its
    parser finds the same system titles, key-parameters, key-ciphered-data and ciphered
    content (it then stops on a defect of its own, or on the tag of a key it does not
    have; nothing of its tag computation is used)."""
    from gurux_dlms.GXByteBuffer import GXByteBuffer
    from gurux_dlms.GXDLMSSettings import GXDLMSSettings

    meter, head_end = Party(1, METER), Party(1, HEAD_END)
    source: general.KeySource = (
        OnePassDiffieHellman(head_end.agreement.public_key(), meter.signing)
        if scheme == 1
        else StaticUnifiedModel(meter.agreement, head_end.agreement.public_key())
    )
    data = cipher_general(
        NOTIFICATION,
        originator_system_title=METER,
        recipient_system_title=HEAD_END,
        suite=1,
        key=source,
    )
    ours = GeneralCiphering.decode(data)
    parameter = _GuruxParameter(0, None, bytes(16), bytes(16))
    settings = GXDLMSSettings(False, None)
    parameter.settings = settings
    with contextlib.suppress(AttributeError, ValueError):
        GXDLMSChippering.decryptAesGcm(settings, parameter, GXByteBuffer(data))
    assert bytes(parameter.systemTitle) == METER
    assert bytes(parameter.recipientSystemTitle) == HEAD_END
    assert parameter.keyParameters == scheme
    assert isinstance(ours.key_info, AgreedKey)
    if scheme == 1:
        assert bytes(parameter.keyCipheredData) == ours.key_info.key_ciphered_data
    assert bytes(parameter.cipheredContent) == ours.ciphered_content
