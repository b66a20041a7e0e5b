"""PushReceiver: framings, chunking, interleaving, noise, GBT, ciphering, replay, keys."""

from __future__ import annotations

import logging
import random
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from asyncdlms import Obis
from asyncdlms.apdu.acse import Aare, AssociationResult
from asyncdlms.apdu.descriptors import CosemAttributeDescriptor
from asyncdlms.apdu.notification import EventNotificationRequest
from asyncdlms.errors import (
    AuthenticationTagError,
    DecipheringError,
    DlmsError,
    ReplayError,
    SecurityPolicyError,
    WrapperError,
)
from asyncdlms.listen import (
    KeySet,
    MBusFrameError,
    MemoryKeyStore,
    Notification,
    PushIgnored,
    PushReceiver,
    PushRejected,
    ReassemblyTimeoutError,
    UnknownSenderError,
    UnsupportedSecuritySuiteError,
    mbus_segments,
)
from asyncdlms.security.ciphering import CipheringForm, SecurityPolicy
from asyncdlms.security.counters import MemoryInvocationCounterStore

from .helpers import (
    BROADCAST,
    DEDICATED,
    GAK,
    GUEK,
    TITLE,
    context,
    gbt_blocks,
    hdlc_frames,
    notification,
    suite_cipher,
    wrapper_frame,
)

KEYS = MemoryKeyStore({TITLE: KeySet(GUEK, GAK, BROADCAST, DEDICATED)})


def receiver(framing: str = "wrapper", **options: Any) -> PushReceiver:
    options.setdefault("keys", KEYS)
    options.setdefault("counter_store", MemoryInvocationCounterStore())
    return PushReceiver(framing, **options)  # type: ignore[arg-type]


def feed(rx: PushReceiver, *chunks: bytes, source: object = "meter", now: float = 0.0) -> list[Any]:
    for chunk in chunks:
        rx.receive_data(chunk, now=now, source=source)
    return rx.events()


def summary(events: list[Any]) -> list[tuple[Any, ...]]:
    """Events as comparable tuples (errors compare by type and message)."""
    out: list[tuple[Any, ...]] = []
    for event in events:
        if isinstance(event, Notification):
            out.append(("n", event.apdu, event.link_address, event.system_title, event.security))
        elif isinstance(event, PushRejected):
            out.append(("r", type(event.cause), str(event.cause), event.link_address))
        else:
            out.append(("i", event.apdu, event.reason))
    return out


def energy(event: Any) -> Any:
    assert isinstance(event, Notification), event
    return event.readings()[Obis("1.0.1.8.0.255")].raw


# -- framings and chunking --------------------------------------------------------------------


def _stream(framing: str, count: int) -> bytes:
    """``count`` pushes; every third one ciphered and sent as GBT blocks."""
    out = bytearray()
    meter = context()
    for n in range(count):
        apdus = [notification(1000 + n, invoke_id=n)]
        if n % 3 == 2:
            apdus = gbt_blocks(meter.protect(apdus[0]), 25)
        for apdu in apdus:
            if framing == "hdlc":
                out += b"\x00\x11" + b"".join(hdlc_frames(apdu, size=40))
            elif framing == "mbus":
                out += b"\xe5" + b"".join(f.encode() for f in mbus_segments(apdu, max_data=30))
            else:
                out += wrapper_frame(apdu)
    return bytes(out)


@pytest.mark.parametrize("framing", ["wrapper", "hdlc", "mbus"])
def test_each_framing_decodes(framing: str) -> None:
    events = feed(receiver(framing), _stream(framing, 3))
    assert [energy(e) for e in events] == [1000, 1001, 1002]
    assert events[0].link_address.framing == framing


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    framing=st.sampled_from(["wrapper", "hdlc", "mbus"]),
    cuts=st.lists(st.integers(min_value=0, max_value=2000), max_size=40),
)
def test_any_chunking_gives_the_same_events(framing: str, cuts: list[int]) -> None:
    data = _stream(framing, 4)
    whole = summary(feed(receiver(framing), data))
    points = sorted({c % (len(data) + 1) for c in cuts})
    chunks = [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]
    assert summary(feed(receiver(framing), *chunks)) == whole
    assert len(whole) == 4


def test_byte_by_byte() -> None:
    data = _stream("hdlc", 2)
    events = feed(receiver("hdlc"), *[data[i : i + 1] for i in range(len(data))])
    assert [energy(e) for e in events] == [1000, 1001]


# -- interleaving -----------------------------------------------------------------------------


