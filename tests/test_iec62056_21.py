"""IEC 62056-21 mode E opening handshake (behaviour 4 of QUIRKS.md), driven without a port."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asyncdlms.iec62056_21 import (
    EVEN_PARITY,
    HandshakeComplete,
    HandshakeFailed,
    IdentificationReceived,
    IecEvent,
    IecSettings,
    LineSettings,
    ModeEOpener,
)
from asyncdlms.iec62056_21 import Parity as P


def run(
    replies: list[bytes], iec: IecSettings | None = None, chunk: int = 0
) -> tuple[ModeEOpener, list[IecEvent], bytes]:
    """Start, feed each reply (in chunks of ``chunk`` bytes, 0 = whole), run the timers."""
    opener = ModeEOpener(iec)
    now = 0.0
    opener.start(now)
    events: list[IecEvent] = opener.events()
    written = opener.data_to_send()
    for reply in replies:
        step = chunk or max(len(reply), 1)
        for piece in (reply[i : i + step] for i in range(0, len(reply), step)):
            opener.receive_data(piece, now)
    written = bytes(b & 0x7F for b in written)  # parity bits: see test_sent_bytes_carry_even_parity
    for _ in range(20):  # bounded: the handshake needs at most a few timer steps
        deadline = opener.next_deadline()
        if deadline is None:
            break
        now = deadline
        opener.handle_timer(now)
        events += opener.events()
        written += bytes(b & 0x7F for b in opener.data_to_send())
    events += opener.events()
    return opener, events, written


def test_full_handshake_with_mode_e_identification() -> None:
    opener, events, written = run([b"/LGZ5\\2ZMD3104407.B32\r\n"])
    assert written == b"/?!\r\n" + b"\x06252\r\n"
    assert events == [
        LineSettings(300, 7, P.EVEN),
        IdentificationReceived("LGZ", "5", 9600, True, "ZMD3104407.B32"),
        LineSettings(9600, 8, P.NONE),
        HandshakeComplete(9600),
    ]
    assert opener.complete


def test_junk_before_slash_and_the_echo_of_the_request_are_skipped() -> None:
    opener, events, written = run([b"\x00\xff junk", b"/?!\r\n", b"/ISK5\\2MT382-1000\r\n"])
    assert IdentificationReceived("ISK", "5", 9600, True, "MT382-1000") in events
    assert written.endswith(b"\x06252\r\n")
    assert opener.discarded_bytes == len(b"\x00\xff junk") + len(b"/?!\r\n")


def test_parity_bit_from_a_port_left_in_8n1_is_ignored() -> None:
    with_parity = bytes(b | 0x80 if bin(b).count("1") % 2 else b for b in b"/KAM5\\2MC\r\n")
    _, events, _ = run([with_parity])
    assert IdentificationReceived("KAM", "5", 9600, True, "MC") in events


@pytest.mark.parametrize(
    ("character", "rate", "ack"),
    [("0", 300, "0"), ("3", 2400, "3"), ("6", 19200, "6"), ("A", 600, "1"), ("E", 9600, "5")],
)
def test_baud_characters_of_modes_c_e_and_b(character: str, rate: int, ack: str) -> None:
    _, events, written = run([f"/APA{character}NORAX3\r\n".encode()])
    assert HandshakeComplete(rate) in events
    assert written.endswith(b"\x062" + ack.encode() + b"2\r\n")
    # no \2: mode E is not announced, and the opener proceeds all the same (QUIRKS #5)
    assert IdentificationReceived("APA", character, rate, False, "NORAX3") in events


def test_other_baud_characters_through_the_setting_or_a_clear_error() -> None:
    _, events, _ = run([b"/ABC9XYZ\r\n"], IecSettings(extra_baud_characters={"9": 9600}))
    assert HandshakeComplete(9600) in events
    _, events, written = run([b"/ABC9XYZ\r\n"])
    failure = [e for e in events if isinstance(e, HandshakeFailed)]
    assert failure and "extra_baud_characters" in str(failure[0].error)
    assert b"\x06" not in written


def test_maximum_baud_rate_caps_the_offer() -> None:
    _, events, written = run([b"/LGZ6\\2X\r\n"], IecSettings(maximum_baud_rate=9600))
    assert HandshakeComplete(9600) in events and written.endswith(b"\x06252\r\n")


def test_no_identification_retries_then_fails_with_advice() -> None:
    opener, events, written = run([], IecSettings(request_attempts=3, identification_timeout=1.5))
    assert written == b"/?!\r\n" * 3
    assert isinstance(events[-1], HandshakeFailed)
    assert "optical head" in str(events[-1].error)
    assert not opener.complete


def test_device_address_and_delays_are_settings() -> None:
    iec = IecSettings(device_address="12345678", acknowledgement_delay=0.8, baud_switch_delay=0.5)
    opener = ModeEOpener(iec)
    opener.start(10.0)
    assert opener.data_to_send() == b"/?12345678!\r\n".translate(EVEN_PARITY)
    opener.receive_data(b"/LGZ4\\2X\r\n", 10.4)
    assert opener.next_deadline() == pytest.approx(11.2)
    opener.handle_timer(11.1)
    assert opener.data_to_send() == b""  # not yet
    opener.handle_timer(11.2000001)
    assert opener.data_to_send() == b"\x06242\r\n".translate(EVEN_PARITY)
    assert opener.next_deadline() == pytest.approx(11.7)
    opener.handle_timer(11.7000001)
    assert opener.complete


def test_a_slash_restarts_the_message() -> None:
    _, events, _ = run([b"/\x13\x7f/LGZ5\\2ZMD\r\n"])
    assert IdentificationReceived("LGZ", "5", 9600, True, "ZMD") in events


def test_bytes_after_the_identification_are_not_taken_as_a_second_one() -> None:
    opener = ModeEOpener(IecSettings(acknowledgement_delay=0.1))
    opener.start(0.0)
    opener.receive_data(b"/LGZ5\\2A\r\n/XYZ3\\2B\r\n", 0.0)
    ids = [e for e in opener.events() if isinstance(e, IdentificationReceived)]
    assert len(ids) == 1 and ids[0].manufacturer == "LGZ"


@given(st.binary(max_size=60), st.integers(1, 7))
@settings(max_examples=300)
def test_any_noise_and_any_slicing_give_the_same_identification(noise: bytes, chunk: int) -> None:
    noise = bytes(b for b in noise if b & 0x7F != 0x2F)  # a '/' would start a message
    _, events, _ = run([noise + b"/LGZ5\\2ZMD\r\n"], chunk=chunk)
    assert IdentificationReceived("LGZ", "5", 9600, True, "ZMD") in events


@given(st.binary(max_size=300))
@settings(max_examples=300)
def test_random_bytes_never_raise(data: bytes) -> None:
    _, events, _ = run([data])
    assert all(isinstance(e, IecEvent) for e in events)


def test_sent_bytes_carry_even_parity() -> None:
    opener = ModeEOpener()
    opener.start(0.0)
    sent = opener.data_to_send()
    assert sent == bytes([0xAF, 0x3F, 0x21, 0x8D, 0x0A])  # "/?!" CR LF, 7E1 in 8 bits
    assert all(bin(b).count("1") % 2 == 0 for b in sent)


def test_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="device_address"):
        IecSettings(device_address="1!")
    with pytest.raises(ValueError, match="request_attempts"):
        IecSettings(request_attempts=0)
    with pytest.raises(ValueError, match="negative"):
        IecSettings(baud_switch_delay=-1)


def test_opener_and_responder_agree() -> None:
    from asyncdlms.iec62056_21 import IecResponderSettings, ModeEResponder

    opener = ModeEOpener(IecSettings(acknowledgement_delay=0.1, baud_switch_delay=0.1))
    meter = ModeEResponder(IecResponderSettings("XYZ", "TEST1", "4"))
    now = 0.0
    opener.start(now)
    for _ in range(10):
        meter.receive_data(b"\x00noise" + opener.data_to_send(), now)
        opener.receive_data(meter.data_to_send(), now)
        deadline = opener.next_deadline()
        if deadline is None:
            break
        now = deadline
        opener.handle_timer(now)
    events = opener.events()
    assert IdentificationReceived("XYZ", "4", 4800, True, "TEST1") in events
    assert opener.complete and meter.complete
    assert meter.events() == [LineSettings(4800, 8, P.NONE), HandshakeComplete(4800)]


def test_responder_ignores_other_addresses_and_times_out_waiting_for_the_ack() -> None:
    from asyncdlms.iec62056_21 import IecResponderSettings, ModeEResponder

    meter = ModeEResponder(IecResponderSettings(device_address="42"))
    meter.receive_data(b"/?17!\r\n", 0.0)
    assert meter.data_to_send() == b""
    meter.receive_data(b"/?42!\r\n", 0.0)
    assert bytes(b & 0x7F for b in meter.data_to_send()) == b"/ADL5\\2asyncdlms\r\n"
    assert meter.next_deadline() == 5.0
    meter.handle_timer(5.0)
    meter.receive_data(b"\x06252\r\n", 5.1)  # too late: no switch
    assert not meter.complete and meter.events() == []
    with pytest.raises(ValueError):
        IecResponderSettings(manufacturer="TOOLONG")
