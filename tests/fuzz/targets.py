"""One fuzz target per decoder that takes wire bytes.

A target is a function of one ``bytes`` input that returns normally or raises an
:class:`asyncdlms.errors.DlmsError`; anything else (another exception, a hang, an allocation
out of proportion to the input) is a finding (see :mod:`tests.fuzz.harness`). Each target also
names the vector layers and capture kinds that seed it (read at run time from ../shared, never
copied into the repository).
"""

from __future__ import annotations

import argparse
import contextlib
import io
from collections.abc import Callable
from dataclasses import dataclass

from asyncdlms import axdr
from asyncdlms.apdu import ber, decode_apdu
from asyncdlms.apdu.acse import Aare, Aarq
from asyncdlms.cli.decode import add_decode_command
from asyncdlms.cosem.profile import (
    CLOCK_CAPTURE_OBJECT,
    CaptureObject,
    SortMethod,
    parse_buffer,
)
from asyncdlms.errors import DlmsError
from asyncdlms.hdlc import FrameSplitter
from asyncdlms.hdlc.crc import check_bytes
from asyncdlms.hdlc.frames import decode_frame, strip_llc_header
from asyncdlms.iec62056_21 import ModeEOpener, ModeEResponder
from asyncdlms.obis import Obis
from asyncdlms.security.ciphering import CipheredApdu, SecurityContext
from asyncdlms.types.values import CompactArray
from asyncdlms.wrapper.frames import WrapperSplitter, decode_datagram

from .security_targets import ACCESS_SEEDS, fuzz_access, fuzz_general, general_seeds


@dataclass(frozen=True)
class Target:
    """A fuzz target: its function and what seeds it."""

    name: str
    run: Callable[[bytes], object]
    seed_layers: tuple[str, ...]  # "layer" of /work/shared/vectors entries
    seed_kinds: tuple[str, ...] = ()  # "kind" of ../shared/captures/han-pushes.json cases
    description: str = ""
    #: the target reads its first byte as a parameter (mode, cut position): seeds get each
    #: of these prefixed
    prefixes: tuple[bytes, ...] = ()
    #: seed with the APDUs inside HDLC/wrapper frames of the vectors and captures too
    apdus_from_frames: bool = False
    #: seeds written here, not read from ../shared
    builtin_seeds: tuple[bytes, ...] = ()


def _split(data: bytes) -> tuple[int, bytes]:
    """The first byte as a parameter of the target, the rest as its input."""
    return (data[0], data[1:]) if data else (0, b"")


def fuzz_axdr(data: bytes) -> object:
    value = axdr.decode(data)
    # what decodes must encode and decode to the same bytes' worth of value
    axdr.describe(value)
    return value


def _frame_with_valid_checks(content: bytes) -> bytes:
    """A frame around ``content`` (addresses, control, information) with the format, length,
    HCS and FCS filled in, so that the fuzzer gets past the check sequences."""
    position = 0
    for _ in range(2):  # destination and source addresses end with a byte whose bit 0 is 1
        while position < len(content) and not content[position] & 1:
            position += 1
        position += 1
    header = content[: position + 1]
    information = content[position + 1 : position + 1 + 2000]
    length = 2 + len(header) + (len(information) + 2 if information else 0) + 2
    head = bytes((0xA0 | (length >> 8 & 0x07), length & 0xFF)) + header
    if information:
        head += check_bytes(head) + information
    return b"\x7e" + head + check_bytes(head) + b"\x7e"


def fuzz_hdlc_frame(data: bytes) -> object:
    mode, rest = _split(data)
    frame = decode_frame(_frame_with_valid_checks(rest) if mode & 1 else rest)
    if frame.information:
        with contextlib.suppress(DlmsError):
            strip_llc_header(frame.information)
    return frame


def fuzz_hdlc_splitter(data: bytes) -> object:
    mode, rest = _split(data)
    if mode & 0x80:  # one frame with valid check sequences, then the rest as it is
        cut = (mode & 0x7F) * 4
        rest = _frame_with_valid_checks(rest[:cut]) + rest[cut:]
    cut = mode % (len(rest) + 1)
    splitter = FrameSplitter()
    frames = splitter.feed(rest[:cut])
    frames += splitter.feed(rest[cut:])
    if len(rest) <= 300:  # the same bytes one at a time give the same frames
        bytewise = FrameSplitter()
        single = [frame for i in range(len(rest)) for frame in bytewise.feed(rest[i : i + 1])]
        assert [f.encode() for f in single] == [f.encode() for f in frames], "chunking matters"
    return frames