def test_segments_of_two_meters_on_one_line_are_not_mixed() -> None:
    a = hdlc_frames(notification(111), source=16, size=20)
    b = hdlc_frames(notification(222), source=17, size=20)
    assert len(a) > 2
    mixed = [frame for pair in zip(a, b, strict=True) for frame in pair]
    events = feed(receiver("hdlc"), b"".join(mixed))
    by_source = {e.link_address.source.logical: energy(e) for e in events}
    assert by_source == {16: 111, 17: 222}


def test_two_sources_byte_interleaved_are_not_mixed() -> None:
    rx = receiver("wrapper")
    one, two = wrapper_frame(notification(1)), wrapper_frame(notification(2))
    for i in range(max(len(one), len(two))):
        rx.receive_data(one[i : i + 1], now=0.0, source=("10.0.0.1", 4059))
        rx.receive_data(two[i : i + 1], now=0.0, source=("10.0.0.2", 4059))
    events = rx.events()
    assert {e.source: energy(e) for e in events} == {("10.0.0.1", 4059): 1, ("10.0.0.2", 4059): 2}


# -- noise --------------------------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(framing=st.sampled_from(["wrapper", "hdlc", "mbus", "apdu"]), data=st.binary(max_size=600))
def test_random_bytes_raise_nothing(framing: str, data: bytes) -> None:
    rx = receiver(framing)
    rx.receive_data(data, now=0.0, source="noise")
    for event in rx.events():
        assert isinstance(event, (Notification, PushRejected, PushIgnored))
        if isinstance(event, PushRejected):
            assert isinstance(event.cause, DlmsError)


@pytest.mark.parametrize("framing", ["hdlc", "mbus"])
def test_a_push_after_a_megabyte_of_noise_still_decodes(framing: str) -> None:
    rng = random.Random(14)
    noise = bytes(rng.getrandbits(8) for _ in range(1 << 20))
    rx = receiver(framing)
    for i in range(0, len(noise), 4096):
        rx.receive_data(noise[i : i + 4096], now=0.0, source="line")
    rx.events()
    events = feed(rx, b"\x00" * 300 + _stream(framing, 1), source="line")
    assert [energy(e) for e in events if isinstance(e, Notification)] == [1000]


def test_truncated_random_ciphered_pushes_are_rejected_not_raised() -> None:
    push = context().protect(notification())
    rx = receiver("apdu")
    for end in range(1, len(push)):
        rx.receive_data(push[:end], now=0.0, source="x")
    events = rx.events()
    assert events and all(isinstance(e, PushRejected) for e in events)


# -- not a push ---------------------------------------------------------------------------------


def test_an_aare_is_ignored_not_a_notification() -> None:
    aare = Aare(AssociationResult.ACCEPTED).encode()
    (event,) = feed(receiver("wrapper"), wrapper_frame(aare))
    assert isinstance(event, PushIgnored)
    assert event.apdu == aare and "aare" in event.reason


def test_garbage_apdu_is_rejected() -> None:
    (event,) = feed(receiver("apdu"), b"\x77\x01\x02")
    assert isinstance(event, PushRejected)


def test_event_notification_reading() -> None:
    apdu = EventNotificationRequest(
        CosemAttributeDescriptor(1, Obis("0.0.96.11.0.255"), 2), 42
    ).encode()
    (event,) = feed(receiver("apdu"), apdu)
    reading = event.readings()[Obis("0.0.96.11.0.255")]
    assert (reading.class_id, reading.attribute_index, reading.raw) == (1, 2, 42)


# -- general block transfer ---------------------------------------------------------------------


@pytest.mark.parametrize("order", ["in-order", "reversed", "shuffled-with-duplicates"])
@pytest.mark.parametrize("ciphered", [False, True])
def test_gbt_push_reassembled(order: str, ciphered: bool) -> None:
    apdu = notification(4242)
    if ciphered:
        apdu = context().protect(apdu)
    blocks = gbt_blocks(apdu, 9)
    assert len(blocks) > 4
    if order == "reversed":
        blocks.reverse()
    elif order == "shuffled-with-duplicates":
        blocks = blocks + blocks[:3]
        random.Random(7).shuffle(blocks)
    events = feed(receiver("wrapper"), *(wrapper_frame(b) for b in blocks))
    (event,) = events
    assert energy(event) == 4242
    assert (event.security is not None) is ciphered


def test_gbt_ciphered_push_without_keys_is_reassembled_then_reported() -> None:
    blocks = gbt_blocks(context().protect(notification()), 9)
    rx = receiver("apdu", keys=MemoryKeyStore())
    (event,) = feed(rx, *blocks)
    assert isinstance(event, PushRejected) and isinstance(event.cause, UnknownSenderError)
    assert event.system_title == TITLE


