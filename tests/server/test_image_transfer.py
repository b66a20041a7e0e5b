"""The meter side of Image transfer (class 18) as a sans-IO state machine: every rule of
:mod:`asyncdlms.server.image_transfer`, with the time given, no sockets."""

from __future__ import annotations

import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asyncdlms.apdu.enums import ActionResult, DataAccessResult
from asyncdlms.cosem.errors import CosemValueError
from asyncdlms.cosem.image_transfer import (
    ImageTransferStatus,
    firmware_image,
    parse_firmware_image,
    split_image,
    verify_firmware_image,
)
from asyncdlms.server.image_transfer import (
    ImageTransferFaults,
    ImageTransferServer,
    ImageTransferSettings,
)
from asyncdlms.server.image_transfer_objects import parse_execution_time

Status = ImageTransferStatus
OK = ActionResult.SUCCESS
T0 = 1_780_000_000.0


def machine(**settings_: object) -> ImageTransferServer:
    return ImageTransferServer(ImageTransferSettings(**settings_))  # type: ignore[arg-type]


def image_of(identifier: bytes = b"FW-2", size: int = 1000) -> bytes:
    return firmware_image(identifier, bytes((i * 31 + 7) & 0xFF for i in range(size)))


def send_all(server: ImageTransferServer, image: bytes, now: float = T0) -> None:
    for block in split_image(image, server.image_block_size):
        assert server.image_block_transfer(block.number, block.value, now) is OK


# -- the self-checking image -------------------------------------------------------------------


def test_firmware_image_round_trip_and_identifier_check() -> None:
    image = firmware_image(b"FW-2.1", b"payload bytes")
    parsed = parse_firmware_image(image)
    assert (parsed.identifier, parsed.payload) == (b"FW-2.1", b"payload bytes")
    assert parsed.intact()
    assert verify_firmware_image(b"FW-2.1", image)
    assert not verify_firmware_image(b"FW-2.2", image)
    assert not verify_firmware_image(b"FW-2.1", image[:-1])
    assert not verify_firmware_image(b"FW-2.1", b"not an image at all")
    with pytest.raises(CosemValueError, match="magic"):
        parse_firmware_image(b"XXXX" + image[4:])
    with pytest.raises(CosemValueError):
        firmware_image(b"", b"x")


@given(st.binary(max_size=300), st.data())
@settings(max_examples=150, deadline=None)
def test_any_flipped_byte_fails_the_verification(payload: bytes, data: st.DataObject) -> None:
    image = firmware_image(b"ID-7", payload)
    position = data.draw(st.integers(0, len(image) - 1))
    bit = data.draw(st.integers(0, 7))
    corrupt = bytearray(image)
    corrupt[position] ^= 1 << bit
    assert verify_firmware_image(b"ID-7", image)
    assert not verify_firmware_image(b"ID-7", bytes(corrupt))


# -- blocks ----------------------------------------------------------------------------------


def test_block_size_and_block_sizes_are_enforced() -> None:
    server = machine(block_size=64)
    assert server.image_block_size == 64
    assert server.image_transfer_initiate(b"FW", 150, T0) is OK  # blocks 64, 64, 22
    assert server.block_count == 3
    assert server.image_block_transfer(0, bytes(63), T0) is ActionResult.OTHER_REASON
    assert server.image_block_transfer(0, bytes(65), T0) is ActionResult.OTHER_REASON
    assert server.image_block_transfer(2, bytes(21), T0) is ActionResult.OTHER_REASON
    assert server.image_block_transfer(2, bytes(65), T0) is ActionResult.OTHER_REASON
    assert server.image_block_transfer(3, bytes(64), T0) is ActionResult.OTHER_REASON
    assert not any(server.transferred_blocks())
    assert server.image_block_transfer(2, bytes(22), T0) is OK
    assert server.image_block_transfer(0, bytes(64), T0) is OK
    assert server.transferred_blocks() == (True, False, True)
    assert server.first_not_transferred_block_number == 1
    assert server.image_block_transfer(1, bytes(64), T0) is OK
    assert server.first_not_transferred_block_number == 3
    assert server.complete()


