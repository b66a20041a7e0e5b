"""Associations whose APDUs all go in general-ciphering under keys agreed by ECDH: our client
(``ClientSettings(protection=GeneralCipheringProtection)``) against the simulator
(``asyncdlms.server.general_ciphering``), suites 1 and 2, both key agreements, wrapper and
HDLC; the APDUs are read off the wire and deciphered here with ``cryptography`` alone, and a
proxy tampers, replays and strips them in both directions."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.concatkdf import ConcatKDFHash

from asyncdlms import connect
from asyncdlms.apdu.acse import Aarq
from asyncdlms.apdu.general_protection import AgreedKey, GeneralCiphering
from asyncdlms.errors import (
    AssociationError,
    AuthenticationTagError,
    CertificateError,
    DlmsError,
    ReplayError,
    SecurityPolicyError,
)
from asyncdlms.security.certificates import KeyUsage, make_certificate
from asyncdlms.security.ciphering_protection import GeneralCipheringProtection, KeyAgreementName
from asyncdlms.security.suites import SignatureError, generate_private_key
from asyncdlms.server import Simulator
from asyncdlms.server.general_ciphering import general_ciphering, general_ciphering_policy
from asyncdlms.server.security_setup import SimulatedSecurity
from asyncdlms.session import ClientSettings
from asyncdlms.session.pipeline import ApduProtection
from asyncdlms.session.server import AssociationPolicy, ServerSettings
from asyncdlms.types import Enum, Integer
from tests.security.wire import ber_elements, ber_length

CLIENT = b"ASY00001"
MANAGEMENT = 18  # may set and act in the simulator
NAME = "0.0.42.0.0.255"  # logical device name
DISCONNECTOR = "0.0.96.3.10.255"
SCHEMES: list[KeyAgreementName] = ["ephemeral-static", "static-unified"]


class Recording:
    """The meter's protection, recording the errors it raises on what it receives."""

    def __init__(self, inner: ApduProtection, errors: list[DlmsError]) -> None:
        self.inner, self.errors = inner, errors

    @property
    def ciphered(self) -> bool:
        return bool(getattr(self.inner, "ciphered", False))

    @property
    def overhead(self) -> int:
        return int(getattr(self.inner, "overhead", 0))

    def protect(self, apdu: bytes) -> bytes:
        return self.inner.protect(apdu)

    def unprotect(self, apdu: bytes) -> bytes:
        try:
            return self.inner.unprotect(apdu)
        except DlmsError as exc:
            self.errors.append(exc)
            raise


@dataclass
class Setup:
    """The client's key pairs, the simulated meters' keys, and what the meter refused."""

    suite: int
    scheme: KeyAgreementName
    signing: ec.EllipticCurvePrivateKey = field(init=False)
    agreement: ec.EllipticCurvePrivateKey = field(init=False)
    keys: SimulatedSecurity = field(init=False)
    meter_errors: list[DlmsError] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.signing = generate_private_key(self.suite)
        self.agreement = generate_private_key(self.suite)
        self.keys = SimulatedSecurity(
            self.suite,
            client_public_keys={CLIENT: self.signing.public_key()},
            client_key_agreement_keys={CLIENT: self.agreement.public_key()},
        )

    def meter_key(self, usage: KeyUsage) -> ec.EllipticCurvePrivateKey:
        return self.keys.meter_key(0, usage)

    def settings_factory(self) -> Callable[[int, ServerSettings], ServerSettings]:
        base = general_ciphering(self.keys, key_agreement=self.scheme)

        def factory(index: int, settings: ServerSettings) -> ServerSettings:
            settings = base(index, settings)
            made = settings.protection_factory

            def recording(policy: AssociationPolicy, aarq: Aarq) -> ApduProtection:
                return Recording(made(policy, aarq), self.meter_errors)

            return replace(settings, protection_factory=recording)

        return factory

    def simulator(self, interface: str = "wrapper", **options: Any) -> Simulator:
        return Simulator(
            interface=interface,  # type: ignore[arg-type]
            associations={MANAGEMENT: general_ciphering_policy()},
            security_keys=self.keys,
            settings_factory=self.settings_factory(),
            **options,
        )

    def client(self, meter_title: bytes, **overrides: Any) -> ClientSettings:
        def protection() -> ApduProtection:
            arguments: dict[str, Any] = {
                "system_title": CLIENT,
                "key_agreement_key": self.agreement,
                "peer_key_agreement_key": self.meter_key(KeyUsage.KEY_AGREEMENT).public_key(),
                "signing_key": self.signing,
                "peer_signing_key": self.meter_key(KeyUsage.DIGITAL_SIGNATURE).public_key(),
                "peer_system_title": meter_title,
                "suite": self.suite,
                "key_agreement": self.scheme,
            }
            arguments.update(overrides)
            return GeneralCipheringProtection(**arguments)

        return ClientSettings(client_system_title=CLIENT, protection=protection)


