"""The General Block Transfer channel (asyncdlms.session.gbt) on its own: splitting, windows,
acknowledgements, streaming, duplicates dropped, lost blocks asked for again (quirk 15), and
two channels talking over a lossy line (hypothesis)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asyncdlms.apdu.block_transfer import GeneralBlockTransfer
from asyncdlms.errors import BlockTransferError
from asyncdlms.session.gbt import GBT_OVERHEAD, GeneralBlockTransferChannel


def blocks(encoded: list[bytes] | tuple[bytes, ...]) -> list[GeneralBlockTransfer]:
    return [GeneralBlockTransfer.decode(b) for b in encoded]


def test_plain_apdus_pass_when_not_needed() -> None:
    channel = GeneralBlockTransferChannel(enabled=True)
    assert channel.send(b"\xc0\x01\xc1" + bytes(10), 100) == [b"\xc0\x01\xc1" + bytes(10)]
    disabled = GeneralBlockTransferChannel(enabled=False)
    assert disabled.send(bytes(500), 100) == [bytes(500)]
    received = channel.receive(b"\xc4\x01\xc1\x00\x11\x05")
    assert received.apdu == b"\xc4\x01\xc1\x00\x11\x05" and received.to_send == ()


def test_a_long_apdu_goes_in_blocks_one_window_at_a_time() -> None:
    channel = GeneralBlockTransferChannel(window_size=5, enabled=True)
    apdu = bytes(range(250))
    first = blocks(channel.send(apdu, 60))
    assert len(first) == 1  # the peer's window is not known yet: 1
    assert first[0].block_number == 1 and not first[0].last_block
    assert not first[0].streaming and first[0].window == 5
    assert len(first[0].encode()) <= 60
    # the peer acknowledges block 1 and announces a window of 3
    ack = GeneralBlockTransfer(0, b"", True, False, 3, 1).encode()
    second = blocks(channel.receive(ack).to_send)
    assert [b.block_number for b in second] == [2, 3, 4]
    assert [b.streaming for b in second] == [True, True, False]
    third = blocks(
        channel.receive(GeneralBlockTransfer(0, b"", True, False, 3, 4).encode()).to_send
    )
    assert [b.block_number for b in third] == [5]
    assert third[-1].last_block
    joined = b"".join(b.block_data for b in first + second + third)
    assert joined == apdu
    size = 60 - GBT_OVERHEAD
    assert all(len(b.block_data) <= size for b in first + second + third)


def test_the_peer_asks_for_a_lost_block_again() -> None:
    channel = GeneralBlockTransferChannel(enabled=True)
    channel.peer_window = 4
    sent = blocks(channel.send(bytes(400), 109))
    assert [b.block_number for b in sent] == [1, 2, 3, 4]
    # the peer got 1 and 2 only
    again = blocks(
        channel.receive(GeneralBlockTransfer(0, b"", True, False, 4, 2).encode()).to_send
    )
    assert [b.block_number for b in again] == [3, 4]
    assert channel.retransmitted == 2


def test_receiving_acknowledges_each_window_and_completes() -> None:
    channel = GeneralBlockTransferChannel(window_size=2)
    one = GeneralBlockTransfer(1, b"ab", False, True, 2)
    two = GeneralBlockTransfer(2, b"cd", False, False, 2)
    three = GeneralBlockTransfer(3, b"ef", True, False, 2)
    assert channel.receive(one.encode()).to_send == ()
    (ack,) = blocks(channel.receive(two.encode()).to_send)
    assert ack.block_number_ack == 2 and ack.block_data == b"" and ack.window == 2
    assert channel.receiving
    done = channel.receive(three.encode())
    assert done.apdu == b"abcdef" and done.to_send == ()
    assert not channel.receiving and channel.peer_uses_gbt


@pytest.mark.parametrize("first_number", [0, 1])
def test_first_block_numbered_0_or_1(first_number: int) -> None:
    channel = GeneralBlockTransferChannel()
    channel.receive(GeneralBlockTransfer(first_number, b"x", False, True).encode())
    done = channel.receive(GeneralBlockTransfer(first_number + 1, b"y", True).encode())
    assert done.apdu == b"xy"


def test_a_lost_first_block_is_asked_for_not_skipped() -> None:
    channel = GeneralBlockTransferChannel()
    (ack,) = blocks(channel.receive(GeneralBlockTransfer(2, b"y", True).encode()).to_send)
    assert ack.block_number_ack == 0 and channel.lost == 1
    channel.receive(GeneralBlockTransfer(1, b"x", False, True).encode())
    assert channel.receive(GeneralBlockTransfer(2, b"y", True).encode()).apdu == b"xy"


def test_duplicates_are_dropped_and_gaps_asked_again() -> None:
    channel = GeneralBlockTransferChannel(window_size=3)
    channel.receive(GeneralBlockTransfer(1, b"a", False, True, 3).encode())
    assert channel.receive(GeneralBlockTransfer(1, b"a", False, True, 3).encode()).to_send == ()
    assert channel.duplicates == 1
    # block 2 lost: 3 (end of the window) makes the channel acknowledge 1
    (ack,) = blocks(
        channel.receive(GeneralBlockTransfer(3, b"c", False, False, 3).encode()).to_send
    )
    assert ack.block_number_ack == 1 and channel.lost == 1
    (again,) = blocks(channel.ask_again())
    assert again.block_number_ack == 1
    channel.receive(GeneralBlockTransfer(2, b"b", False, True, 3).encode())
    done = channel.receive(GeneralBlockTransfer(3, b"c", True, False, 3).encode())
    assert done.apdu == b"abc"


def test_reassembly_is_bounded() -> None:
    channel = GeneralBlockTransferChannel(max_length=10)
    channel.receive(GeneralBlockTransfer(1, bytes(8), False, True).encode())
    with pytest.raises(BlockTransferError, match="10 bytes"):
        channel.receive(GeneralBlockTransfer(2, bytes(8), True).encode())


def test_malformed_block_is_a_block_transfer_error() -> None:
    with pytest.raises(BlockTransferError):
        GeneralBlockTransferChannel().receive(b"\xe0\x81\x00")


def test_once_the_peer_uses_gbt_everything_goes_in_gbt() -> None:
    channel = GeneralBlockTransferChannel(enabled=True)
    channel.receive(GeneralBlockTransfer(1, b"\xc4\x01", True).encode())
    (block,) = blocks(channel.send(b"\xc0\x02\xc1\x00\x00\x00\x01", 1000))
    assert block.block_data == b"\xc0\x02\xc1\x00\x00\x00\x01" and block.last_block
    assert block.block_number_ack == 1


@settings(max_examples=60, deadline=None)
@given(
    size=st.integers(1, 3000),
    max_pdu=st.integers(GBT_OVERHEAD + 1, 400),
    window_a=st.integers(1, 63),
    window_b=st.integers(1, 63),
    losses=st.lists(st.integers(0, 200), max_size=20),
    duplicates=st.lists(st.integers(0, 200), max_size=20),
)
def test_two_channels_over_a_lossy_line(
    size: int,
    max_pdu: int,
    window_a: int,
    window_b: int,
    losses: list[int],
    duplicates: list[int],
) -> None:
    """A sends one APDU to B; blocks from A are lost or duplicated at the given positions;
    when the line goes quiet, B asks again and A sends again (the timers of a session)."""
    sender = GeneralBlockTransferChannel(window_size=window_a, enabled=True)
    receiver = GeneralBlockTransferChannel(window_size=window_b, enabled=True)
    sender.peer_window = window_b
    sender.peer_uses_gbt = True  # every APDU in blocks, even a short one
    apdu = bytes(i % 256 for i in range(size))
    to_receiver = list(sender.send(apdu, max_pdu))
    lose, repeat = set(losses), set(duplicates)
    position = 0
    result: bytes | None = None
    for _ in range(20_000):
        if result is not None:
            break
        if not to_receiver:
            for ack in receiver.ask_again():
                to_receiver.extend(sender.receive(ack).to_send)
            if not to_receiver:
                to_receiver = sender.send_again()
            continue
        block = to_receiver.pop(0)
        position += 1
        if position in lose:
            continue
        copies = 2 if position in repeat else 1
        for _copy in range(copies):
            received = receiver.receive(block)
            if received.apdu is not None:
                result = received.apdu
            for ack in received.to_send:
                to_receiver.extend(sender.receive(ack).to_send)
    assert result == apdu
