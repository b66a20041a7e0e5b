"""Target URLs."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from asyncdlms.aio.url import InvalidTargetError, Scheme, Target, parse_target


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("tcp://10.0.0.7:4059", Target(Scheme.TCP, host="10.0.0.7", port=4059)),
        ("tcp://meter.example", Target(Scheme.TCP, host="meter.example", port=4059)),
        ("udp://127.0.0.1", Target(Scheme.UDP, host="127.0.0.1", port=4059)),
        ("hdlc+tcp://gw:10001", Target(Scheme.HDLC_TCP, host="gw", port=10001)),
        ("TCP://[::1]:4060", Target(Scheme.TCP, host="::1", port=4060)),
        ("serial:///dev/ttyUSB0", Target(Scheme.SERIAL, device="/dev/ttyUSB0")),
        (
            "serial:///dev/ttyS1?baud=19200&parity=e&data_bits=7",
            Target(Scheme.SERIAL, device="/dev/ttyS1", baud_rate=19200, parity="E", data_bits=7),
        ),
        ("serial+iec:///dev/ttyUSB0", Target(Scheme.SERIAL_IEC, device="/dev/ttyUSB0")),
    ],
)
def test_accepted_forms(url: str, expected: Target) -> None:
    assert parse_target(url) == expected
    assert parse_target(expected) is expected


def test_str_round_trips_the_address() -> None:
    for url in ("tcp://10.0.0.7:4059", "hdlc+tcp://gw:10001", "serial+iec:///dev/ttyUSB0"):
        assert str(parse_target(url)) == url
    assert str(parse_target("tcp://[::1]:4060")) == "tcp://[::1]:4060"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://x", "unknown target"),
        ("tcp://", "names no host"),
        ("hdlc+tcp://gw", "needs a port"),
        ("tcp://x:99999", "invalid target"),
        ("tcp://x:4059?baud=9600", "take no options"),
        ("serial://", "names no serial device"),
        ("serial:///dev/x?speed=9600", "unknown option"),
        ("serial:///dev/x?baud=fast", "invalid number"),
        ("serial:///dev/x?parity=Q", "invalid line settings"),
        ("serial:///dev/x?baud=0", "invalid baud rate"),
    ],
)
def test_rejected_forms_say_why(url: str, message: str) -> None:
    with pytest.raises(InvalidTargetError, match=message):
        parse_target(url)


def test_uses_hdlc() -> None:
    assert [s for s in Scheme if s.uses_hdlc] == [Scheme.HDLC_TCP, Scheme.SERIAL, Scheme.SERIAL_IEC]


@given(st.text(max_size=40))
def test_any_text_gives_a_target_or_our_error(text: str) -> None:
    try:
        target = parse_target(text)
    except InvalidTargetError:
        return
    assert isinstance(target.scheme, Scheme)