def test_a_last_block_padded_to_the_block_size_is_trimmed() -> None:
    server = machine(block_size=100)
    image = image_of(size=250)
    server.image_transfer_initiate(b"FW-2", len(image), T0)
    for block in split_image(image, 100, padding=0xFF):
        assert server.image_block_transfer(block.number, block.value, T0) is OK
    assert server.image() == image
    assert server.image_verify(T0) is OK


def test_nothing_before_an_initiate_and_nothing_while_disabled() -> None:
    server = machine()
    assert server.image_transfer_status is Status.IMAGE_TRANSFER_NOT_INITIATED
    assert server.transferred_blocks() == ()
    assert server.first_not_transferred_block_number == 0
    assert server.image_block_transfer(0, bytes(200), T0) is ActionResult.OTHER_REASON
    assert server.image_verify(T0) is ActionResult.OTHER_REASON
    assert server.image_activate(T0) is ActionResult.OTHER_REASON
    assert server.image_transfer_initiate(b"FW", 0, T0) is ActionResult.OTHER_REASON
    too_big = server.settings.max_image_size + 1
    assert server.image_transfer_initiate(b"FW", too_big, T0) is ActionResult.OTHER_REASON
    server.image_transfer_enabled = False
    assert server.image_transfer_initiate(b"FW", 10, T0) is ActionResult.READ_WRITE_DENIED
    server.image_transfer_enabled = True
    assert server.image_transfer_initiate(b"FW", 10, T0) is OK
    server.image_transfer_enabled = False
    for result in (
        server.image_block_transfer(0, bytes(10), T0),
        server.image_verify(T0),
        server.image_activate(T0),
    ):
        assert result is ActionResult.READ_WRITE_DENIED
    assert server.transferred_blocks() == (False,)


def test_re_initiating_the_same_image_keeps_the_blocks_another_restarts() -> None:
    server = machine(block_size=100)
    image = image_of(size=450)
    blocks = list(split_image(image, 100))
    server.image_transfer_initiate(b"FW-2", len(image), T0)
    for block in blocks[:3]:
        server.image_block_transfer(block.number, block.value, T0)
    assert server.image_transfer_initiate(b"FW-2", len(image), T0 + 60) is OK
    assert server.first_not_transferred_block_number == 3
    assert server.transferred_blocks()[:3] == (True, True, True)
    # a different size, then a different identifier: from nothing
    assert server.image_transfer_initiate(b"FW-2", len(image) + 1, T0) is OK
    assert server.first_not_transferred_block_number == 0
    server.image_block_transfer(0, blocks[0].value, T0)
    assert server.image_transfer_initiate(b"FW-3", len(image) + 1, T0) is OK
    assert not any(server.transferred_blocks())


def test_a_block_received_twice_changes_nothing() -> None:
    server = machine(block_size=100)
    image = image_of(size=300)
    server.image_transfer_initiate(b"FW-2", len(image), T0)
    send_all(server, image)
    assert server.image_verify(T0) is OK
    assert server.image_block_transfer(1, image[100:200], T0) is OK
    assert server.image_transfer_status is Status.IMAGE_VERIFICATION_SUCCESSFUL
    # a different value for a block received: stored, and the verification is void
    assert server.image_block_transfer(1, bytes(100), T0) is OK
    assert server.image_transfer_status is Status.IMAGE_TRANSFER_INITIATED
    assert server.image_to_activate_info() == ()