# -- the wire ---------------------------------------------------------------------------------


Mutation = Callable[[bool, int, bytes], list[bytes]]
"""(from the client, index of the APDU in its direction, APDU) -> the APDUs sent instead."""


@dataclass
class Tap:
    """A wrapper proxy on loopback recording every APDU both ways, each direction's APDUs
    passing through ``mutate`` first."""

    upstream_port: int
    mutate: Mutation = lambda _client, _index, apdu: [apdu]
    sent: list[tuple[bool, bytes]] = field(default_factory=list)
    port: int = 0
    _server: asyncio.Server | None = None
    _writers: list[asyncio.StreamWriter] = field(default_factory=list)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    async def __aenter__(self) -> Tap:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self._writers:  # the pumps end by themselves, nothing cancelled
            writer.close()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        self._writers += [writer, up_writer]
        await asyncio.gather(
            self._pump(reader, up_writer, True), self._pump(up_reader, writer, False)
        )

    async def _pump(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, from_client: bool
    ) -> None:
        index = 0
        try:
            while True:
                header = await reader.readexactly(8)
                apdu = await reader.readexactly(int.from_bytes(header[6:8], "big"))
                self.sent.append((from_client, apdu))
                for each in self.mutate(from_client, index, apdu):
                    writer.write(header[:6] + len(each).to_bytes(2, "big") + each)
                index += 1
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            writer.close()


def _octet_string(data: bytes, pos: int) -> tuple[bytes, int]:
    size, start = ber_length(data, pos)
    return data[start : start + size], start + size


def user_information(acse: bytes) -> bytes:
    """The xDLMS APDU in the user-information [30] of an AARQ/AARE (BER, by hand)."""
    size, start = ber_length(acse, 1)
    information = ber_elements(acse[start : start + size])[0xBE]  # [30] { 04 len APDU }
    inner, at = ber_length(information, 1)
    return information[at : at + inner]


@dataclass
class Parsed:
    """A general-ciphering APDU read by hand (Green Book 9.2.7.2.4 as we read it)."""

    header: bytes  # the five A-XDR octet strings, as sent
    transaction_id: bytes
    originator: bytes
    recipient: bytes
    key_parameters: int
    key_ciphered_data: bytes
    content: bytes  # SC || IC || ciphertext || tag


def parse(apdu: bytes) -> Parsed:
    assert apdu[0] == 0xDD
    pos = 1
    fields = []
    for _ in range(5):
        value, pos = _octet_string(apdu, pos)
        fields.append(value)
    header = apdu[1:pos]
    assert apdu[pos : pos + 2] == b"\x01\x02"  # key-info present, agreed-key
    parameters, pos = _octet_string(apdu, pos + 2)
    key_data, pos = _octet_string(apdu, pos)
    content, pos = _octet_string(apdu, pos)
    assert pos == len(apdu)
    return Parsed(header, fields[0], fields[1], fields[2], parameters[0], key_data, content)


