"""General-Block-Transfer PDU, block splitting and reassembly."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from asyncdlms.apdu.block_transfer import (
    BlockReassembler,
    GeneralBlockTransfer,
    reassemble_blocks,
    split_blocks,
)
from asyncdlms.errors import BlockTransferError, DecodeError, EncodeError
from tests.apdu.test_descriptors import only_decode_error

u16 = st.integers(0, 0xFFFF)
gbts = st.builds(
    GeneralBlockTransfer,
    block_number=u16,
    block_data=st.binary(max_size=400),
    last_block=st.booleans(),
    streaming=st.booleans(),
    window=st.integers(0, 63),
    block_number_ack=u16,
)


def test_layout() -> None:
    block = GeneralBlockTransfer(
        block_number=1, block_data=b"\xc0\x01", last_block=False, streaming=True, window=3
    )
    assert block.block_control == 0x43
    assert block.encode() == bytes.fromhex("e0430001000002c001")
    last = GeneralBlockTransfer.decode(bytes.fromhex("e0810002000100"))
    assert last == GeneralBlockTransfer(2, b"", True, False, 1, 1)
    with pytest.raises(EncodeError):
        GeneralBlockTransfer(1, b"", window=64)
    with pytest.raises(EncodeError):
        GeneralBlockTransfer(0x10000, b"")


@given(gbts)
def test_round_trip(block: GeneralBlockTransfer) -> None:
    encoded = block.encode()
    assert GeneralBlockTransfer.decode(encoded) == block
    for end in range(len(encoded)):
        with pytest.raises(DecodeError):
            GeneralBlockTransfer.decode(encoded[:end])


@given(st.binary(max_size=40))
def test_random_bytes_only_decode_error(noise: bytes) -> None:
    only_decode_error(GeneralBlockTransfer.decode, noise)
    only_decode_error(GeneralBlockTransfer.decode, b"\xe0" + noise)


@given(st.binary(max_size=2000), st.integers(1, 300))
def test_split_then_reassemble(data: bytes, size: int) -> None:
    blocks = split_blocks(data, size)
    assert all(len(b) <= size for b in blocks)
    assert all(len(b) == size for b in blocks[:-1])
    assert b"".join(blocks) == data
    numbered = [(n + 1, b, n == len(blocks) - 1) for n, b in enumerate(blocks)]
    assert reassemble_blocks(numbered) == data


@given(
    st.lists(st.binary(max_size=30), min_size=1, max_size=20),
    st.integers(0, 1000),
    st.data(),
)
def test_tolerant_reassembly(parts: list[bytes], first: int, draw: st.DataObject) -> None:
    """Any first number (quirk 15), duplicates dropped wherever they come."""
    reassembler = BlockReassembler()
    duplicates = 0
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        assert reassembler.add(first + index, part, last) is last
        if draw.draw(st.booleans()):
            back = draw.draw(st.integers(0, index))
            assert reassembler.add(first + back, parts[back], back == len(parts) - 1) is last
            duplicates += 1
    assert reassembler.complete
    assert reassembler.data == b"".join(parts)
    assert reassembler.duplicates == duplicates


def test_gaps_and_misuse_raise_block_transfer_error() -> None:
    reassembler = BlockReassembler()
    reassembler.add(0, b"a", False)
    assert reassembler.next_block_number == 1
    with pytest.raises(BlockTransferError, match="expected 1"):
        reassembler.add(2, b"c", False)
    reassembler.add(1, b"b", True)
    with pytest.raises(BlockTransferError, match="after the last block"):
        reassembler.add(2, b"c", True)
    with pytest.raises(BlockTransferError, match="expected 1"):
        BlockReassembler(first_block_number=1).add(0, b"", False)
    with pytest.raises(BlockTransferError, match="exceeds 3 bytes"):
        BlockReassembler(max_length=3).add(1, b"abcd", True)
    with pytest.raises(BlockTransferError, match="ended before the last block"):
        reassemble_blocks([(1, b"a", False)])
    with pytest.raises(EncodeError):
        split_blocks(b"abc", 0)
    assert split_blocks(b"", 10) == [b""]
