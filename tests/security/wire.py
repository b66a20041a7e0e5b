"""A tap on the wire: a loopback TCP proxy that records the invocation counter of every
ciphered APDU that crosses it, read from the bytes themselves (wrapper frames, BER of the
ACSE APDUs, the security header; HLS-GMAC pass 3/4 deciphered with ``cryptography``, not with
asyncdlms), so that tests check nonce uniqueness where it matters: on the wire."""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

# xDLMS tags protected with a global key / a dedicated key (Green Book, suite 0); the general
# forms carry the sender's system title themselves
GLOBAL_TAGS = frozenset(
    {0x21, 0x25, 0x26, 0x28, 0x2C, 0x2D, 0x2E, 0x36, 0x38,
     0xC8, 0xC9, 0xCA, 0xCB, 0xCC, 0xCD, 0xCF}
)  # fmt: skip
DEDICATED_TAGS = frozenset({0xD0, 0xD1, 0xD2, 0xD3, 0xD4, 0xD5, 0xD7})
GENERAL_GLO, GENERAL_DED = 0xDB, 0xDC
ACSE_TAGS = frozenset({0x60, 0x61, 0x62, 0x63})  # AARQ, AARE, RLRQ, RLRE
PLAIN_TAGS = frozenset({0xC0, 0xC1, 0xC3, 0xC4, 0xC5, 0xC7, 0xD8, 0x0E, 0x0F})


@dataclass(frozen=True)
class Nonce:
    """One use of a nonce seen on the wire: sender system title, key, invocation counter."""

    system_title: bytes
    key: str  # "global", "broadcast" or "dedicated#<connection>"
    invocation_counter: int
    what: str  # the APDU or step it protected
    #: the meter's wrapper port (the destination of a client's APDU, the source of a meter's)
    meter_port: int = 0


def ber_length(data: bytes, pos: int) -> tuple[int, int]:
    first = data[pos]
    if first < 0x80:
        return first, pos + 1
    count = first & 0x7F
    return int.from_bytes(data[pos + 1 : pos + 1 + count], "big"), pos + 1 + count


def ber_elements(data: bytes) -> dict[int, bytes]:
    """The top-level BER elements inside an ACSE APDU's contents."""
    out: dict[int, bytes] = {}
    pos = 0
    while pos < len(data):
        tag = data[pos]
        size, start = ber_length(data, pos + 1)
        out[tag] = data[start : start + size]
        pos = start + size
    return out


def _gcm_plaintext(key: bytes, iv: bytes, security_control: int, body: bytes,
                   authentication_key: bytes) -> bytes:  # fmt: skip
    """The plaintext of a suite 0 body: ``ciphertext ‖ tag12`` (SC 0x30, verified),
    ``ciphertext`` (0x20: GCM's counter mode from IV ‖ 2) or ``plaintext ‖ tag12`` (0x10)."""
    if security_control & 0x30 == 0x10:
        return body[:-12]
    if security_control & 0x30 == 0x20:
        counter_mode = Cipher(algorithms.AES(key), modes.CTR(iv + b"\x00\x00\x00\x02"))
        return counter_mode.decryptor().update(body)
    gcm = modes.GCM(iv, body[-12:], min_tag_length=12)
    decryptor = Cipher(algorithms.AES(key), gcm).decryptor()
    decryptor.authenticate_additional_data(bytes((security_control,)) + authentication_key)
    return decryptor.update(body[:-12]) + decryptor.finalize()


@dataclass
class _Connection:
    number: int
    client_title: bytes | None = None
    server_title: bytes | None = None