def independent_decipher(
    apdu: bytes,
    suite: int,
    recipient_agreement: ec.EllipticCurvePrivateKey,
    originator_agreement: ec.EllipticCurvePublicKey,
    originator_signing: ec.EllipticCurvePublicKey,
) -> bytes:
    """ECDH, the concatenation KDF and AES-GCM of ``cryptography``, nothing of asyncdlms."""
    parsed = parse(apdu)
    curve: ec.EllipticCurve = ec.SECP256R1() if suite == 1 else ec.SECP384R1()
    width = 32 if suite == 1 else 48
    digest: hashes.HashAlgorithm = hashes.SHA256() if suite == 1 else hashes.SHA384()
    if parsed.key_parameters == 0x01:  # C(1e, 1s): ephemeral X || Y, then its signature r || s
        point = parsed.key_ciphered_data[: 2 * width]
        signature = parsed.key_ciphered_data[2 * width :]
        assert len(signature) == 2 * width
        der = encode_dss_signature(
            int.from_bytes(signature[:width], "big"), int.from_bytes(signature[width:], "big")
        )
        originator_signing.verify(der, b"\x01" + point, ec.ECDSA(digest))
        peer = ec.EllipticCurvePublicKey.from_encoded_point(curve, b"\x04" + point)
        party_v = parsed.recipient
    else:  # C(0e, 2s): static keys, the transaction-id in PartyVInfo
        assert parsed.key_parameters == 0x02 and parsed.key_ciphered_data == b""
        peer = originator_agreement
        party_v = bytes((len(parsed.transaction_id),)) + parsed.transaction_id + parsed.recipient
    shared = recipient_agreement.exchange(ec.ECDH(), peer)
    algorithm = bytes.fromhex("608574050803") + bytes((0 if suite == 1 else 1,))
    kdf = ConcatKDFHash(digest, 16 if suite == 1 else 32, algorithm + parsed.originator + party_v)
    key = kdf.derive(shared)
    content = parsed.content
    security_control, counter = content[0], content[1:5]
    assert security_control == 0x30 | suite
    assert int.from_bytes(parsed.transaction_id, "big") == int.from_bytes(counter, "big")
    body, tag = content[5:-12], content[-12:]
    iv = parsed.originator + counter
    decryptor = Cipher(algorithms.AES(key), modes.GCM(iv, tag, min_tag_length=12)).decryptor()
    decryptor.authenticate_additional_data(bytes((security_control,)) + parsed.header)
    return decryptor.update(body) + decryptor.finalize()


# -- associations -------------------------------------------------------------------------------


async def exercise(meter: Any) -> None:
    """GET, SET then GET back, ACTION then GET: the whole association ciphered."""
    assert await meter.get(1, NAME, 2) == b"ADS0000010000000"
    await meter.set(70, DISCONNECTOR, 4, Enum(3))
    assert await meter.get(70, DISCONNECTOR, 4) == 3
    await meter.action(70, DISCONNECTOR, 1, Integer(0))
    assert await meter.get(70, DISCONNECTOR, 2) is False


@pytest.mark.parametrize("suite", [1, 2])
@pytest.mark.parametrize("scheme", SCHEMES)
async def test_get_set_action_in_general_ciphering_on_the_wire(
    suite: int, scheme: KeyAgreementName
) -> None:
    setup = Setup(suite, scheme)
    async with setup.simulator() as sim:
        port = int(sim.urls[0].rsplit(":", 1)[1])
        title = sim.meter_system_title(0)
        async with Tap(port) as tap:
            url = f"tcp://127.0.0.1:{tap.port}"
            async with asyncio.timeout(30):
                settings = setup.client(title)
                async with connect(url, client=MANAGEMENT, server=1, settings=settings) as meter:
                    await exercise(meter)
    assert not setup.meter_errors
    aarq, aare = tap.sent[0][1], tap.sent[1][1]
    assert aarq[0] == 0x60 and aare[0] == 0x61
    # the InitiateRequest/Response inside, and every xDLMS APDU after: general-ciphering
    xdlms = [(c, user_information(aarq if c else aare)) for c, _ in tap.sent[:2]]
    xdlms += [(c, apdu) for c, apdu in tap.sent[2:] if apdu[0] not in (0x62, 0x63)]
    assert len(xdlms) == 2 + 2 * 5 and all(apdu[0] == 0xDD for _, apdu in xdlms)
    meter_agreement = setup.meter_key(KeyUsage.KEY_AGREEMENT)
    meter_signing = setup.meter_key(KeyUsage.DIGITAL_SIGNATURE)
    plain = []
    for from_client, apdu in xdlms:
        parsed = parse(apdu)
        assert parsed.key_parameters == (1 if scheme == "ephemeral-static" else 2)
        if from_client:
            assert (parsed.originator, parsed.recipient) == (CLIENT, title)
            keys = (meter_agreement, setup.agreement.public_key(), setup.signing.public_key())
        else:
            assert (parsed.originator, parsed.recipient) == (title, CLIENT)
            keys = (setup.agreement, meter_agreement.public_key(), meter_signing.public_key())
        plain.append(independent_decipher(apdu, suite, *keys))
    assert plain[0][0] == 0x01 and plain[1][0] == 0x08  # InitiateRequest, InitiateResponse
    assert plain[2][:2] == b"\xc0\x01" and plain[2][3:] == bytes.fromhex("000100002a0000ff0200")
    assert plain[3][:2] == b"\xc4\x01" and plain[3].endswith(b"\x09\x10ADS0000010000000")
    assert [p[0] for p in plain[4:]] == [0xC1, 0xC5, 0xC0, 0xC4, 0xC3, 0xC7, 0xC0, 0xC4]
    # a fresh key and transaction-id for each APDU; an ephemeral key never reused
    transactions = [parse(apdu).transaction_id for from_client, apdu in xdlms if from_client]
    assert transactions == sorted(set(transactions))
    if scheme == "ephemeral-static":
        ephemeral = [parse(apdu).key_ciphered_data for _, apdu in xdlms]
        assert len(set(ephemeral)) == len(ephemeral)


