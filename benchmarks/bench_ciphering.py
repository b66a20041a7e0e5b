"""A ciphered GET request/response cycle (security suite 0, authenticated encryption), both
roles in process, asyncdlms against gurux-dlms.

One cycle: the client protects a get-request (glo-get-request), the server unprotects it,
protects the get-response (glo-get-response), the client unprotects it — four AES-GCM
operations with tag checks and counter bookkeeping. gurux-dlms does the same with its
GXDLMSChippering encryptAesGcm / decryptAesGcm (pure-Python AES).

A second figure runs the same GET through the whole stack, our ClientSession and
ServerSession over the wrapper in memory (encode, cipher, frame, split, decipher, decode,
serve), ciphered and plain, to show what ciphering adds to a real request.

    python benchmarks/bench_ciphering.py
"""

from __future__ import annotations

from harness import best_time, report

from asyncdlms.security import Secret, SecurityContext, SecurityPolicy

BLOCK_CIPHER_KEY = bytes(range(16))
AUTHENTICATION_KEY = bytes(range(0xD0, 0xE0))
CLIENT_TITLE = bytes.fromhex("4D4D4D0000000001")
SERVER_TITLE = bytes.fromhex("4D4D4D0000BC614E")
GET_REQUEST = bytes.fromhex("C001C100030100010800FF0200")  # register 1.0.1.8.0.255, value
GET_RESPONSE = bytes.fromhex("C401C1000600BC614E")  # double-long-unsigned 12345678
CYCLES = 2000
GURUX_CYCLES = 50


def ours(cycles: int) -> None:
    """``cycles`` request/response cycles through two SecurityContexts."""
    client = SecurityContext(
        system_title=CLIENT_TITLE,
        peer_system_title=SERVER_TITLE,
        block_cipher_key=Secret(BLOCK_CIPHER_KEY),
        authentication_key=Secret(AUTHENTICATION_KEY),
        policy=SecurityPolicy.AUTHENTICATED_ENCRYPTION,
    )
    server = SecurityContext(
        system_title=SERVER_TITLE,
        peer_system_title=CLIENT_TITLE,
        block_cipher_key=Secret(BLOCK_CIPHER_KEY),
        authentication_key=Secret(AUTHENTICATION_KEY),
        policy=SecurityPolicy.AUTHENTICATED_ENCRYPTION,
    )
    for _ in range(cycles):
        request = server.unprotect(client.protect(GET_REQUEST))
        response = client.unprotect(server.protect(GET_RESPONSE))
    assert request == GET_REQUEST and response == GET_RESPONSE


def session_pair(ciphered: bool) -> tuple[object, object, object]:
    """An associated (ClientSession, ServerSession, descriptor) pair over the wrapper."""
    from asyncdlms.apdu.acse import MechanismName
    from asyncdlms.apdu.descriptors import CosemAttributeDescriptor
    from asyncdlms.obis import Obis
    from asyncdlms.session.client import ClientSession
    from asyncdlms.session.object_access import ObjectTable
    from asyncdlms.session.server import (
        AssociationPolicy,
        ServerSecurity,
        ServerSession,
        ServerSettings,
    )
    from asyncdlms.session.settings import ClientSecurity, ClientSettings
    from asyncdlms.types.values import DoubleLongUnsigned
    from asyncdlms.wrapper import WrapperConnection

    register = Obis("1.0.1.8.0.255")
    objects = ObjectTable()
    objects.add(3, register, {2: DoubleLongUnsigned(12345678)})
    if ciphered:
        policy = AssociationPolicy(
            MechanismName.HIGH_GMAC,
            security=ServerSecurity(Secret(BLOCK_CIPHER_KEY), Secret(AUTHENTICATION_KEY)),
        )
        client_settings = ClientSettings(
            mechanism=MechanismName.HIGH_GMAC,
            security=ClientSecurity(
                CLIENT_TITLE, Secret(BLOCK_CIPHER_KEY), Secret(AUTHENTICATION_KEY)
            ),
        )
    else:
        policy = AssociationPolicy()
        client_settings = ClientSettings()
    server = ServerSession(
        WrapperConnection(1, None, role="server"),
        ServerSettings(policies={16: policy}, system_title=SERVER_TITLE),
        objects,
    )
    client = ClientSession(WrapperConnection(16, 1), client_settings)
    client.associate(0.0)
    for _ in range(10):
        server.receive_data(client.data_to_send(), 0.0)
        client.receive_data(server.data_to_send(), 0.0)
    assert client.associated
    return client, server, CosemAttributeDescriptor(3, register, 2)


