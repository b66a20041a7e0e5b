"""gurux-dlms's client with HLS-ECDSA (Authentication.HIGH_ECDSA, its own pure-Python ECDSA,
GXEcdsa) against our simulator over a loopback socket: security suite 1 with and without
ciphering, wrapper and HDLC; a gurux client signing with a key the meter does not know is
refused. gurux signs ``SysT-C || SysT-S || StoC || CtoS`` and verifies ``SysT-S || SysT-C ||
CtoS || StoC`` (GXDLMSClient.getApplicationAssociationRequest /
parseApplicationAssociationResponse), the concatenations we use.

Suite 2 does not interoperate, because of gurux-dlms 1.0.203 itself, before any byte is sent:
``GXEcdsa.sign`` and ``GXEcdsa.verify`` choose the hash with ``scheme == Ecc.P256`` twice
(SHA-256, then "SHA-384" under the same test), so a P-384 key falls through to
``ValueError("Invalid private key scheme.")``; and ``GXPublicKey.fromRawBytes`` of a 96-byte
``X || Y`` keeps only 95 of its bytes (``key[0:95]``). The last test pins that failure: when
it starts failing, gurux was fixed and suite 2 should join the cases here.

gurux-dlms is only a test dependency (GPL); nothing of it is used by the package.
"""

from __future__ import annotations

from typing import Any

import pytest

from asyncdlms.security.certificates import make_certificate
from asyncdlms.security.suites import private_key_to_bytes, public_key_to_bytes
from asyncdlms.server import Simulator
from asyncdlms.server.security_setup import SimulatedSecurity
from asyncdlms.session.server import AssociationPolicy
from asyncdlms.session.settings import security_policy
from tests.security.pki import key

gurux_dlms = pytest.importorskip("gurux_dlms")
from gurux_dlms import GXDLMSClient  # type: ignore[import-untyped]  # noqa: E402
from gurux_dlms.ecdsa import GXPrivateKey, GXPublicKey  # type: ignore[import-untyped]  # noqa: E402
from gurux_dlms.enums import Authentication, InterfaceType, Security  # type: ignore[import-untyped]  # noqa: E402
from gurux_dlms.GXCiphering import GXCiphering  # type: ignore[import-untyped]  # noqa: E402
from gurux_dlms.objects import GXDLMSData  # type: ignore[import-untyped]  # noqa: E402
from gurux_dlms.objects.enums import SecuritySuite  # type: ignore[import-untyped]  # noqa: E402

from .test_gurux_client_vs_simulator import SocketConversation  # noqa: E402

GURUX_TITLE = b"GRX00001"
GURUX_SECURITY = {
    "none": Security.NONE,
    "auth": Security.AUTHENTICATION,
    "enc": Security.ENCRYPTION,
    "ae": Security.AUTHENTICATION_ENCRYPTION,
}


def _simulator(
    suite: int, policy: str, interface: str, client_key: Any
) -> tuple[Simulator, bytes, bytes]:
    size = 32 if suite == 2 else 16
    ek, ak = bytes(range(size)), bytes(range(64, 64 + size))
    ca = SimulatedSecurity(suite)
    certificate = make_certificate(
        client_key.public_key(),
        issuer_key=ca.ca_key,
        issuer=ca.ca_certificate,
        system_title=GURUX_TITLE,
    )
    keys = SimulatedSecurity(suite, client_certificates=[certificate])
    associations = {
        16: AssociationPolicy(),
        18: keys.ecdsa_policy(ek, ak, security_policy(policy)),
    }
    simulator = Simulator(
        interface=interface,  # type: ignore[arg-type]
        associations=associations,
        security_keys=keys,
    )
    return simulator, ek, ak


def _gurux_client(
    suite: int, policy: str, interface: str, ek: bytes, ak: bytes, signing_key: Any, meter_key: Any
) -> Any:
    client = GXDLMSClient(
        True,
        18,
        1,
        Authentication.HIGH_ECDSA,
        None,
        InterfaceType.HDLC if interface == "hdlc" else InterfaceType.WRAPPER,
    )
    cipher = GXCiphering(GURUX_TITLE)
    cipher.securitySuite = SecuritySuite(suite)
    cipher.security = GURUX_SECURITY[policy]
    cipher.blockCipherKey = ek
    cipher.authenticationKey = ak
    # (the meter's public key, our private key); 0x04 || X || Y, gurux's own raw form
    cipher.signingKeyPair = (
        GXPublicKey.fromRawBytes(b"\x04" + public_key_to_bytes(meter_key)),
        GXPrivateKey.fromRawBytes(private_key_to_bytes(signing_key)),
    )
    client.settings.cipher = cipher
    return client


@pytest.mark.parametrize("interface", ["wrapper", "hdlc"])
@pytest.mark.parametrize("policy", ["none", "auth", "ae"])
async def test_gurux_hls_ecdsa_suite_1_against_the_simulator(
    policy: str, interface: str, capsys: pytest.CaptureFixture[str]
) -> None:
    client_key = key(1)
    simulator, ek, ak = _simulator(1, policy, interface, client_key)
    async with simulator as sim:
        meter_key = sim.meter_certificate(0).public_key()
        client = _gurux_client(1, policy, interface, ek, ak, client_key, meter_key)
        talk = SocketConversation(interface, 18, 1, 0xFFFF, client=client)
        await talk.connect(sim.urls[0])
        await talk.open()  # pass 3 signed by gurux, pass 4 verified by gurux
        name = await talk.read(GXDLMSData("0.0.42.0.0.255"), 2)
        assert bytes(name.value) == b"ADS" + f"{sim.meters[0].serial_number:013d}".encode()
        await talk.close()
        assert sim.associations_established == 1
    capsys.readouterr()  # gurux prints its private signing key on stdout: not kept


async def test_a_gurux_client_with_an_unknown_key_is_refused(
    capsys: pytest.CaptureFixture[str],
) -> None:
    registered = key(1)
    simulator, ek, ak = _simulator(1, "none", "wrapper", registered)
    async with simulator as sim:
        meter_key = sim.meter_certificate(0).public_key()
        impostor = _gurux_client(1, "none", "wrapper", ek, ak, key(1), meter_key)
        talk = SocketConversation("wrapper", 18, 1, 0xFFFF, client=impostor)
        await talk.connect(sim.urls[0])
        reply = await talk.exchange(impostor.aarqRequest())
        impostor.parseAareResponse(reply.data)
        # pass 3 by hand: the meter answers the action with read-write-denied (3)
        from gurux_dlms import GXReplyData  # type: ignore[import-untyped]

        assert talk.writer is not None
        talk.writer.write(bytes(impostor.getApplicationAssociationRequest()[0]))
        answer = GXReplyData()
        await talk._receive(answer)
        assert answer.error == 3
        assert sim.associations_established == 0
    capsys.readouterr()


def test_gurux_cannot_sign_with_p384_so_suite_2_cannot_interoperate(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from gurux_dlms.ecdsa import GXEcdsa  # type: ignore[import-untyped]

    p384 = key(2)
    with pytest.raises(ValueError, match="Invalid private key scheme"):
        GXEcdsa(GXPrivateKey.fromRawBytes(private_key_to_bytes(p384))).sign(b"SysT-C...")
    raw = public_key_to_bytes(p384)
    assert len(GXPublicKey.fromRawBytes(raw).rawValue) != len(raw) + 1  # X || Y truncated
    capsys.readouterr()