@given(
    st.integers(1, 40),
    st.integers(1, 2000),
    st.lists(st.integers(0, 10_000), max_size=120),
)
@settings(max_examples=120, deadline=None)
def test_any_order_and_duplication_of_blocks_reassembles(
    block_size: int, size: int, order: list[int]
) -> None:
    image = bytes((i * 131 + 17) & 0xFF for i in range(size))
    blocks = list(split_image(image, block_size))
    server = machine(block_size=block_size, verifier=lambda identifier, data: data == image)
    server.image_transfer_initiate(b"X", size, T0)
    received: set[int] = set()
    for pick in order:
        block = blocks[pick % len(blocks)]
        assert server.image_block_transfer(block.number, block.value, T0) is OK
        received.add(block.number)
    bits = server.transferred_blocks()
    assert bits == tuple(n in received for n in range(len(blocks)))
    missing = [n for n in range(len(blocks)) if n not in received]
    assert server.first_not_transferred_block_number == (missing[0] if missing else len(blocks))
    for block in reversed(blocks):  # the rest, backwards, some twice
        server.image_block_transfer(block.number, block.value, T0)
    assert server.image() == image
    assert server.image_verify(T0) is OK


# -- verification -------------------------------------------------------------------------


def test_verification_fails_at_once_while_blocks_are_missing() -> None:
    server = machine(block_size=100, verification_time=30)
    image = image_of(size=300)
    server.image_transfer_initiate(b"FW-2", len(image), T0)
    blocks = list(split_image(image, 100))
    for block in blocks[:-1]:
        server.image_block_transfer(block.number, block.value, T0)
    assert server.image_verify(T0) is ActionResult.OTHER_REASON
    assert server.image_transfer_status is Status.IMAGE_VERIFICATION_FAILED
    assert server.image_verify(T0) is ActionResult.OTHER_REASON  # until something changes
    server.image_block_transfer(blocks[-1].number, blocks[-1].value, T0)
    assert server.image_transfer_status is Status.IMAGE_TRANSFER_INITIATED
    assert server.image_verify(T0) is ActionResult.TEMPORARY_FAILURE


def test_verification_takes_its_time() -> None:
    server = machine(block_size=100, verification_time=30)
    image = image_of(size=300)
    server.image_transfer_initiate(b"FW-2", len(image), T0)
    send_all(server, image)
    assert server.image_verify(T0) is ActionResult.TEMPORARY_FAILURE
    assert server.image_transfer_status is Status.IMAGE_VERIFICATION_INITIATED
    assert server.image_to_activate_info() == ()
    server.advance(T0 + 29)
    assert server.image_transfer_status is Status.IMAGE_VERIFICATION_INITIATED
    assert server.image_verify(T0 + 29) is ActionResult.TEMPORARY_FAILURE
    assert server.image_block_transfer(0, image[:100], T0 + 29) is ActionResult.TEMPORARY_FAILURE
    server.advance(T0 + 30)
    assert server.image_transfer_status is Status.IMAGE_VERIFICATION_SUCCESSFUL
    assert server.image_verify(T0 + 31) is OK
    (info,) = server.image_to_activate_info()
    assert info.image_to_activate_size == len(image)
    assert info.image_to_activate_identification == b"FW-2"
    assert len(info.image_to_activate_signature) == 32


@pytest.mark.parametrize("verification_time", [0, 12])
def test_a_corrupt_image_fails_the_verification(verification_time: float) -> None:
    server = machine(block_size=100, verification_time=verification_time)
    image = bytearray(image_of(size=300))
    image[150] ^= 0x40
    server.image_transfer_initiate(b"FW-2", len(image), T0)
    send_all(server, bytes(image))
    first = server.image_verify(T0)
    server.advance(T0 + verification_time)
    assert server.image_transfer_status is Status.IMAGE_VERIFICATION_FAILED
    assert first is (
        ActionResult.TEMPORARY_FAILURE if verification_time else ActionResult.OTHER_REASON
    )
    assert server.image_verify(T0 + verification_time) is ActionResult.OTHER_REASON
    assert server.image_to_activate_info() == ()
    assert server.image_activate(T0 + verification_time) is ActionResult.OTHER_REASON
    assert server.active_identifier == b"SIM-1.0.0"