def test_gbt_incomplete_transfer_expires() -> None:
    rx = receiver("apdu", reassembly_timeout=5.0)
    blocks = gbt_blocks(notification(), 9)
    assert feed(rx, *blocks[:-1], now=100.0) == []
    assert rx.next_deadline() == 105.0
    rx.expire(104.0)
    assert rx.events() == []
    rx.expire(105.5)
    (event,) = rx.events()
    assert isinstance(event.cause, ReassemblyTimeoutError)
    assert rx.next_deadline() is None
    assert feed(rx, blocks[-1], now=106.0) == []  # a lone last block waits for its start


def test_gbt_blocks_of_two_meters_are_not_mixed() -> None:
    a = gbt_blocks(notification(1), 9)
    b = gbt_blocks(notification(2), 9)
    rx = receiver("hdlc")
    chunks = []
    for x, y in zip(a, b, strict=False):
        chunks += hdlc_frames(x, source=20) + hdlc_frames(y, source=21)
    chunks += [f for x in a[len(b) :] for f in hdlc_frames(x, source=20)]
    chunks += [f for y in b[len(a) :] for f in hdlc_frames(y, source=21)]
    events = feed(rx, *chunks)
    assert sorted(energy(e) for e in events) == [1, 2]


# -- ciphering --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("form", "policy", "broadcast"),
    [
        (CipheringForm.GENERAL_GLOBAL, SecurityPolicy.AUTHENTICATED_ENCRYPTION, False),
        (CipheringForm.GENERAL_GLOBAL, SecurityPolicy.AUTHENTICATION_ONLY, False),
        (CipheringForm.GENERAL_GLOBAL, SecurityPolicy.ENCRYPTION_ONLY, False),
        (CipheringForm.GENERAL_GLOBAL, SecurityPolicy.AUTHENTICATED_ENCRYPTION, True),
        (CipheringForm.GENERAL_DEDICATED, SecurityPolicy.AUTHENTICATED_ENCRYPTION, False),
    ],
)
def test_general_ciphered_pushes(
    form: CipheringForm, policy: SecurityPolicy, broadcast: bool
) -> None:
    push = context(form=form, policy=policy).protect(notification(77), broadcast=broadcast)
    (event,) = feed(receiver("apdu"), push)
    assert energy(event) == 77
    assert event.system_title == TITLE
    assert event.security.security_control.policy is policy
    assert event.security.tag_verified is bool(policy & 0x10)
    assert event.security.form == (
        "general-ded" if form is CipheringForm.GENERAL_DEDICATED else "general-glo"
    )


@pytest.mark.parametrize("form", [CipheringForm.GLOBAL, CipheringForm.DEDICATED])
def test_glo_and_ded_ciphered_event_notification_need_the_title_of_the_source(
    form: CipheringForm,
) -> None:
    apdu = EventNotificationRequest(
        CosemAttributeDescriptor(1, Obis("0.0.96.11.0.255"), 2), 5
    ).encode()
    push = context(form=form).protect(apdu)
    assert push[0] in (0xCA, 0xD2)
    (unknown,) = feed(receiver("wrapper"), wrapper_frame(push), source="peer")
    assert isinstance(unknown.cause, UnknownSenderError)
    rx = receiver("wrapper", system_titles={"peer": TITLE.hex()})
    (event,) = feed(rx, wrapper_frame(push), source="peer")
    assert isinstance(event, Notification) and event.system_title == TITLE
    assert event.security.form == ("ded" if form is CipheringForm.DEDICATED else "glo")


def test_title_learned_from_general_glo_serves_later_glo_pushes() -> None:
    meter = context(form=CipheringForm.GENERAL_GLOBAL)
    rx = receiver("wrapper")
    first = meter.protect(notification())
    meter.use_form(CipheringForm.GLOBAL)
    apdu = EventNotificationRequest(
        CosemAttributeDescriptor(1, Obis("0.0.96.11.0.255"), 2), 5
    ).encode()
    second = meter.protect(apdu)
    events = feed(rx, wrapper_frame(first), wrapper_frame(second), source="peer")
    assert [type(e) for e in events] == [Notification, Notification]


def test_replayed_and_older_pushes_are_dropped() -> None:
    meter = context(initial=10)
    first, second = meter.protect(notification(1)), meter.protect(notification(2))
    events = feed(receiver("apdu"), first, first, second, first)
    kinds = [type(e.cause) if isinstance(e, PushRejected) else Notification for e in events]
    assert kinds == [Notification, ReplayError, Notification, ReplayError]


