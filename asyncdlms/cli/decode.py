"""``asyncdlms decode HEX...``: decode bytes given in hex (or read from standard input with
``-``): HDLC frames (a stream of them, with any noise between; segmented frames joined),
wrapper frames, M-Bus long frames (the DLMS/COSEM transport layer's segments joined), a bare
APDU, or A-XDR data. General-block-transfer blocks are joined (in any order) and the APDU they
carry decoded.

What the bytes are is detected unless ``--as`` says it: ``0x7E`` starts HDLC, ``0x68 L L
0x68`` M-Bus, a wrapper header (version 1 and a length that fits) a wrapper frame, an APDU
tag that decodes to the last byte an APDU, else A-XDR (a tag that is both, such as ``0x0F``
data-notification and integer, is whichever decodes the whole input). APDUs are printed
field by field, A-XDR values as typed trees.

Ciphered APDUs (glo-, ded-, general-glo- and general-ded-ciphering) are shown with their
security header and, given ``--block-cipher-key HEX`` (the dedicated key for ded- forms) and
``--auth-key HEX``, deciphered with their authentication tag verified; ``--system-title
HEX`` is the sender's for the forms that do not carry it (glo-/ded-ciphering); or
``--keys FILE``, a TOML file of keys by system title (the listener's format). Keys are never
printed. Security suites 1 and 2: a general-signing APDU's signature is checked with the
signer's ``signing_public_key`` from ``--keys``; a general-ciphering APDU is deciphered with
the sender's keys from ``--keys`` and, for an agreed key, ``--key-agreement-key PEM`` (ours).

Exit status: 0 when something was decoded, 1 when nothing was (one line on standard error
says what was tried) or a ciphered APDU failed its check, 2 for bad options.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import enum
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric import ec

from .. import axdr
from ..apdu import Data, decode_apdu
from ..apdu.block_transfer import GeneralBlockTransfer
from ..apdu.enums import InvokeIdAndPriority, LongInvokeIdAndPriority
from ..apdu.tags import ApduTag
from ..errors import DlmsError
from ..hdlc import FrameSplitter, FrameType
from ..hdlc.frames import LLC_REQUEST, LLC_RESPONSE
from ..listen.keys import KeyStore, TomlKeyStore
from ..listen.mbus import MBusSplitter
from ..security.ciphering import CipheredApdu, decipher
from ..types import DateTime
from ..wrapper.frames import HEADER_LENGTH, WRAPPER_VERSION, WrapperSplitter
from .general_protection import GENERAL_TAGS, describe_general, load_key_agreement_key

__all__ = ["add_decode_command"]

_KINDS = ("hdlc", "wrapper", "mbus", "apdu", "axdr")
_CIPHERED_TAGS = frozenset(
    tag for tag in ApduTag if tag.name.startswith(("GLO_", "DED_", "GENERAL_GLO", "GENERAL_DED"))
)
_LAST_AXDR_TAG = 0x1B  # time; data tags run 0..27
_POLICY_NAMES = {0x10: "authentication only", 0x20: "encryption only",
                 0x30: "authenticated encryption"}  # fmt: skip


class _NotThis(Exception):
    """The bytes are not of the kind tried; the message says why."""


@dataclass
class _Decoder:
    """Decodes and describes; keeps the keys and the failures that make the exit status 1."""

    block_cipher_key: bytes | None = field(default=None, repr=False)
    authentication_key: bytes | None = field(default=None, repr=False)
    system_title: bytes | None = None
    keys: KeyStore | None = None
    failures: list[str] = field(default_factory=list)
    key_agreement_key: ec.EllipticCurvePrivateKey | None = field(default=None, repr=False)
    blocks: dict[int, bytes] = field(default_factory=dict)
    last_block: int | None = None

    # -- link layers -----------------------------------------------------------------------

    def hdlc(self, data: bytes) -> list[str]:
        splitter = FrameSplitter()
        frames = splitter.feed(data)
        lines: list[str] = []
        segments = bytearray()
        for frame in frames:
            head = f"HDLC {frame.frame_type.name}"
            if frame.send_sequence is not None:
                head += f" N(S)={frame.send_sequence}"
            if frame.receive_sequence is not None:
                head += f" N(R)={frame.receive_sequence}"
            head += f" P/F={int(frame.poll_final)}"
            if frame.segmented:
                head += " segmented"
            head += f"  to {frame.destination}  from {frame.source}"
            lines.append(head)
            info = frame.information
            if frame.frame_type in (FrameType.SNRM, FrameType.UA) and info:
                from ..hdlc import HdlcParameters

                lines.append(f"  parameters: {HdlcParameters.decode(info)}")
                continue
            if frame.segmented or segments:
                segments += info
                if frame.segmented:
                    lines.append(f"  segment ({len(info)} bytes, continued in the next frame)")
                    continue
                info, segments = bytes(segments), bytearray()
                lines.append(f"  last segment: {len(info)} bytes joined")
            if info[:3] in (LLC_REQUEST, LLC_RESPONSE):
                direction = "request" if info[:3] == LLC_REQUEST else "response"
                lines.append(f"  LLC {info[:3].hex()} ({direction})")
                lines += self.describe_apdu(info[3:], "  ")
            elif info:
                lines.append(f"  information ({len(info)} bytes): {info.hex()}")
        notes = []
        if splitter.dropped_frames:
            notes.append(f"{splitter.dropped_frames} bad frames dropped")
        if splitter.discarded_bytes:
            notes.append(f"{splitter.discarded_bytes} bytes of noise skipped")
        # the splitter keeps a closing flag as a possible opening flag: that is no fragment
        if splitter.buffered > 1:
            notes.append(f"{splitter.buffered} bytes of an incomplete frame left")
        if segments:
            notes.append(f"{len(segments)} bytes of a segmented APDU without its last segment")
        if not frames:
            raise _NotThis(f"no complete HDLC frame ({', '.join(notes) or 'no frame'})")
        if notes:
            lines.append(f"({', '.join(notes)})")
        return lines

    def wrapper(self, data: bytes) -> list[str]:
        lines: list[str] = []
        splitter = WrapperSplitter()
        for frame in splitter.feed(data):
            lines.append(
                f"wrapper frame  from wPort {frame.source_wport} to wPort {frame.destination_wport}"
            )
            lines += self.describe_apdu(frame.apdu, "  ")
        if not lines:
            raise _NotThis(
                f"no complete wrapper frame ({splitter.buffered} bytes of an incomplete frame)"
            )
        if splitter.buffered:
            lines.append(f"({splitter.buffered} bytes of an incomplete frame left)")
        return lines

    def mbus(self, data: bytes) -> list[str]:
        splitter = MBusSplitter()
        lines: list[str] = []
        parts: list[bytes] = []
        expected = 0
        frames = splitter.feed(data)
        for frame in frames:
            lines.append(
                f"M-Bus long frame C=0x{frame.control:02x} A=0x{frame.address:02x} "
                f"CI=0x{frame.control_information:02x} ({len(frame.data)} data bytes)"
            )
            if not frame.is_transport_segment or len(frame.data) < 2:
                lines.append("  not a DLMS/COSEM transport-layer segment")
                continue
            if frame.sequence_number != expected:
                lines.append(
                    f"  segment {frame.sequence_number} where {expected} was expected: "
                    f"{len(parts)} segments before it dropped"
                )
                parts, expected = [], 0
                if frame.sequence_number != 0:
                    continue
            parts.append(frame.data[2:])
            expected = (expected + 1) & 0x0F
            lines.append(
                f"  segment {frame.sequence_number} STSAP {frame.data[0]} DTSAP {frame.data[1]}"
                + (", the last" if frame.final_segment else "")
            )
            if frame.final_segment:
                apdu = b"".join(parts)
                parts, expected = [], 0
                lines += self.describe_apdu(apdu, "  ")
        if not frames:
            raise _NotThis(f"no complete M-Bus long frame ({splitter.discarded_bytes} bytes)")
        if splitter.dropped_frames:
            lines.append(f"({splitter.dropped_frames} bad frames dropped)")
        if parts:
            lines.append(f"({len(parts)} segments of an APDU without its last segment)")
        return lines

    def bare_apdu(self, data: bytes) -> list[str]:
        """A whole input that is one APDU (raises _NotThis when it is not)."""
        if data[0] in _CIPHERED_TAGS:
            try:
                CipheredApdu.decode(data)
            except DlmsError as exc:
                raise _NotThis(str(exc)) from None
        elif data[0] not in GENERAL_TAGS:  # those are decoded (or reported) as they are described
            try:
                decode_apdu(data)
            except DlmsError as exc:
                raise _NotThis(str(exc)) from None
        return self.describe_apdu(data, "")

    def axdr(self, data: bytes, *, whole: bool = False) -> list[str]:
        try:
            value, end = axdr.decode_from(data)
        except DlmsError as exc:
            raise _NotThis(str(exc)) from None
        if whole and end != len(data):
            raise _NotThis(f"a value of {end} byte(s), then {len(data) - end} more byte(s)")
        lines = axdr.describe(value).splitlines()
        if end != len(data):
            lines.append(f"({len(data) - end} bytes after the value: {data[end:].hex()})")
        return lines

    # -- APDUs -----------------------------------------------------------------------------

    def describe_apdu(self, apdu: bytes, indent: str) -> list[str]:
        if not apdu:
            return [f"{indent}no APDU"]
        lines = [f"{indent}APDU ({len(apdu)} bytes, tag 0x{apdu[0]:02x}): {apdu.hex()}"]
        if apdu[0] == ApduTag.GENERAL_BLOCK_TRANSFER:
            lines += self._describe_block(apdu, indent + "  ")
            return lines
        if apdu[0] in _CIPHERED_TAGS:
            lines += self._describe_ciphered(apdu, indent + "  ")
            return lines
        if apdu[0] in GENERAL_TAGS:  # suites 1 and 2: general-signing, general-ciphering
            keys, agreement = self.keys, self.key_agreement_key
            general = describe_general(
                apdu, indent + "  ", keys, agreement, self.describe_apdu, self.failures
            )
            return lines + general
        try:
            pdu = decode_apdu(apdu)
        except DlmsError as exc:
            lines.append(f"{indent}  not decoded: {exc}")
            if _is_text(apdu):  # e.g. a DSMR telegram in general-glo-ciphering (Smarty P1)
                lines.append(f"{indent}  text:")
                text = apdu.decode("ascii")
                lines.extend(f"{indent}    {line}" for line in text.splitlines())
            return lines
        _describe_pdu(pdu, indent + "  ", lines)
        return lines

    def _describe_block(self, apdu: bytes, indent: str) -> list[str]:
        """A general-block-transfer block: kept until every block up to the last one is
        there (in any order), then the APDU they carry is decoded."""
        try:
            block = GeneralBlockTransfer.decode(apdu)
        except DlmsError as exc:
            return [f"{indent}general-block-transfer not decoded: {exc}"]
        lines = [
            f"{indent}general-block-transfer block {block.block_number}"
            f"{' (last)' if block.last_block else ''}, ack {block.block_number_ack}, "
            f"{len(block.block_data)} bytes"
        ]
        self.blocks[block.block_number] = block.block_data
        if block.last_block:
            self.last_block = block.block_number
        last = self.last_block
        if last is not None and all(n in self.blocks for n in range(1, last + 1)):
            joined = b"".join(self.blocks[n] for n in range(1, last + 1))
            self.blocks.clear()
            self.last_block = None
            lines.append(f"{indent}blocks 1..{last} joined: {len(joined)} bytes")
            lines += self.describe_apdu(joined, indent + "  ")
        return lines

    def _describe_ciphered(self, apdu: bytes, indent: str) -> list[str]:
        name = ApduTag(apdu[0]).name.lower().replace("_", "-")
        lines = [f"{indent}{name}"]
        try:
            ciphered = CipheredApdu.decode(apdu)
        except DlmsError as exc:
            lines.append(f"{indent}  not decoded: {exc}")
            return lines
        control = ciphered.ciphered_content[0]
        policy = _POLICY_NAMES.get(control & 0x30, "no protection")
        if ciphered.system_title is not None:
            title = ciphered.system_title.hex() or "(empty)"
            lines.append(f"{indent}  system title: {title}")
        lines.append(f"{indent}  security control: 0x{control:02x} ({policy}, suite "
                     f"{control & 0x0F}{', broadcast key' if control & 0x40 else ''})")  # fmt: skip
        lines.append(f"{indent}  invocation counter: {ciphered.invocation_counter}")
        lines.append(f"{indent}  ciphered content: {len(ciphered.ciphered_content)} bytes")
        system_title = ciphered.system_title or self.system_title
        block_cipher_key, authentication_key = self.block_cipher_key, self.authentication_key
        if block_cipher_key is None and self.keys is not None and system_title:
            key_set = self.keys.keys_for(system_title)
            if key_set is not None:
                chosen = key_set.dedicated_key if ciphered.dedicated else key_set.block_cipher_key
                block_cipher_key = None if chosen is None else chosen.value
                if key_set.authentication_key is not None:
                    authentication_key = key_set.authentication_key.value
        missing = []
        if block_cipher_key is None:
            missing.append("--block-cipher-key (or --keys with this sender)")
        if authentication_key is None and control & 0x10:
            missing.append("--auth-key")
        if not system_title:
            missing.append("--system-title (the sender's: this form does not carry it)")
        if missing:
            lines.append(f"{indent}  not deciphered: give {' and '.join(missing)}")
            return lines
        assert block_cipher_key is not None and system_title
        try:
            plaintext = decipher(
                ciphered.ciphered_content,
                system_title=system_title,
                block_cipher_key=block_cipher_key,
                authentication_key=authentication_key or bytes(16),
            )
        except DlmsError as exc:
            lines.append(f"{indent}  not deciphered: {exc}")
            self.failures.append(f"{name}: {exc}")
            return lines
        checked = "authentication tag verified" if control & 0x10 else "no authentication tag"
        lines.append(f"{indent}  deciphered ({checked}):")
        expected_tag = ciphered.plain_tag
        if expected_tag is not None and plaintext[:1] != bytes((expected_tag,)):
            problem = (
                f"{name} must carry an APDU with tag 0x{expected_tag:02x}, "
                f"not 0x{plaintext[:1].hex() or '(empty)'}"
            )
            lines.append(f"{indent}  {problem}")
            self.failures.append(problem)
        lines += self.describe_apdu(plaintext, indent + "    ")
        return lines


def _is_text(data: bytes) -> bool:
    return all(32 <= byte < 127 or byte in (9, 10, 13) for byte in data)


def _describe_pdu(pdu: object, indent: str, lines: list[str], label: str = "") -> None:
    """A decoded PDU as an indented list of its fields; A-XDR values as typed trees."""
    if isinstance(pdu, Data):
        lines.append(f"{indent}{label.rstrip()}")
        lines.extend(axdr.describe(pdu.value, indent + "  ").splitlines())
    elif isinstance(pdu, InvokeIdAndPriority | LongInvokeIdAndPriority):
        flags = [
            "confirmed" if pdu.confirmed else "unconfirmed",
            "high priority" if pdu.high_priority else "normal priority",
        ]
        if isinstance(pdu, LongInvokeIdAndPriority):
            flags += ["self-descriptive"] if pdu.self_descriptive else []
            flags += ["break on error"] if pdu.break_on_error else []
        lines.append(f"{indent}{label}invoke-id {pdu.invoke_id}, {', '.join(flags)}")
    elif dataclasses.is_dataclass(pdu) and not isinstance(pdu, type):
        lines.append(f"{indent}{label}{type(pdu).__name__}")
        fields = dataclasses.fields(pdu)  # the header first, the data (a long tree) last
        for item in sorted(fields, key=lambda f: isinstance(getattr(pdu, f.name), Data)):
            value = getattr(pdu, item.name)
            if value is None or value == () or item.name.endswith("_typed"):
                continue
            _describe_pdu(value, indent + "  ", lines, f"{item.name}: ")
    elif isinstance(pdu, list | tuple):
        lines.append(f"{indent}{label}[{len(pdu)}]")
        for element in pdu:
            _describe_pdu(element, indent + "  ", lines)
    elif isinstance(pdu, enum.Enum):
        lines.append(f"{indent}{label}{_enum_text(pdu)}")
    elif isinstance(pdu, bytes):
        text = pdu.hex() or "(empty)"
        if len(pdu) == 12 and label.rstrip(": ").endswith(("date_time", "time")):
            with contextlib.suppress(DlmsError):
                text += f"  = {DateTime.from_bytes(pdu)}"
        lines.append(f"{indent}{label}{text}")
    else:
        lines.append(f"{indent}{label}{pdu}")


def _parse_hex(texts: Sequence[str]) -> bytes:
    text = " ".join(sys.stdin.read() if t == "-" else t for t in texts)
    cleaned = "".join(text.replace(":", " ").replace("0x", " ").split())
    try:
        return bytes.fromhex(cleaned)
    except ValueError as exc:
        raise SystemExit(f"asyncdlms decode: not hexadecimal: {exc}") from None


def _option_bytes(text: str | None, option: str, length: int) -> bytes | None:
    if text is None:
        return None
    try:
        value = bytes.fromhex(text)
    except ValueError:
        raise ValueError(f"{option} must be {2 * length} hex digits") from None
    if len(value) != length:
        raise ValueError(f"{option} must be {length} bytes ({2 * length} hex digits)")
    return value


def _looks_like_wrapper(data: bytes) -> bool:
    return (
        len(data) >= HEADER_LENGTH
        and int.from_bytes(data[:2], "big") == WRAPPER_VERSION
        and int.from_bytes(data[6:8], "big") <= len(data) - HEADER_LENGTH
    )


def _candidates(data: bytes) -> list[str]:
    """The kinds to try, most likely first."""
    if data[:1] == b"\x7e":
        return ["hdlc"]
    if len(data) >= 4 and data[0] == data[3] == 0x68 and data[1] == data[2]:
        return ["mbus"]
    kinds = ["wrapper"] if _looks_like_wrapper(data) else []
    if data[0] <= _LAST_AXDR_TAG:  # a data tag first: a whole A-XDR value wins
        return [*kinds, "axdr", "apdu"]
    return [*kinds, "apdu", "axdr"]


def _command_decode(args: argparse.Namespace) -> int:
    data = _parse_hex(args.hex)
    if not data:
        print("asyncdlms decode: no bytes given", file=sys.stderr)
        return 2
    try:
        decoder = _Decoder(
            _option_bytes(args.block_cipher_key, "--block-cipher-key", 16),
            _option_bytes(args.auth_key, "--auth-key", 16),
            _option_bytes(args.system_title, "--system-title", 8),
            None if args.keys is None else TomlKeyStore(args.keys),
        )
        if args.key_agreement_key is not None:
            decoder.key_agreement_key = load_key_agreement_key(args.key_agreement_key)
    except (ValueError, DlmsError) as exc:
        print(f"asyncdlms decode: {exc}", file=sys.stderr)
        return 2
    forced = args.kind is not None
    methods: dict[str, Callable[[bytes], list[str]]] = {
        "hdlc": decoder.hdlc,
        "wrapper": decoder.wrapper,
        "mbus": decoder.mbus,
        "apdu": decoder.bare_apdu,
        "axdr": lambda d: decoder.axdr(d, whole=not forced),
    }
    tried: list[str] = []
    for kind in [args.kind] if forced else _candidates(data):
        try:
            lines = methods[kind](data)
        except _NotThis as exc:
            tried.append(f"as {kind}: {exc}")
            continue
        print("\n".join(lines))
        if decoder.failures:
            print(f"asyncdlms decode: {'; '.join(decoder.failures)}", file=sys.stderr)
            return 1
        return 0
    print(f"asyncdlms decode: nothing decoded ({'; '.join(tried)})", file=sys.stderr)
    return 1


def add_decode_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``decode`` to the command line."""
    decode = commands.add_parser(
        "decode",
        help="decode HDLC frames, wrapper frames, APDUs (ciphered too) or A-XDR data in hex",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    decode.add_argument("hex", nargs="+", help="hexadecimal bytes, or - for standard input")
    decode.add_argument("--as", dest="kind", choices=_KINDS, help="what the bytes are")
    decode.add_argument("--block-cipher-key", metavar="HEX",
                        help="the sender's encryption key, 32 hex digits (global unicast; "
                             "the dedicated key for ded- APDUs)")  # fmt: skip
    decode.add_argument("--auth-key", metavar="HEX",
                        help="authentication key, 32 hex digits")  # fmt: skip
    decode.add_argument("--keys", metavar="FILE",
                        help="a TOML file of keys by system title (as for listen)")  # fmt: skip
    decode.add_argument("--system-title", metavar="HEX",
                        help="the sender's system title, 16 hex digits, for APDUs that do "
                             "not carry it (glo-, ded-ciphering)")  # fmt: skip
    decode.add_argument("--key-agreement-key", metavar="PEM",
                        help="our key agreement private key (PEM), for general-ciphering "
                             "with agreed keys (suites 1 and 2)")  # fmt: skip
    decode.set_defaults(handler=_command_decode)


def _enum_text(value: enum.Enum) -> str:
    """An enum member in the decoder's spelling (``block-transfer-with-get-or-read``); a flag
    with no bit set (which has no name) as ``none``, any other nameless value as its number."""
    name = value.name
    if name is None:
        number = value.value
        return "none" if isinstance(value, enum.Flag) and not number else str(number)
    return name.lower().replace("_", "-")