@pytest.mark.parametrize("suite", [1, 2])
@pytest.mark.parametrize("scheme", SCHEMES)
async def test_get_set_action_over_hdlc(suite: int, scheme: KeyAgreementName) -> None:
    setup = Setup(suite, scheme)
    async with setup.simulator("hdlc") as sim:
        title = sim.meter_system_title(0)
        async with asyncio.timeout(30):
            settings = setup.client(title)
            async with sim.connect(0, client=MANAGEMENT, settings=settings) as meter:
                await exercise(meter)
    assert not setup.meter_errors


# -- refusals, both ways ----------------------------------------------------------------------

GET_NAME = bytes.fromhex("c001c1000100002a0000ff0200")


def flip_ciphertext(apdu: bytes) -> bytes:
    return apdu[:-20] + bytes((apdu[-20] ^ 0x01,)) + apdu[-19:]


def flip_signature(apdu: bytes) -> bytes:
    sent = GeneralCiphering.decode(apdu)
    info = sent.key_info
    assert isinstance(info, AgreedKey) and info.key_ciphered_data
    data = info.key_ciphered_data
    forged = AgreedKey(info.key_parameters, data[:-1] + bytes((data[-1] ^ 0x01,)))
    return GeneralCiphering(sent.header, forged, sent.ciphered_content).encode()


ATTACKS = [
    ("tamper", "ephemeral-static", AuthenticationTagError),
    ("tamper", "static-unified", AuthenticationTagError),
    ("signature", "ephemeral-static", SignatureError),
    ("replay", "ephemeral-static", ReplayError),
    ("replay", "static-unified", ReplayError),
    ("plain", "ephemeral-static", SecurityPolicyError),
    ("plain", "static-unified", SecurityPolicyError),
]


@pytest.mark.parametrize("to_meter", [True, False], ids=["to-meter", "to-client"])
@pytest.mark.parametrize(("attack", "scheme", "error"), ATTACKS)
async def test_an_apdu_changed_on_the_wire_is_refused(
    to_meter: bool, attack: str, scheme: KeyAgreementName, error: type[DlmsError]
) -> None:
    """The second request (or its answer) is tampered with, has its ephemeral key's signature
    forged, comes again after the first, or comes plain: refused with its own error."""
    setup = Setup(1, scheme)
    first: dict[bool, bytes] = {}

    def mutate(from_client: bool, index: int, apdu: bytes) -> list[bytes]:
        if index == 1:
            first[from_client] = apdu
        if from_client != to_meter or index != 2:
            return [apdu]
        if attack == "tamper":
            return [flip_ciphertext(apdu)]
        if attack == "signature":
            return [flip_signature(apdu)]
        if attack == "replay":  # to the meter: the first request again, then the second
            return [first[True], apdu] if to_meter else [first[False]]
        return [GET_NAME if to_meter else bytes.fromhex("c401c10009") + b"\x10ADS0000010000000"]

    async with setup.simulator() as sim:
        port = int(sim.urls[0].rsplit(":", 1)[1])
        settings = setup.client(sim.meter_system_title(0))
        async with Tap(port, mutate) as tap, asyncio.timeout(30):
            url = f"tcp://127.0.0.1:{tap.port}"
            async with connect(url, client=MANAGEMENT, server=1, settings=settings) as meter:
                assert await meter.get(1, NAME, 2) == b"ADS0000010000000"
                if to_meter and attack == "replay":  # dropped, the second answered
                    assert await meter.get(1, NAME, 2) == b"ADS0000010000000"
                elif to_meter:  # the meter answers an exception-response (plain)
                    with pytest.raises(DlmsError):
                        await meter.get(1, NAME, 2)
                else:
                    with pytest.raises(error):
                        await meter.get(1, NAME, 2)
    if to_meter:
        assert [type(exc) for exc in setup.meter_errors] == [error]
    else:
        assert not setup.meter_errors