def fuzz_wrapper(data: bytes) -> object:
    cut, rest = _split(data)
    with contextlib.suppress(DlmsError):
        decode_datagram(rest)
    splitter = WrapperSplitter()
    frames = splitter.feed(rest[: cut % (len(rest) + 1)])
    frames += splitter.feed(rest[cut % (len(rest) + 1) :])
    return frames


def fuzz_apdu(data: bytes) -> object:
    return decode_apdu(data)


def fuzz_acse(data: bytes) -> object:
    choice, rest = _split(data)
    if choice & 3 == 0:
        return Aarq.decode(rest)
    if choice & 3 == 1:
        return Aare.decode(rest)
    # raw BER: walk every element, recursing into constructed ones
    elements = []
    stack = [(0, len(rest))]
    while stack and len(elements) < 10_000:
        start, end = stack.pop()
        for element in ber.iterate_elements(rest, start, end):
            elements.append(element)
            if element.constructed:
                stack.append((element.value_start, element.value_end))
    return elements


_CLIENT_TITLE = b"CLI00001"
_SERVER_TITLE = b"SRV00001"
_GUEK = bytes(range(16))
_GAK = bytes(range(16, 32))


def _contexts() -> tuple[SecurityContext, SecurityContext]:
    client = SecurityContext(
        system_title=_CLIENT_TITLE,
        block_cipher_key=_GUEK,
        authentication_key=_GAK,
        peer_system_title=_SERVER_TITLE,
    )
    server = SecurityContext(
        system_title=_SERVER_TITLE,
        block_cipher_key=_GUEK,
        authentication_key=_GAK,
        peer_system_title=_CLIENT_TITLE,
    )
    return client, server


def fuzz_ciphered(data: bytes) -> object:
    """Ciphered headers and deciphering with a known key.

    Mode 0: the input is a received ciphered APDU (header parsing, tag check).
    Mode 1: the input is a plaintext, ciphered with the known key and deciphered: the tag
    passes, so the fuzzer reaches the decoding of what was inside.
    Mode 2: like 1, then one byte of the ciphered APDU flipped: must be refused.
    """
    mode, rest = _split(data)
    client, server = _contexts()
    if mode % 3 == 0:
        with contextlib.suppress(DlmsError):
            CipheredApdu.decode(rest)
        return server.unprotect_apdu(rest)
    try:
        ciphered = client.protect(rest)
    except DlmsError:
        return None
    if mode % 3 == 2 and ciphered:
        position = (mode * 31) % len(ciphered)
        flipped = bytearray(ciphered)
        flipped[position] ^= 0x01 << (mode % 8)
        try:
            received = server.unprotect_apdu(bytes(flipped))
        except DlmsError:
            return None
        # a flipped tag byte may turn it into a plain exception-response (0xD8), which the
        # policy lets through as plain (counter -1): that is not deciphering it
        if received.invocation_counter >= 0:
            raise AssertionError("a ciphered APDU with a flipped bit was deciphered")
        return received
    plain = server.unprotect(ciphered)
    assert plain == rest, "deciphering did not give back the plaintext"
    return decode_apdu(plain)


def fuzz_profile(data: bytes) -> object:
    """A profile buffer as a meter sends it, turned into rows: the first byte picks the sort
    method and null filling, the next four are the capture period (attribute 4)."""
    mode, rest = _split(data)
    period = int.from_bytes(rest[:4], "big")
    buffer = axdr.decode(rest[4:])
    rows = buffer.elements if isinstance(buffer, CompactArray) else buffer
    width = len(rows[0]) if isinstance(rows, tuple) and rows and isinstance(rows[0], tuple) else 1
    registers = [
        CaptureObject(3, Obis(1, 0, 1, 8, index % 256, 255), 2) for index in range(width - 1)
    ]
    columns = (CLOCK_CAPTURE_OBJECT, *registers)
    return parse_buffer(
        buffer,
        columns,
        capture_period=period,
        sort_method=SortMethod.LIFO if mode & 1 else SortMethod.FIFO,
        fill_null_values=bool(mode & 2),
        scaler_units={columns[-1]: (-1, 30)} if width > 1 and mode & 4 else None,
    )


