"""The one-meter commands (read, write, action) against the gurux-based meter over TCP."""

from __future__ import annotations

import argparse
import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import pytest

from asyncdlms.apdu import DataAccessResult
from asyncdlms.cli import main
from asyncdlms.cli.meter import parse_target_reference, parse_value, to_json
from asyncdlms.errors import DataAccessError
from asyncdlms.types import (
    BitString,
    DateTime,
    DoubleLongUnsigned,
    Enum,
    Float32,
    Integer,
    LongUnsigned,
    OctetString,
    Structure,
    VisibleString,
)
from tests.conftest import load_gurux_meter


@pytest.fixture(scope="module")
def meter_url() -> Iterator[str]:
    module = load_gurux_meter()
    server, port = module.serve_in_thread(host="127.0.0.1", iface="HDLC", auth="low",
                                          password="Gurux")  # fmt: skip
    yield f"hdlc+tcp://127.0.0.1:{port}"
    server.shutdown()
    server.server_close()


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


LOW = ("--client", "17", "--auth", "low")


def test_read_several_as_json(
    meter_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASYNCDLMS_PASSWORD", "Gurux")  # secrets from the environment
    status, out, _ = run(capsys, "read", meter_url, "3/1.0.1.8.0.255/2", "3/1.0.1.8.0.255/3",
                         "3/9.9.9.9.9.9/2", *LOW, "--json")  # fmt: skip
    assert status == 0
    assert json.loads(out) == {
        "3/1.0.1.8.0.255/2": 123456,
        "3/1.0.1.8.0.255/3": [-1, 30],
        "3/9.9.9.9.9.9/2": {"error": "object-undefined"},
    }


def test_write_read_and_action(meter_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    # (the gurux meter starts afresh on every connection: written values do not persist
    # across commands; read-back within one association is tested with the Client)
    common = (*LOW, "--password", "Gurux")
    assert run(capsys, "write", meter_url, "1/0.0.42.0.0.255/2", "os:4344", *common)[1] == (
        "1/0.0.42.0.0.255/2: written\n"
    )
    status, out, _ = run(capsys, "read", meter_url, "1/0.0.42.0.0.255/2", *common)
    assert status == 0 and out == "octet-string(13) 47525830303030303030303031  = 'GRX0000000001'\n"
    status, out, _ = run(capsys, "action", meter_url, "3/1.0.1.8.0.255/1", "i8:0", *common,
                         "--json")  # fmt: skip
    assert status == 0 and json.loads(out) == {"result": None}


def test_failures_are_one_line_and_exit_1(
    meter_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run(capsys, "read", meter_url, "3/1.0.1.8.0.255/2", *LOW, "--password",
                           "s3cr3tXY")  # fmt: skip
    assert status == 1 and out == ""
    assert err.count("\n") == 1 and "authentication failed" in err and "s3cr3tXY" not in err
    status, _, err = run(capsys, "read", "tcp://127.0.0.1:9", "1/0.0.42.0.0.255/2",
                         "--timeout", "2")  # fmt: skip
    assert status == 1 and err.count("\n") == 1


def test_trace_masks_the_password(meter_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run(capsys, "read", meter_url, "1/0.0.42.0.0.255/2", *LOW, "--password",
                         "Gurux", "--trace")  # fmt: skip
    assert status == 0
    assert "7e a0" in err  # HDLC frames in hex, both directions
    assert b"Gurux".hex(" ") not in err and "2a 2a 2a 2a 2a" in err


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("null", None),
        ("bool:true", True),
        ("u16:1000", LongUnsigned(1000)),
        ("i8:-5", Integer(-5)),
        ("u32:0x10", DoubleLongUnsigned(16)),
        ("enum:3", Enum(3)),
        ("f32:1.5", Float32(1.5)),
        ("os:0102ff", OctetString(b"\x01\x02\xff")),
        ("vs:hello", VisibleString("hello")),
        ("bits:101", BitString.from_bits("101")),
        ("axdr:020211011203e8", Structure([1, 1000])),
    ],
)
def test_parse_value(text: str, expected: Any) -> None:
    value = parse_value(text)
    assert value == expected and type(value) is type(expected)


def test_parse_value_date_time_and_errors() -> None:
    value = parse_value("dt:2024-03-01T12:00:00+01:00")
    assert isinstance(value, OctetString)
    assert value.to_date_time().to_datetime() == dt.datetime(
        2024, 3, 1, 12, tzinfo=dt.timezone(dt.timedelta(hours=1))
    )
    for bad in ("u8:256", "x:1", "os:zz", "axdr:06", "bool:maybe"):
        with pytest.raises(argparse.ArgumentTypeError):
            parse_value(bad)
    with pytest.raises(argparse.ArgumentTypeError, match="CLASS/OBIS/NUMBER"):
        parse_target_reference("3/1.0.1.8.0.255")
    assert str(parse_target_reference("3/1-0:1.8.0/2")) == "3/1.0.1.8.0.255/2"


def test_to_json() -> None:
    clock = DateTime(year=2024, month=3, day_of_month=1, day_of_week=5, hour=12, minute=0,
                     second=0, hundredths=0)  # fmt: skip
    value = Structure([OctetString(b"\x01\x02\x03"), clock, BitString.from_bits("11")])
    assert to_json(value) == ["010203", "2024-03-01T12:00:00", "11"]
    assert to_json(DataAccessError("x", DataAccessResult.READ_WRITE_DENIED)) == {
        "error": "read-write-denied"
    }
    assert to_json(DateTime(year=2024)) == str(DateTime(year=2024))


def test_objects_and_profile_commands(meter_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    common = (*LOW, "--password", "Gurux")
    status, out, _ = run(capsys, "objects", meter_url, *common)
    assert status == 0
    assert "    3 v0  Register                         1.0.1.8.0.255" in out.splitlines()
    status, out, _ = run(capsys, "objects", meter_url, *common, "--json")
    listed = json.loads(out)
    assert (
        listed["skipped"] == 0
        and {
            "class_id": 7,
            "version": 1,
            "class": "Profile generic",
            "logical_name": "1.0.99.1.0.255",
        }
        in listed["objects"]
    )
    status, out, _ = run(capsys, "profile", meter_url, "1.0.99.1.0.255", "--entries", "2:3",
                         *common)  # fmt: skip
    assert out.splitlines() == [
        "8/0.0.1.0.0.255/2 | 3/1.0.1.8.0.255/2",
        "-------------------------------------",
        "2024-01-01T00:15:00+00:00 | 1001",
        "2024-01-01T00:30:00+00:00 | 1002",
    ]
    status, out, _ = run(capsys, "profile", meter_url, "1.0.99.1.0.255", "--from",
                         "2024-01-01T00:30+00:00", "--to", "2024-01-01T00:45+00:00", *common,
                         "--json")  # fmt: skip
    assert json.loads(out) == [
        {"8/0.0.1.0.0.255/2": "2024-01-01T00:30:00+00:00", "3/1.0.1.8.0.255/2": 1002},
        {"8/0.0.1.0.0.255/2": "2024-01-01T00:45:00+00:00", "3/1.0.1.8.0.255/2": 1003},
    ]
    with pytest.raises(SystemExit):
        main(["profile", meter_url, "1.0.99.1.0.255", "--entries", "x"])


# -- ciphering ------------------------------------------------------------------------------

BLOCK_CIPHER_KEY = "000102030405060708090A0B0C0D0E0F"
AUTHENTICATION_KEY = "D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF"


@pytest.fixture(scope="module")
def ciphered_meter_url() -> Iterator[str]:
    module = load_gurux_meter()
    server, port = module.serve_in_thread(host="127.0.0.1", iface="WRAPPER", auth="gmac",
                                          password=None, security="ae")  # fmt: skip
    yield f"tcp://127.0.0.1:{port}"
    server.shutdown()
    server.server_close()


GMAC = ("--client", "18", "--auth", "gmac", "--security", "ae")


def run_ciphered(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """``run`` without the lines gurux-dlms's server prints in this process ("Encryption is
    applied.")."""
    status, out, err = run(capsys, *argv)
    out = "".join(line for line in out.splitlines(True) if not line.endswith("applied.\n"))
    return status, out, err


def test_read_with_hls_gmac_and_authenticated_encryption(
    ciphered_meter_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASYNCDLMS_BLOCK_CIPHER_KEY", BLOCK_CIPHER_KEY)  # from the environment
    status, out, err = run_ciphered(capsys, "read", ciphered_meter_url, "3/1.0.1.8.0.255/2",
                           "1/0.0.42.0.0.255/2", *GMAC, "--system-title", b"ASY00001".hex(),
                           "--auth-key", AUTHENTICATION_KEY, "--json")  # fmt: skip
    assert status == 0, err
    assert json.loads(out) == {
        "3/1.0.1.8.0.255/2": 123456,
        "1/0.0.42.0.0.255/2": b"GRX0000000001".hex(),
    }


def test_options_from_the_environment_and_the_dedicated_key(
    ciphered_meter_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASYNCDLMS_SECURITY", "ae")
    monkeypatch.setenv("ASYNCDLMS_SYSTEM_TITLE", b"ASY00002".hex())
    monkeypatch.setenv("ASYNCDLMS_BLOCK_CIPHER_KEY", BLOCK_CIPHER_KEY)
    monkeypatch.setenv("ASYNCDLMS_AUTH_KEY", AUTHENTICATION_KEY)
    status, out, err = run_ciphered(
        capsys, "read", ciphered_meter_url, "3/1.0.1.8.0.255/2",
        "--client", "18", "--auth", "gmac", "--dedicated-key", "--json",
    )  # fmt: skip
    assert status == 0, err
    assert json.loads(out) == 123456  # one target: the value alone


def test_a_wrong_key_is_one_line_exit_1_and_no_key_printed(
    ciphered_meter_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    wrong = "0F0E0D0C0B0A09080706050403020100"
    status, out, err = run_ciphered(capsys, "read", ciphered_meter_url, "3/1.0.1.8.0.255/2", *GMAC,
                           "--system-title", b"ASY00001".hex(), "--block-cipher-key",
                           BLOCK_CIPHER_KEY, "--auth-key", wrong, "--trace")  # fmt: skip
    assert status == 1 and out == ""
    lines = [line for line in err.splitlines() if not line.lstrip()[:1].isdigit()]
    assert len(lines) == 1, err  # the trace lines start with the time
    assert "authentication tag mismatch — check the authentication key / block cipher key / " \
           "system title" in lines[0]  # fmt: skip
    for key in (wrong, BLOCK_CIPHER_KEY, AUTHENTICATION_KEY):
        assert key.lower() not in err.lower().replace(" ", "")
        assert key.lower() not in err.lower()


def test_missing_or_malformed_keys_are_one_line(
    ciphered_meter_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run_ciphered(capsys, "read", ciphered_meter_url, "3/1.0.1.8.0.255/2", *GMAC)
    assert status == 1 and out == "" and err.count("\n") == 1
    assert "system_title" in err and "block_cipher_key" in err
    status, _, err = run_ciphered(capsys, "read", ciphered_meter_url, "3/1.0.1.8.0.255/2", *GMAC,
                         "--system-title", "41", "--block-cipher-key", "zz",
                         "--auth-key", AUTHENTICATION_KEY)  # fmt: skip
    assert status == 1 and err.count("\n") == 1 and "hexadecimal" in err


def test_date_time_attributes_print_as_iso_8601(
    meter_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = run(capsys, "read", meter_url, "8/0.0.1.0.0.255/2", *LOW, "--password",
                         "Gurux", "--json")  # fmt: skip
    assert status == 0
    clock = dt.datetime.fromisoformat(json.loads(out))
    assert clock.tzinfo is not None
    assert abs((clock - dt.datetime.now(dt.UTC)).total_seconds()) < 3600