def sessions(ciphered: bool) -> object:
    """``cycles`` GETs through the whole stack, ciphered or plain."""
    client, server, descriptor = session_pair(ciphered)

    def run(cycles: int) -> None:
        for _ in range(cycles):
            client.get(descriptor)  # type: ignore[attr-defined]
            server.receive_data(client.data_to_send(), 0.0)  # type: ignore[attr-defined]
            client.receive_data(server.data_to_send(), 0.0)  # type: ignore[attr-defined]
        events = client.events()  # type: ignore[attr-defined]
        assert events[-1].result == 12345678

    return run


def gurux_cycle_function() -> object | None:
    """gurux-dlms's equivalent, or None when gurux-dlms is not installed."""
    try:
        from gurux_dlms import GXByteBuffer, GXDLMSSettings  # type: ignore[import-untyped]
        from gurux_dlms.AesGcmParameter import AesGcmParameter  # type: ignore[import-untyped]
        from gurux_dlms.enums import Command, Security  # type: ignore[import-untyped]
        from gurux_dlms.GXCiphering import GXCiphering  # type: ignore[import-untyped]
        from gurux_dlms.GXDLMSChippering import (  # type: ignore[import-untyped]
            GXDLMSChippering,
        )
    except ImportError:
        return None

    def settings(own_title: bytes) -> object:
        result = GXDLMSSettings(False, None)
        result.cipher = GXCiphering(own_title)
        result.cipher.security = Security.AUTHENTICATION_ENCRYPTION
        result.cipher.blockCipherKey = BLOCK_CIPHER_KEY
        result.cipher.authenticationKey = AUTHENTICATION_KEY
        return result

    client_settings = settings(CLIENT_TITLE)
    server_settings = settings(SERVER_TITLE)
    counters = {"client": 1, "server": 1}

    def protect(tag: int, title: bytes, who: str, plain: bytes) -> bytes:
        parameter = AesGcmParameter(tag, title, BLOCK_CIPHER_KEY, AUTHENTICATION_KEY)
        parameter.security = Security.AUTHENTICATION_ENCRYPTION
        parameter.invocationCounter = counters[who]
        counters[who] += 1
        return bytes(GXDLMSChippering.encryptAesGcm(parameter, plain))

    def unprotect(settings_: object, title: bytes, apdu: bytes) -> bytes:
        parameter = AesGcmParameter(0, title, BLOCK_CIPHER_KEY, AUTHENTICATION_KEY)
        parameter.settings = settings_
        return bytes(GXDLMSChippering.decryptAesGcm(settings_, parameter, GXByteBuffer(apdu)))

    def cycle(cycles: int) -> None:
        for _ in range(cycles):
            request = unprotect(
                server_settings,
                CLIENT_TITLE,
                protect(Command.GLO_GET_REQUEST, CLIENT_TITLE, "client", GET_REQUEST),
            )
            response = unprotect(
                client_settings,
                SERVER_TITLE,
                protect(Command.GLO_GET_RESPONSE, SERVER_TITLE, "server", GET_RESPONSE),
            )
        assert request == GET_REQUEST and response == GET_RESPONSE

    return cycle


def main() -> None:
    import contextlib
    import io

    ours_time = best_time(lambda: ours(CYCLES), repeat=7) / CYCLES
    cycle = gurux_cycle_function()
    theirs = None
    if cycle is not None:
        with contextlib.redirect_stdout(io.StringIO()):  # gurux prints on every decryption
            assert callable(cycle)
            theirs = best_time(lambda: cycle(GURUX_CYCLES), repeat=3) / GURUX_CYCLES
    print(
        "ciphered GET cycle (authenticated encryption): protect request, unprotect request, "
        "protect response, unprotect response"
    )
    report("one request/response cycle", ours_time, theirs, 1, "cycles")
    for ciphered in (True, False):
        run = sessions(ciphered)
        assert callable(run)
        whole = best_time(lambda run=run: run(CYCLES // 4), repeat=5) / (CYCLES // 4)
        title = "whole stack GET, " + ("ciphered (ae, HLS-GMAC)" if ciphered else "plain")
        report(title, whole, None, 1, "cycles")


if __name__ == "__main__":
    main()