def fuzz_iec62056_21(data: bytes) -> object:
    mode, rest = _split(data)
    if mode & 1:
        responder = ModeEResponder()
        responder.receive_data(rest, 0.0)
        responder.data_to_send()
        return responder.events()
    opener = ModeEOpener()
    opener.start(0.0)
    opener.data_to_send()
    opener.receive_data(rest, 0.1)
    opener.data_to_send()
    return opener.events()


def _decode_parser() -> tuple[argparse.ArgumentParser, tuple[str, ...], set[str]]:
    """The CLI's own parser for ``decode`` (so the target calls the command exactly as the
    command line does, whatever options it has), its ``--as`` kinds and its option names."""
    parser = argparse.ArgumentParser(prog="asyncdlms")
    add_decode_command(parser.add_subparsers(dest="command"))
    subparser = next(
        action.choices["decode"]
        for action in parser._actions
        if isinstance(action, argparse._SubParsersAction)
    )
    kinds: tuple[str, ...] = ()
    options: set[str] = set()
    for action in subparser._actions:
        options.update(action.option_strings)
        if "--as" in action.option_strings and action.choices:
            kinds = tuple(action.choices)
    return parser, kinds, options


_DECODE_PARSER, _DECODE_KINDS, _DECODE_OPTIONS = _decode_parser()


def fuzz_cli_decode(data: bytes) -> object:
    """``asyncdlms decode HEX`` (kind detected, or each ``--as``), with the known keys when
    the command takes keys, so ciphered APDUs get deciphered."""
    mode, rest = _split(data)
    if not rest:
        return None
    argv = ["decode", rest.hex()]
    choice = mode % (len(_DECODE_KINDS) + 1)
    if choice:
        argv += ["--as", _DECODE_KINDS[choice - 1]]
    if "--block-cipher-key" in _DECODE_OPTIONS and mode & 0x80:
        argv += ["--block-cipher-key", _GUEK.hex(), "--auth-key", _GAK.hex()]
    args = _DECODE_PARSER.parse_args(argv)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = args.handler(args)
    assert code in (0, 1), f"decode exited {code}: {err.getvalue()[:200]}"
    return out.getvalue()


_IEC_SEEDS = (
    b"/ISK5\\2MT382-1000\r\n",
    b"\x00junk/KAM5\\2MC\r\n\x06",
    b"/LGZ4ZMF100AC.M23\r\n",
    b"/?!\r\n\x06250\r\n",
    b"/?12345678!\r\n\x06252\r\n",
)

_PUSH_FRAMINGS = ("wrapper", "hdlc", "mbus", "apdu")
_PUSH_KEYS = bytes(range(16)), bytes(range(16, 32))


def fuzz_push(data: bytes) -> object:
    """The push receiver (asyncdlms.listen.PushReceiver): the first byte picks the framing
    (wrapper, HDLC, M-Bus, bare APDUs) and where the input is cut in two; keys for every
    sender, so ciphered pushes get past the key lookup. It never raises: every event must be
    a notification, a rejection with an asyncdlms error, or an ignored APDU."""
    from asyncdlms.listen import MemoryKeyStore, Notification, PushIgnored, PushReceiver
    from asyncdlms.security.counters import MemoryInvocationCounterStore

    mode, body = _split(data)
    framing = _PUSH_FRAMINGS[mode % len(_PUSH_FRAMINGS)]
    receiver = PushReceiver(
        framing,  # type: ignore[arg-type]
        keys=MemoryKeyStore.for_everyone(*_PUSH_KEYS),
        counter_store=MemoryInvocationCounterStore(),
        max_apdu_length=4096,
    )
    cut = (mode >> 2) % (len(body) + 1)
    receiver.receive_data(body[:cut], 0.0, "a")
    receiver.receive_data(body[cut:], 0.0, "a")
    receiver.expire(1e9)
    events = receiver.events()
    for event in events:
        if not isinstance(event, Notification | PushIgnored):
            assert isinstance(event.cause, DlmsError), event
    return events