@pytest.mark.parametrize("scheme", SCHEMES)
async def test_a_client_with_a_wrong_meter_key_is_not_associated(scheme: KeyAgreementName) -> None:
    setup = Setup(2, scheme)
    wrong = generate_private_key(2).public_key()  # not the meter's key agreement key
    async with setup.simulator() as sim, asyncio.timeout(30):
        settings = setup.client(sim.meter_system_title(0), peer_key_agreement_key=wrong)
        with pytest.raises(AssociationError):
            async with sim.connect(0, client=MANAGEMENT, settings=settings):
                pass
    assert [type(exc) for exc in setup.meter_errors] == [AuthenticationTagError]


async def test_a_client_signing_with_another_key_is_not_associated() -> None:
    setup = Setup(1, "ephemeral-static")
    impostor = generate_private_key(1)  # signs its ephemeral keys; the meter knows another
    async with setup.simulator() as sim, asyncio.timeout(30):
        settings = setup.client(sim.meter_system_title(0), signing_key=impostor)
        with pytest.raises(AssociationError):
            async with sim.connect(0, client=MANAGEMENT, settings=settings):
                pass
    assert [type(exc) for exc in setup.meter_errors] == [SignatureError]


@pytest.mark.parametrize("wrong", ["meter signing key", "client key agreement key"])
async def test_a_meter_with_other_keys_is_refused_by_the_client(wrong: str) -> None:
    """Ephemeral-static: the AARE does not check out with the keys the client holds (the
    meter's ephemeral key signed by another key, or the AARE ciphered for another client key
    agreement key); static-unified keys fail at the meter already (the test above)."""
    setup = Setup(1, "ephemeral-static")
    other = generate_private_key(1)
    async with setup.simulator() as sim, asyncio.timeout(30):
        title = sim.meter_system_title(0)
        if wrong == "meter signing key":
            settings = setup.client(title, peer_signing_key=other.public_key())
        else:  # the meter files another key agreement key for us
            store = setup.keys.meter(0, title).store
            store.add_public_key(CLIENT, other.public_key(), KeyUsage.KEY_AGREEMENT)
            settings = setup.client(title)
        with pytest.raises(AssociationError) as raised:
            async with sim.connect(0, client=MANAGEMENT, settings=settings):
                pass
    expected = SignatureError if wrong == "meter signing key" else AuthenticationTagError
    refusal = raised.value.__cause__ or raised.value  # a tag error is an AuthenticationError
    assert isinstance(refusal, expected), repr(raised.value)
    assert not setup.meter_errors


@pytest.mark.parametrize("foreign_ca", [False, True])
async def test_the_meter_takes_the_client_keys_from_its_certificates(foreign_ca: bool) -> None:
    """Client certificates (signing and key agreement, CA-signed) instead of bare keys; a key
    agreement certificate from a CA the meters do not trust is refused."""
    setup = Setup(1, "static-unified")
    ca = SimulatedSecurity(1)
    issuer_key = generate_private_key(1) if foreign_ca else ca.ca_key
    certificates = [
        make_certificate(setup.signing.public_key(), issuer_key=ca.ca_key,
                         issuer=ca.ca_certificate, system_title=CLIENT),
        make_certificate(setup.agreement.public_key(), issuer_key=issuer_key,
                         issuer=ca.ca_certificate, system_title=CLIENT,
                         usage=KeyUsage.KEY_AGREEMENT),
    ]  # fmt: skip
    setup.keys = SimulatedSecurity(1, client_certificates=certificates)
    title = b"ADS" + (10_000_000).to_bytes(5, "big")  # meter 0's
    if foreign_ca:
        with pytest.raises(CertificateError, match=r"not signed|issuer|CA"):
            setup.keys.meter(0, title)
        return
    store = setup.keys.meter(0, title).store
    assert store.certificate(CLIENT, 1, KeyUsage.DIGITAL_SIGNATURE) is certificates[0]
    assert store.certificate(CLIENT, 1, KeyUsage.KEY_AGREEMENT) is certificates[1]
    async with setup.simulator() as sim, asyncio.timeout(30):
        assert sim.meter_system_title(0) == title
        settings = setup.client(title)
        async with sim.connect(0, client=MANAGEMENT, settings=settings) as meter:
            assert await meter.get(1, NAME, 2) == b"ADS0000010000000"
    assert not setup.meter_errors