def test_process_store_is_the_default() -> None:
    from asyncdlms.security import default_invocation_counter_store

    rx = PushReceiver("apdu", keys=KEYS)
    assert rx.counter_store is default_invocation_counter_store()


def test_a_forged_push_does_not_advance_the_counter() -> None:
    meter = context(initial=50)
    good = meter.protect(notification())
    forged = bytearray(context(initial=1000).protect(notification()))
    forged[-1] ^= 1
    events = feed(receiver("apdu"), bytes(forged), good)
    assert isinstance(events[0].cause, AuthenticationTagError)
    assert isinstance(events[1], Notification)


def test_unknown_sender() -> None:
    push = context(title=bytes.fromhex("0102030405060708")).protect(notification())
    (event,) = feed(receiver("apdu"), push)
    assert isinstance(event.cause, UnknownSenderError)
    assert event.system_title == bytes.fromhex("0102030405060708")


def test_require_ciphering() -> None:
    (event,) = feed(receiver("apdu", require_ciphering=True), notification())
    assert isinstance(event.cause, SecurityPolicyError)


@pytest.mark.parametrize("sc", [0x21, 0x31, 0x11])
def test_security_suite_1_is_aes_gcm_128(sc: int) -> None:
    (event,) = feed(receiver("apdu"), suite_cipher(notification(9), sc, 5))
    assert energy(event) == 9
    assert event.security.security_suite == 1


def test_security_suite_2_is_refused_clearly() -> None:
    (event,) = feed(receiver("apdu"), suite_cipher(notification(9), 0x32, 5))
    assert isinstance(event.cause, UnsupportedSecuritySuiteError)
    assert "suite 2" in str(event.cause) and "AES-GCM-256" in str(event.cause)


def test_wrong_key_is_a_tag_error_without_key_material() -> None:
    wrong = MemoryKeyStore({TITLE: KeySet(bytes(16), GAK)})
    (event,) = feed(receiver("apdu", keys=wrong), context().protect(notification()))
    assert isinstance(event.cause, AuthenticationTagError)
    for key in (GUEK, GAK, bytes(16)):
        assert key.hex() not in str(event).lower()


# -- the tag check opt-in -----------------------------------------------------------------------


def test_authenticated_push_without_authentication_key_is_refused_by_default() -> None:
    only_encryption = MemoryKeyStore.for_everyone(GUEK)
    (event,) = feed(receiver("apdu", keys=only_encryption), context().protect(notification()))
    assert isinstance(event.cause, DecipheringError)
    assert "unsafe_skip_tag_check" in str(event.cause)


def test_unsafe_skip_tag_check_opt_in(caplog: pytest.LogCaptureFixture) -> None:
    only_encryption = MemoryKeyStore.for_everyone(GUEK)
    with caplog.at_level(logging.WARNING, logger="asyncdlms.listen"):
        rx = receiver("apdu", keys=only_encryption, unsafe_skip_tag_check=True)
        push = context().protect(notification(31))
        (event,) = feed(rx, push)
    assert energy(event) == 31
    assert event.security.tag_verified is False
    assert sum("WITHOUT checking" in r.getMessage() for r in caplog.records) == 2
    # with the authentication key known, the tag is always checked, opt-in or not
    forged = bytearray(context(initial=99).protect(notification()))
    forged[-1] ^= 1
    rx = receiver("apdu", unsafe_skip_tag_check=True)
    (refused,) = feed(rx, bytes(forged))
    assert isinstance(refused.cause, AuthenticationTagError)


# -- M-Bus ------------------------------------------------------------------------------------


def test_mbus_segment_out_of_sequence() -> None:
    frames = mbus_segments(notification(), max_data=20)
    assert len(frames) >= 3
    events = feed(receiver("mbus"), frames[0].encode(), frames[2].encode())
    assert [type(e.cause) for e in events] == [MBusFrameError, MBusFrameError]


def test_mbus_bad_checksum_is_reported() -> None:
    frame = bytearray(mbus_segments(notification())[0].encode())
    frame[-2] ^= 0xFF
    (event,) = feed(receiver("mbus"), bytes(frame))
    assert isinstance(event, PushRejected)