def test_an_image_of_another_identifier_fails_and_the_verifier_is_pluggable() -> None:
    server = machine(block_size=100)
    image = image_of(b"FW-9", size=200)
    server.image_transfer_initiate(b"FW-2", len(image), T0)
    send_all(server, image)
    assert server.image_verify(T0) is ActionResult.OTHER_REASON
    seen: list[tuple[bytes, bytes]] = []

    def accept_anything(identifier: bytes, data: bytes) -> bool:
        seen.append((identifier, data))
        return True

    server = machine(block_size=100, verifier=accept_anything)
    server.image_transfer_initiate(b"FW-2", 150, T0)
    send_all(server, bytes(150))
    assert server.image_verify(T0) is OK
    assert seen == [(b"FW-2", bytes(150))]


# -- activation -----------------------------------------------------------------------------


def test_activation_takes_its_time_and_changes_the_firmware() -> None:
    server = machine(block_size=100, activation_time=20)
    image = image_of(size=300)
    server.image_transfer_initiate(b"FW-2", len(image), T0)
    send_all(server, image)
    assert server.image_verify(T0) is OK
    assert server.image_activate(T0) is ActionResult.TEMPORARY_FAILURE
    assert server.image_transfer_status is Status.IMAGE_ACTIVATION_INITIATED
    assert server.active_identifier == b"SIM-1.0.0"
    assert server.image_activate(T0 + 5) is ActionResult.TEMPORARY_FAILURE
    server.advance(T0 + 20)
    assert server.image_transfer_status is Status.IMAGE_ACTIVATION_SUCCESSFUL
    assert server.active_identifier == b"FW-2"
    assert server.image_activate(T0 + 21) is OK
    assert not server.take_restart()


def test_activating_an_unverified_image_verifies_it_first() -> None:
    server = machine(block_size=100, verification_time=10, restart_on_activation=True)
    image = image_of(size=300)
    server.image_transfer_initiate(b"FW-2", len(image), T0)
    send_all(server, image)
    assert server.image_activate(T0) is ActionResult.TEMPORARY_FAILURE
    assert server.image_transfer_status is Status.IMAGE_VERIFICATION_INITIATED
    assert server.image_activate(T0 + 10) is OK
    assert server.image_transfer_status is Status.IMAGE_ACTIVATION_SUCCESSFUL
    assert server.active_identifier == b"FW-2"
    assert server.take_restart() and not server.take_restart()


# -- scheduled activation --------------------------------------------------------------------


def test_a_scheduled_activation_runs_when_the_meter_clock_passes_it() -> None:
    server = machine(block_size=100)
    image = image_of(size=300)
    server.image_transfer_initiate(b"FW-2", len(image), T0)
    send_all(server, image)
    assert server.image_verify(T0) is OK
    clock_offset = 3600.0  # the meter's clock is an hour ahead
    server.schedule_activation([T0 - 10, T0 + clock_offset + 600], T0 + clock_offset)
    assert server.pending_activations == (T0 + clock_offset + 600,)  # the past one never runs
    server.advance(T0 + 599, T0 + clock_offset + 599)
    assert server.active_identifier == b"SIM-1.0.0"
    server.advance(T0 + 601, T0 + clock_offset + 601)
    assert server.active_identifier == b"FW-2"
    assert server.image_transfer_status is Status.IMAGE_ACTIVATION_SUCCESSFUL
    assert server.pending_activations == ()


def test_a_scheduled_activation_waits_for_a_verification_under_way() -> None:
    server = machine(block_size=100, verification_time=100, activation_time=50)
    image = image_of(size=300)
    server.image_transfer_initiate(b"FW-2", len(image), T0)
    send_all(server, image)
    assert server.image_verify(T0) is ActionResult.TEMPORARY_FAILURE
    server.schedule_activation([T0 + 10], T0)
    server.advance(T0 + 20)
    assert server.pending_activations == (T0 + 10,)
    server.advance(T0 + 120)  # verified at +100, activation from +100 to +150
    assert server.image_transfer_status is Status.IMAGE_ACTIVATION_INITIATED
    server.advance(T0 + 150)
    assert server.active_identifier == b"FW-2"