@dataclass
class WireTap:
    """Forward ``127.0.0.1:<port>`` to ``upstream`` and record every nonce both ways.

    Keys of 16 or 32 bytes (suites 0/1 and 2, AES-GCM-128/256).

    ``block_cipher_key``/``authentication_key`` let it look inside ciphered APDUs for the
    HLS-GMAC pass 3/4 values (which use the same nonce space).
    """

    upstream_host: str
    upstream_port: int
    block_cipher_key: bytes
    authentication_key: bytes
    client: list[Nonce] = field(default_factory=list)
    meter: list[Nonce] = field(default_factory=list)
    unknown: list[bytes] = field(default_factory=list)
    #: (security control, plaintext) of every APDU ciphered with the global unicast key,
    #: deciphered here with ``cryptography`` (AES-128 or AES-256 by the key's length; the
    #: tag is verified for authenticated encryption)
    deciphered: list[tuple[int, bytes]] = field(default_factory=list)
    port: int = 0
    _server: asyncio.Server | None = None
    _numbers: itertools.count[int] = field(default_factory=itertools.count)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _writers: set[asyncio.StreamWriter] = field(default_factory=set)

    async def __aenter__(self) -> WireTap:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):  # the pumps end by themselves, nothing cancelled
            writer.close()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    @property
    def url(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"

    def repeated(self) -> dict[tuple[bytes, str, int], int]:
        """(title, key, counter) used more than once, in either direction."""
        counts = Counter(
            (nonce.system_title, nonce.key, nonce.invocation_counter)
            for nonce in self.client + self.meter
        )
        return {triple: count for triple, count in counts.items() if count > 1}

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        connection = _Connection(next(self._numbers))
        try:
            up_reader, up_writer = await asyncio.open_connection(
                self.upstream_host, self.upstream_port
            )
        except OSError:
            writer.close()
            return
        self._writers.update((writer, up_writer))
        try:
            await asyncio.gather(
                self._pump(reader, up_writer, connection, from_client=True),
                self._pump(up_reader, writer, connection, from_client=False),
            )
        finally:
            self._tasks.discard(task)
            for each in (writer, up_writer):
                each.close()
                self._writers.discard(each)

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                    connection: _Connection, *, from_client: bool) -> None:  # fmt: skip
        buffer = b""
        try:
            while chunk := await reader.read(65536):
                buffer += chunk
                while len(buffer) >= 8:
                    size = int.from_bytes(buffer[6:8], "big")
                    if len(buffer) < 8 + size:
                        break
                    port = int.from_bytes(buffer[4:6] if from_client else buffer[2:4], "big")
                    self._record(buffer[8 : 8 + size], connection, from_client, port)
                    buffer = buffer[8 + size :]
                writer.write(chunk)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    # -- parsing ----------------------------------------------------------------------------

    def _record(
        self, apdu: bytes, connection: _Connection, from_client: bool, port: int = 0
    ) -> None:
        if not apdu:
            return
        tag = apdu[0]
        if tag in ACSE_TAGS:
            size, start = ber_length(apdu, 1)
            elements = ber_elements(apdu[start : start + size])
            if tag == 0x60 and 0xA6 in elements:  # AARQ calling-AP-title
                connection.client_title = elements[0xA6][2:10]
            if tag == 0x61 and 0xA4 in elements:  # AARE responding-AP-title
                connection.server_title = elements[0xA4][2:10]
            information = elements.get(0xBE)
            if information:  # [30] user-information: 04 len <xDLMS APDU>
                inner_size, inner = ber_length(information, 1)
                self._record(information[inner : inner + inner_size], connection, from_client, port)
            return
        title = connection.client_title if from_client else connection.server_title
        nonces = self.client if from_client else self.meter
        if tag in PLAIN_TAGS:
            if title is not None:  # HLS-GMAC without ciphered APDUs
                self._pass_3_or_4(apdu, title, nonces, port)
            return
        if tag in (GENERAL_GLO, GENERAL_DED):
            title = apdu[2 : 2 + apdu[1]]
            size, start = ber_length(apdu, 2 + apdu[1])
        elif tag in GLOBAL_TAGS or tag in DEDICATED_TAGS:
            size, start = ber_length(apdu, 1)
        else:
            self.unknown.append(apdu)
            return
        assert title is not None, f"ciphered APDU 0x{tag:02x} before the system title was seen"
        security_control = apdu[start]
        counter = int.from_bytes(apdu[start + 1 : start + 5], "big")
        dedicated = tag in DEDICATED_TAGS or tag == GENERAL_DED
        key = (
            f"dedicated#{connection.number}"
            if dedicated
            else ("broadcast" if security_control & 0x40 else "global")
        )
        nonces.append(Nonce(title, key, counter, f"0x{tag:02x}", port))
        if dedicated or security_control & 0x40:
            return
        # HLS-GMAC pass 3 (action-request) and pass 4 (action-response) carry SC ‖ IC ‖ GMAC
        # under the global unicast key: the same nonce space
        body = apdu[start + 5 : start + size]
        plain = _gcm_plaintext(
            self.block_cipher_key, title + apdu[start + 1 : start + 5], security_control, body,
            self.authentication_key,
        )  # fmt: skip
        self.deciphered.append((security_control, plain))
        self._pass_3_or_4(plain, title, nonces, port)

    @staticmethod
    def _pass_3_or_4(plain: bytes, title: bytes, nonces: list[Nonce], port: int = 0) -> None:
        # the octet-string(17) ends the APDU: its header sits 19 bytes before the end (a
        # search for 09 11 could hit the tag's own bytes)
        if plain[:1] in (b"\xc3", b"\xc7") and plain[-19:-17] == b"\x09\x11":
            value = plain[-17:]
            if value[0] & 0x0F == 0:  # a security control byte of suite 0
                nonces.append(
                    Nonce(title, "global", int.from_bytes(value[1:5], "big"), "hls-gmac", port)
                )
