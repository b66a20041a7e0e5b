"""General-Block-Transfer (0xE0) and pure helpers to cut a byte string into blocks and put
blocks back together.

The reassembler is tolerant in the ways real meters need (QUIRKS.md #15): the first block
may carry any number (0, 1 or a stale value), a block repeating an already accepted number is
dropped, and only a gap (a block from the future) or data after the last block is an error.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .. import axdr
from ..errors import BlockTransferError, EncodeError
from .descriptors import Reader
from .tags import ApduTag

if TYPE_CHECKING:
    from typing import Self

__all__ = ["BlockReassembler", "GeneralBlockTransfer", "reassemble_blocks", "split_blocks"]

_HEADER = struct.Struct(">BBHH")


@dataclass(frozen=True, slots=True)
class GeneralBlockTransfer:
    """General-Block-Transfer: block-control (last-block bit 7, streaming bit 6, window bits
    0-5), block-number (Unsigned16), block-number-ack (Unsigned16) and block-data (an
    OCTET STRING with its A-XDR length)."""

    block_number: int
    block_data: bytes
    last_block: bool = True
    streaming: bool = False
    window: int = 1
    block_number_ack: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.window <= 63:
            raise EncodeError(f"GBT window {self.window} is out of range 0..63")
        for name in ("block_number", "block_number_ack"):
            value = getattr(self, name)
            if not 0 <= value <= 0xFFFF:
                raise EncodeError(f"{name.replace('_', '-')} {value} is out of range 0..65535")
        object.__setattr__(self, "block_data", bytes(self.block_data))

    @property
    def block_control(self) -> int:
        """The block-control byte."""
        return (0x80 if self.last_block else 0) | (0x40 if self.streaming else 0) | self.window

    def encode(self) -> bytes:
        """The APDU bytes."""
        header = _HEADER.pack(
            ApduTag.GENERAL_BLOCK_TRANSFER,
            self.block_control,
            self.block_number,
            self.block_number_ack,
        )
        return header + axdr.encode_length(len(self.block_data)) + self.block_data

    @classmethod
    def decode(cls, data: bytes) -> Self:
        """Decode one General-Block-Transfer APDU."""
        reader = Reader(data)
        reader.header(ApduTag.GENERAL_BLOCK_TRANSFER)
        control = reader.u8("block-control")
        number = reader.u16("block-number")
        ack = reader.u16("block-number-ack")
        block = reader.octet_string("block-data")
        reader.finish("general-block-transfer")
        return cls(
            block_number=number,
            block_data=block,
            last_block=bool(control & 0x80),
            streaming=bool(control & 0x40),
            window=control & 0x3F,
            block_number_ack=ack,
        )


def split_blocks(data: bytes, max_size: int) -> list[bytes]:
    """Cut ``data`` into blocks of at most ``max_size`` bytes (one empty block for no data)."""
    if max_size < 1:
        raise EncodeError(f"a block holds at least 1 byte, not {max_size}")
    if not data:
        return [b""]
    return [bytes(data[i : i + max_size]) for i in range(0, len(data), max_size)]


class BlockReassembler:
    """Collects numbered blocks in order. Feed each block with :meth:`add`; when it returns
    ``True`` the transfer is complete and :attr:`data` holds every byte.

    * the first block's number is taken as given (``first_block_number`` to insist on one);
    * a block numbered at or below the last accepted one is a duplicate: dropped, counted in
      :attr:`duplicates`;
    * a block skipping numbers raises :class:`~asyncdlms.errors.BlockTransferError`;
    * ``max_length`` bounds the reassembled size (``None``: unbounded).
    """

    __slots__ = (
        "_parts",
        "_size",
        "complete",
        "duplicates",
        "first_block_number",
        "last_block_number",
        "max_length",
    )

    def __init__(
        self, first_block_number: int | None = None, max_length: int | None = None
    ) -> None:
        self.first_block_number = first_block_number
        self.max_length = max_length
        self.last_block_number: int | None = None
        self.duplicates = 0
        self.complete = False
        self._parts: list[bytes] = []
        self._size = 0

    @property
    def next_block_number(self) -> int | None:
        """The number the next block must carry (``None`` before the first)."""
        return None if self.last_block_number is None else self.last_block_number + 1

    def add(self, block_number: int, data: bytes, last_block: bool) -> bool:
        """Accept one block; return ``True`` once the last block has been accepted."""
        if self.last_block_number is None:
            if self.first_block_number is not None and block_number != self.first_block_number:
                raise BlockTransferError(
                    f"first block numbered {block_number}, expected {self.first_block_number}"
                )
        elif block_number <= self.last_block_number:
            self.duplicates += 1
            return self.complete
        elif self.complete:
            raise BlockTransferError(f"block {block_number} arrived after the last block")
        elif block_number != self.last_block_number + 1:
            raise BlockTransferError(
                f"block {block_number} arrived, expected {self.last_block_number + 1} "
                f"({block_number - self.last_block_number - 1} missing)"
            )
        if self.max_length is not None and self._size + len(data) > self.max_length:
            raise BlockTransferError(
                f"reassembled data exceeds {self.max_length} bytes at block {block_number}"
            )
        self.last_block_number = block_number
        self._parts.append(bytes(data))
        self._size += len(data)
        self.complete = last_block
        return last_block

    @property
    def data(self) -> bytes:
        """The bytes accepted so far, in order."""
        if len(self._parts) > 1:
            self._parts = [b"".join(self._parts)]
        return self._parts[0] if self._parts else b""


def reassemble_blocks(blocks: Iterable[tuple[int, bytes, bool]]) -> bytes:
    """Join ``(block_number, data, last_block)`` triples with a :class:`BlockReassembler`;
    raise :class:`BlockTransferError` when the last block never comes."""
    reassembler = BlockReassembler()
    for number, data, last in blocks:
        if reassembler.add(number, data, last):
            return reassembler.data
    raise BlockTransferError("the blocks ended before the last block")