def test_execution_time_values() -> None:
    at = datetime.datetime(2026, 3, 10, 13, 0, 5, tzinfo=datetime.UTC)
    entry = (bytes((13, 0, 5, 0)), bytes((0x07, 0xEA, 3, 10, 2)))
    assert parse_execution_time([entry]) == (at.timestamp(),)
    assert parse_execution_time([(b"\xff" * 4, b"\xff" * 5)]) == ()
    assert parse_execution_time([]) == ()
    wildcard_day = (bytes((13, 0, 5, 0)), bytes((0x07, 0xEA, 3, 0xFF, 2)))
    assert parse_execution_time([wildcard_day]) is DataAccessResult.OTHER_REASON
    assert parse_execution_time([(b"\x00" * 3, b"\x00" * 5)]) is DataAccessResult.TYPE_UNMATCHED
    assert parse_execution_time(b"x") is DataAccessResult.TYPE_UNMATCHED


# -- faults and restarts --------------------------------------------------------------------


def test_faults_drop_refuse_and_corrupt_once() -> None:
    server = ImageTransferServer(
        ImageTransferSettings(block_size=100),
        ImageTransferFaults(
            drop_connection_at_block=1, refuse_blocks=frozenset({2}), refusals=2, corrupt_block=0
        ),
    )
    image = image_of(size=300)
    blocks = list(split_image(image, 100))
    server.image_transfer_initiate(b"FW-2", len(image), T0)
    assert server.image_block_transfer(1, blocks[1].value, T0) is None  # the connection drops
    assert server.transferred_blocks()[1] is False
    # the rest of the request (an ACTION with-list) is not received either
    assert server.image_block_transfer(2, blocks[2].value, T0) is None
    assert not any(server.transferred_blocks())
    server.connection_dropped()  # the connection is gone: the next one is served
    assert server.image_block_transfer(1, blocks[1].value, T0) is OK  # once only
    for _ in range(2):
        assert server.image_block_transfer(2, blocks[2].value, T0) is ActionResult.TEMPORARY_FAILURE
    for block in blocks:
        assert server.image_block_transfer(block.number, block.value, T0) is OK
    assert server.image() != image  # block 0 stored with a bit flipped
    assert server.image_verify(T0) is ActionResult.OTHER_REASON
    # after a failed verification, initiating again starts from nothing: now it works
    assert server.image_transfer_initiate(b"FW-2", len(image), T0) is OK
    assert server.first_not_transferred_block_number == 0
    send_all(server, image)
    assert server.image_verify(T0) is OK


@pytest.mark.parametrize("loses", [False, True])
def test_a_restart_keeps_or_loses_the_transfer(loses: bool) -> None:
    server = machine(block_size=100, verification_time=50)
    server.set_faults(ImageTransferFaults(restart_loses_transfer=loses))
    image = image_of(size=300)
    server.image_transfer_initiate(b"FW-2", len(image), T0)
    send_all(server, image)
    assert server.image_verify(T0) is ActionResult.TEMPORARY_FAILURE
    server.restart()
    if loses:
        assert server.image_transfer_status is Status.IMAGE_TRANSFER_NOT_INITIATED
        assert server.transferred_blocks() == ()
    else:
        assert server.image_transfer_status is Status.IMAGE_TRANSFER_INITIATED
        assert all(server.transferred_blocks())
    server.advance(T0 + 100)
    assert server.image_transfer_status in (
        Status.IMAGE_TRANSFER_NOT_INITIATED,
        Status.IMAGE_TRANSFER_INITIATED,
    )


def test_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="block_size"):
        ImageTransferSettings(block_size=0)
    with pytest.raises(ValueError, match="negative"):
        ImageTransferSettings(verification_time=-1)
    with pytest.raises(ValueError, match="refusals"):
        ImageTransferFaults(refusals=-1)
