"""``asyncdlms decode HEX...``: decode bytes given in hex (or read from standard input with
``-``): HDLC frames (a stream of them, with any noise between), wrapper frames, or A-XDR data.
What it finds is detected from the first bytes unless ``--as`` says which."""

from __future__ import annotations

import argparse
import dataclasses
import enum
import sys
from collections.abc import Sequence

from .. import axdr
from ..apdu import Data, decode_apdu
from ..errors import DlmsError
from ..hdlc import FrameSplitter, FrameType
from ..hdlc.frames import LLC_REQUEST, LLC_RESPONSE
from ..wrapper.frames import HEADER_LENGTH, WRAPPER_VERSION, WrapperSplitter

__all__ = ["add_decode_command"]


def _parse_hex(texts: Sequence[str]) -> bytes:
    text = " ".join(sys.stdin.read() if t == "-" else t for t in texts)
    cleaned = "".join(text.replace(":", " ").replace("0x", " ").split())
    try:
        return bytes.fromhex(cleaned)
    except ValueError as exc:
        raise SystemExit(f"asyncdlms decode: not hexadecimal: {exc}") from None


def _detect(data: bytes) -> str:
    if data[:1] == b"\x7e":
        return "hdlc"
    if (
        len(data) >= HEADER_LENGTH
        and int.from_bytes(data[:2], "big") == WRAPPER_VERSION
        and int.from_bytes(data[6:8], "big") <= len(data) - HEADER_LENGTH
    ):
        return "wrapper"
    return "axdr"


def _describe_apdu(apdu: bytes, indent: str) -> list[str]:
    if not apdu:
        return [f"{indent}no APDU"]
    lines = [f"{indent}APDU ({len(apdu)} bytes, tag 0x{apdu[0]:02x}): {apdu.hex()}"]
    try:
        pdu = decode_apdu(apdu)
    except DlmsError as exc:
        lines.append(f"{indent}  not decoded: {exc}")
        return lines
    _describe_pdu(pdu, indent + "  ", lines)
    return lines


def _describe_pdu(pdu: object, indent: str, lines: list[str], label: str = "") -> None:
    """A decoded PDU as an indented list of its fields; A-XDR values as typed trees."""
    if isinstance(pdu, Data):
        lines.append(f"{indent}{label.rstrip()}")
        lines.extend(axdr.describe(pdu.value, indent + "  ").splitlines())
    elif dataclasses.is_dataclass(pdu) and not isinstance(pdu, type):
        lines.append(f"{indent}{label}{type(pdu).__name__}")
        for field in dataclasses.fields(pdu):
            value = getattr(pdu, field.name)
            if value is None or value == ():
                continue
            _describe_pdu(value, indent + "  ", lines, f"{field.name}: ")
    elif isinstance(pdu, list | tuple):
        lines.append(f"{indent}{label}[{len(pdu)}]")
        for item in pdu:
            _describe_pdu(item, indent + "  ", lines)
    elif isinstance(pdu, enum.Enum):
        lines.append(f"{indent}{label}{pdu.name.lower().replace('_', '-')}")
    elif isinstance(pdu, bytes):
        lines.append(f"{indent}{label}{pdu.hex() or '(empty)'}")
    else:
        lines.append(f"{indent}{label}{pdu}")


def _decode_hdlc(data: bytes) -> list[str]:
    splitter = FrameSplitter()
    frames = splitter.feed(data)
    lines: list[str] = []
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
        elif info[:3] in (LLC_REQUEST, LLC_RESPONSE):
            direction = "request" if info[:3] == LLC_REQUEST else "response"
            lines.append(f"  LLC {info[:3].hex()} ({direction})")
            lines += _describe_apdu(info[3:], "  ")
        elif info:
            lines.append(f"  information ({len(info)} bytes): {info.hex()}")
    # the splitter keeps a closing flag as a possible opening flag: that is not a fragment
    notes = []
    if splitter.dropped_frames:
        notes.append(f"{splitter.dropped_frames} bad frames dropped")
    if splitter.discarded_bytes:
        notes.append(f"{splitter.discarded_bytes} bytes of noise skipped")
    if splitter.buffered > 1:
        notes.append(f"{splitter.buffered} bytes of an incomplete frame left")
    if notes:
        lines.append(f"({', '.join(notes)})")
    if not frames:
        lines.append("no complete HDLC frame found")
    return lines


def _decode_wrapper(data: bytes) -> list[str]:
    lines: list[str] = []
    splitter = WrapperSplitter()
    for frame in splitter.feed(data):
        lines.append(
            f"wrapper frame  from wPort {frame.source_wport} to wPort {frame.destination_wport}"
        )
        lines += _describe_apdu(frame.apdu, "  ")
    if splitter.buffered:
        lines.append(f"({splitter.buffered} bytes of an incomplete frame left)")
    return lines


def _decode_axdr(data: bytes) -> list[str]:
    value, end = axdr.decode_from(data)
    lines = axdr.describe(value).splitlines()
    if end != len(data):
        lines.append(f"({len(data) - end} bytes after the value: {data[end:].hex()})")
    return lines


def _command_decode(args: argparse.Namespace) -> int:
    data = _parse_hex(args.hex)
    if not data:
        print("asyncdlms decode: no bytes given", file=sys.stderr)
        return 2
    kind = args.kind or _detect(data)
    decoder = {"hdlc": _decode_hdlc, "wrapper": _decode_wrapper, "axdr": _decode_axdr}[kind]
    try:
        lines = decoder(data)
    except DlmsError as exc:
        print(f"asyncdlms decode: cannot decode as {kind}: {exc}", file=sys.stderr)
        return 1
    print("\n".join(lines))
    return 0


def add_decode_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``decode`` to the command line."""
    decode = commands.add_parser(
        "decode",
        help="decode HDLC frames, wrapper frames or A-XDR data given in hex",
        description="Decode bytes given in hex ('-' reads standard input). Spaces and "
        "colons are ignored.",
    )
    decode.add_argument("hex", nargs="+", help="hexadecimal bytes, or - for standard input")
    decode.add_argument(
        "--as", dest="kind", choices=("hdlc", "wrapper", "axdr"), help="what the bytes are"
    )
    decode.set_defaults(handler=_command_decode)