def fuzz_mbus(data: bytes) -> object:
    """M-Bus long frames (asyncdlms.listen.mbus.MBusSplitter): two chunks and byte by byte
    give the same frames."""
    from asyncdlms.listen.mbus import MBusSplitter

    mode, body = _split(data)
    cut = mode % (len(body) + 1)
    whole = MBusSplitter()
    frames = whole.feed(body[:cut]) + whole.feed(body[cut:])
    bytewise = MBusSplitter()
    single = [frame for i in range(len(body)) for frame in bytewise.feed(body[i : i + 1])]
    assert frames == single, "M-Bus frames depend on the chunking"
    return frames


TARGETS: dict[str, Target] = {
    target.name: target
    for target in (
        Target("axdr", fuzz_axdr, ("axdr",), (), "asyncdlms.axdr.decode, describe"),
        Target(
            "hdlc_frame",
            fuzz_hdlc_frame,
            ("hdlc",),
            ("hdlc-frame",),
            "decode_frame, as given and with valid HCS/FCS filled in",
            prefixes=(b"\x00",),
        ),
        Target(
            "hdlc_splitter",
            fuzz_hdlc_splitter,
            ("hdlc",),
            ("hdlc-frame",),
            "FrameSplitter.feed in two chunks and byte by byte",
            prefixes=(b"\x00", b"\x07", b"\x83"),
        ),
        Target(
            "wrapper",
            fuzz_wrapper,
            ("wrapper",),
            (),
            "decode_datagram, WrapperSplitter.feed in two chunks",
            prefixes=(b"\x00", b"\x05"),
        ),
        Target(
            "apdu",
            fuzz_apdu,
            ("apdu", "axdr"),
            (),
            "decode_apdu (every APDU, ACSE included)",
            apdus_from_frames=True,
        ),
        Target(
            "acse",
            fuzz_acse,
            ("apdu",),
            (),
            "Aarq.decode, Aare.decode, BER element walk",
            prefixes=(b"\x00", b"\x01", b"\x02"),
        ),
        Target(
            "ciphered",
            fuzz_ciphered,
            ("cipher", "apdu"),
            ("ciphered-apdu",),
            "ciphered headers and unprotect; plaintexts ciphered with a known key",
            prefixes=(b"\x00", b"\x01", b"\x02"),
            apdus_from_frames=True,
        ),
        Target(
            "profile",
            fuzz_profile,
            ("axdr",),
            (),
            "A-XDR buffer to profile rows (cosem.profile.parse_buffer)",
            prefixes=(b"\x00\x00\x00\x03\x84", b"\x03\x00\x00\x00\x00"),
        ),
        Target(
            "iec62056_21",
            fuzz_iec62056_21,
            (),
            (),
            "ModeEOpener and ModeEResponder receive_data",
            prefixes=(b"\x00", b"\x01"),
            builtin_seeds=_IEC_SEEDS,
        ),
        Target(
            "push",
            fuzz_push,
            ("hdlc", "wrapper", "apdu"),
            ("hdlc-frame", "mbus-frames", "ciphered-apdu"),
            "PushReceiver in every framing (wrapper, HDLC, M-Bus, APDUs), cut in two",
            prefixes=(b"\x00", b"\x01", b"\x02", b"\x03", b"\x21", b"\x42"),
        ),
        Target(
            "mbus",
            fuzz_mbus,
            (),
            ("mbus-frames",),
            "MBusSplitter.feed in two chunks and byte by byte",
            prefixes=(b"\x00", b"\x40"),
            builtin_seeds=(bytes.fromhex("6805056808ff000116" + "00"),),
        ),
        Target(
            "cli_decode",
            fuzz_cli_decode,
            ("hdlc", "wrapper", "axdr", "apdu"),
            ("hdlc-frame",),
            "asyncdlms decode (detected kind and --as each kind)",
            prefixes=(b"\x00", b"\x01", b"\x02", b"\x03"),
        ),
        Target(
            "access",
            fuzz_access,
            ("apdu",),
            (),
            "ACCESS-Request / -Response decoding (apdu/access.py), encode/decode round trip",
            apdus_from_frames=True,
            builtin_seeds=ACCESS_SEEDS,
        ),
        Target(
            "general",
            fuzz_general,
            (),
            (),
            "general-signing / general-ciphering: decode, verify_signed_apdu, decipher_general "
            "with fixed suite 1 keys; sign/cipher round trips with one bit flipped",
            builtin_seeds=general_seeds(),
        ),
    )
}