def test_hdlc_segments_whose_rest_never_comes_expire_on_the_next_data() -> None:
    rx = receiver("hdlc", reassembly_timeout=10.0)
    first, *_rest = hdlc_frames(notification(5), size=20)
    assert feed(rx, first, now=0.0) == []
    events = feed(rx, b"".join(hdlc_frames(notification(6))), now=20.0)
    assert isinstance(events[0], PushRejected)
    assert isinstance(events[0].cause, ReassemblyTimeoutError)
    assert energy(events[1]) == 6
    assert rx.next_deadline() is None


def test_a_thousand_meters_nothing_lost_and_old_sources_forgotten() -> None:
    rx = receiver("wrapper", max_sources=100)
    pushes = {n: wrapper_frame(notification(n)) for n in range(1000)}
    for n, push in pushes.items():  # every meter's push in two halves, interleaved in pairs
        rx.receive_data(push[:10], now=0.0, source=("meter", n))
    for n in reversed(range(1000)):  # the kept ones first: hearing them keeps them
        rx.receive_data(pushes[n][10:], now=0.0, source=("meter", n))
    events = rx.events()
    # only the 100 most recent sources were kept: the others' first halves were forgotten,
    # so their second halves are refused as streams that do not start with a header
    notifications = [e for e in events if isinstance(e, Notification)]
    assert sorted(energy(e) for e in notifications) == list(range(900, 1000))
    rejected = [e for e in events if isinstance(e, PushRejected)]
    assert len(rejected) == 900 and all(isinstance(e.cause, WrapperError) for e in rejected)
    rx = receiver("wrapper")
    for n, push in pushes.items():
        rx.receive_data(push, now=0.0, source=("meter", n))
    assert sorted(energy(e) for e in rx.events()) == list(range(1000))


@settings(max_examples=80, deadline=None)
@given(
    order=st.permutations(list(range(7))),
    duplicates=st.lists(st.integers(min_value=0, max_value=6), max_size=5),
    ciphered=st.booleans(),
)
def test_gbt_blocks_in_any_order_with_duplicates(
    order: list[int], duplicates: list[int], ciphered: bool
) -> None:
    apdu = notification(2024)
    if ciphered:
        apdu = context().protect(apdu)
    blocks = gbt_blocks(apdu, -(-len(apdu) // 7))
    assert len(blocks) == 7
    sequence = [blocks[i] for i in order]
    for position, index in enumerate(duplicates):  # a few blocks twice, anywhere
        sequence.insert(min(position * 2, len(sequence)), blocks[index])
    events = feed(receiver("apdu"), *sequence)
    notifications = [e for e in events if isinstance(e, Notification)]
    assert [energy(e) for e in notifications] == [2024]


def test_information_report_push() -> None:
    from asyncdlms.apdu.notification import InformationReportRequest
    from asyncdlms.apdu.short_name import VariableName

    apdu = InformationReportRequest((VariableName(0x0100),), (7,)).encode()
    (event,) = feed(receiver("wrapper"), wrapper_frame(apdu))
    assert isinstance(event, Notification) and event.body == (7,)


def test_gbt_blocks_without_data_are_rejected() -> None:
    from asyncdlms.apdu.block_transfer import GeneralBlockTransfer
    from asyncdlms.errors import BlockTransferError

    blocks = [
        GeneralBlockTransfer(1, b"", last_block=False).encode(),
        GeneralBlockTransfer(2, b"", last_block=True).encode(),
    ]
    (event,) = feed(receiver("apdu"), *blocks)
    assert isinstance(event, PushRejected) and isinstance(event.cause, BlockTransferError)


def test_link_address_text() -> None:
    (event,) = feed(receiver("mbus"), b"".join(f.encode() for f in mbus_segments(notification())))
    assert str(event.link_address) == "mbus 255 (TSAP 1->103)"


def test_decode_pushes_reports_what_is_left_incomplete() -> None:
    from asyncdlms.listen import decode_pushes

    frames = hdlc_frames(notification(3), source=30, size=20)
    events = decode_pushes(b"".join(frames[:-1]) + b"".join(hdlc_frames(notification(4))))
    assert energy(events[0]) == 4
    assert isinstance(events[1], PushRejected)
    assert isinstance(events[1].cause, ReassemblyTimeoutError)


def test_a_lost_hdlc_segment_does_not_spoil_the_next_push() -> None:
    from asyncdlms.errors import BlockTransferError

    frames = hdlc_frames(notification(3), size=20)
    events = feed(receiver("hdlc"), *frames[:-1], *hdlc_frames(notification(4), size=20))
    assert isinstance(events[0], PushRejected)
    assert isinstance(events[0].cause, BlockTransferError)
    assert energy(events[1]) == 4
