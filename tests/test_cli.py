"""The asyncdlms command line."""

from __future__ import annotations

import subprocess
import sys

import pytest

from asyncdlms import axdr
from asyncdlms.cli import main
from asyncdlms.hdlc import Frame, FrameType, HdlcAddress
from asyncdlms.types import DoubleLongUnsigned, OctetString, Structure, Unsigned
from tests.conftest import vector


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_decode_axdr_shows_types_and_obis(capsys: pytest.CaptureFixture[str]) -> None:
    data = axdr.encode(Structure([OctetString(bytes.fromhex("0100010800ff")), Unsigned(3)]))
    status, out, _ = run(capsys, "decode", data.hex())
    assert status == 0
    assert out.splitlines() == [
        "structure[2]",
        "  octet-string(6) 0100010800ff  = OBIS 1.0.1.8.0.255",
        "  unsigned 3",
    ]


def test_decode_hdlc_stream_with_noise(capsys: pytest.CaptureFixture[str]) -> None:
    server = HdlcAddress(1, 17, 2)
    client = HdlcAddress(16)
    apdu = b"\xc4\x01\xc1\x00" + axdr.encode(DoubleLongUnsigned(5009))
    frame = Frame(FrameType.I, client, server, True, 0, 1, False, b"\xe6\xe7\x00" + apdu)
    stream = frame.encode() + b"\x00\x7e\x13" + frame.encode()
    status, out, _ = run(capsys, "decode", stream.hex(" "))
    assert status == 0
    lines = out.splitlines()
    assert lines[0].startswith("HDLC I N(S)=0 N(R)=1 P/F=1")
    assert "  LLC e6e700 (response)" in lines
    assert f"  APDU (9 bytes, tag 0xc4): {apdu.hex()}" in lines
    # the APDU is decoded too, its A-XDR value shown as a typed tree
    position = lines.index("    GetResponseNormal")
    assert lines[position + 1 : position + 3] == [
        "      result:",
        "        double-long-unsigned 5009",
    ]
    assert lines.count(lines[0]) == 2
    assert "noise skipped" in lines[-1]


def test_decode_hdlc_vector_ua(capsys: pytest.CaptureFixture[str]) -> None:
    """dlmscosem-hdlc-ua-params-2byte-server: negotiated max info length 0x9A."""
    status, out, _ = run(capsys, "decode", vector("dlmscosem-hdlc-ua-params-2byte-server")["hex"])
    assert status == 0
    assert out.startswith("HDLC UA")
    assert "max_info_length_tx=154" in out and "max_info_length_rx=154" in out


def test_decode_wrapper(capsys: pytest.CaptureFixture[str]) -> None:
    data = bytes.fromhex("0001 0010 0001 0004 c0018100".replace(" ", ""))
    status, out, _ = run(capsys, "decode", data.hex())
    assert status == 0
    assert out.splitlines()[:2] == [
        "wrapper frame  from wPort 16 to wPort 1",
        "  APDU (4 bytes, tag 0xc0): c0018100",
    ]
    # a truncated GET request: shown, and why it is not decoded
    assert out.splitlines()[2].startswith("    not decoded: truncated")


def test_bad_input_is_reported_not_raised(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run(capsys, "decode", "--as", "axdr", "0600")
    assert status == 1
    assert "truncated double-long-unsigned" in err
    with pytest.raises(SystemExit, match="not hexadecimal"):
        main(["decode", "zz"])


def test_module_runs_as_a_program() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "asyncdlms.cli", "decode", "1203e8"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == "long-unsigned 1000"
