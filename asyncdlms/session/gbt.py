"""General Block Transfer (GBT) for one association, client or server role, sans-IO.

:class:`GeneralBlockTransferChannel` sits between the protection step and the link
(ARCHITECTURE.md: encode, protect, GBT, link). Outgoing, :meth:`~GeneralBlockTransferChannel.send`
cuts an APDU into General-Block-Transfer blocks when it does not fit in the peer's max PDU,
or always once the peer has used GBT (the rule that once one side uses GBT the other follows:
mixing GBT and service-specific get-request-next broke a seed client). Incoming,
:meth:`~GeneralBlockTransferChannel.receive` takes every APDU from the link; plain APDUs pass,
GBT blocks are reassembled and acknowledged window by window.

Behaviour, as the Green Book describes it and real meters bend it (QUIRKS.md 15, behaviour 7):

- Each block carries its number, the number of the last block received from the peer
  (block-number-ack), the sender's receive window and two flags: last-block, and streaming
  (more blocks of this window follow without waiting for an acknowledgement).
- A receiver acknowledges at the end of each window (a block without the streaming flag that
  is not the last block) with an empty block whose block-number-ack is the last block it
  has in order; the sender then sends the next window from there. A lost block therefore
  shows as a gap: later blocks of the window are dropped and the acknowledgement asks for
  the missing one again (:meth:`~GeneralBlockTransferChannel.ask_again` re-sends the
  acknowledgement when the window's last block itself was lost).
- The first block of a transfer is numbered 0 or 1 (a higher one means the first was lost:
  it is asked for again, never skipped); duplicates are dropped and counted. Service-specific
  datablocks (get-response-with-datablock), where meters start at any number (quirk 15), are
  the service layer's, which accepts any first number.
- The reassembled APDU may itself be a get-response-with-datablock: the service layer
  handles that; its get-request-next then goes out in GBT too.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..apdu.block_transfer import GeneralBlockTransfer, split_blocks
from ..apdu.tags import ApduTag
from ..errors import BlockTransferError, DecodeError

__all__ = ["GBT_OVERHEAD", "GbtReceived", "GeneralBlockTransferChannel"]

GBT_OVERHEAD = 9
"""Bytes a General-Block-Transfer header may add to its block data: tag, block-control,
block-number, block-number-ack and an A-XDR length of up to three bytes."""


@dataclass(frozen=True, slots=True)
class GbtReceived:
    """What one incoming APDU gave: ``to_send`` (encoded GBT blocks to hand to the link
    now: acknowledgements, the next window of our own transfer) and ``apdu`` (a complete
    APDU for the next step of the pipeline, or ``None``)."""

    to_send: tuple[bytes, ...] = ()
    apdu: bytes | None = None


class _Outgoing:
    """One APDU being sent as blocks."""

    __slots__ = ("acknowledged", "blocks", "next_index", "peer_window")

    def __init__(self, blocks: list[bytes], peer_window: int) -> None:
        self.blocks = blocks
        self.next_index = 0  # index of the next block to send (block number - 1)
        self.acknowledged = 0  # blocks the peer confirmed having
        self.peer_window = max(1, peer_window)

    @property
    def finished(self) -> bool:
        return self.next_index >= len(self.blocks)


class _Incoming:
    """One APDU being received as blocks."""

    __slots__ = ("last_number", "parts", "size")

    def __init__(self) -> None:
        self.last_number: int | None = None
        self.parts: list[bytes] = []
        self.size = 0


class GeneralBlockTransferChannel:
    """GBT sending and receiving for one association (either role).

    ``window_size`` is our receive window (announced in every block we send),
    ``max_length`` bounds a reassembled APDU. ``enabled`` says whether GBT was negotiated;
    when it is false, :meth:`send` passes APDUs unchanged (the peer cannot take blocks) and
    blocks received are still reassembled (a meter that uses GBT anyway).

    Counters: ``duplicates`` (blocks received twice, dropped), ``lost`` (blocks after a
    gap, dropped and asked again), ``retransmitted`` (our blocks sent again on request).
    """

    def __init__(
        self, window_size: int = 1, max_length: int = 16 * 1024 * 1024, enabled: bool = False
    ) -> None:
        if not 1 <= window_size <= 63:
            raise ValueError(f"GBT window size must be 1..63, not {window_size}")
        self.window_size = window_size
        self.max_length = max_length
        self.enabled = enabled
        self.peer_uses_gbt = False
        self.peer_window = 1
        self.duplicates = 0
        self.lost = 0
        self.retransmitted = 0
        self._outgoing: _Outgoing | None = None
        self._incoming: _Incoming | None = None
        self._last_received = 0

    # -- sending ---------------------------------------------------------------------------

    def wants_blocks(self, apdu: bytes, max_pdu_size: int) -> bool:
        """True when ``apdu`` goes out as GBT blocks: GBT is negotiated and the peer uses
        GBT or the APDU exceeds ``max_pdu_size`` (0: no limit)."""
        if not self.enabled:
            return False
        return self.peer_uses_gbt or (max_pdu_size > 0 and len(apdu) > max_pdu_size)

    def send(self, apdu: bytes, max_pdu_size: int) -> list[bytes]:
        """The APDUs to hand to the link now for ``apdu``: itself, or its first window of
        blocks (the rest follows as the peer acknowledges, from :meth:`receive`)."""
        if not self.wants_blocks(apdu, max_pdu_size):
            return [apdu]
        size = len(apdu) if max_pdu_size <= 0 else max(1, max_pdu_size - GBT_OVERHEAD)
        blocks = split_blocks(apdu, size)
        self._outgoing = _Outgoing(blocks, self.peer_window)
        return self._next_window()

    def _next_window(self) -> list[bytes]:
        outgoing = self._outgoing
        if outgoing is None:
            return []
        out: list[bytes] = []
        end = min(len(outgoing.blocks), outgoing.next_index + outgoing.peer_window)
        for index in range(outgoing.next_index, end):
            last = index == len(outgoing.blocks) - 1
            out.append(
                GeneralBlockTransfer(
                    block_number=(index + 1) & 0xFFFF,
                    block_data=outgoing.blocks[index],
                    last_block=last,
                    streaming=index < end - 1,
                    window=self.window_size,
                    block_number_ack=self._last_received & 0xFFFF,
                ).encode()
            )
        outgoing.next_index = end
        return out

    def _acknowledgement(self) -> bytes:
        incoming = self._incoming
        number = 0 if incoming is None or incoming.last_number is None else incoming.last_number
        return GeneralBlockTransfer(
            block_number=0,
            block_data=b"",
            last_block=True,
            streaming=False,
            window=self.window_size,
            block_number_ack=number & 0xFFFF,
        ).encode()

    @property
    def receiving(self) -> bool:
        """True while a GBT transfer from the peer is incomplete."""
        return self._incoming is not None

    @property
    def idle(self) -> bool:
        """True when no transfer goes on in either direction (neither :attr:`receiving` nor
        :attr:`sending`): :meth:`receive` then passes any APDU but a block on as it is."""
        return self._incoming is None and self._outgoing is None

    @property
    def sending(self) -> bool:
        """True while our own transfer is not known to have reached the peer (its blocks
        are kept for sending again until the peer acknowledges the last one or answers)."""
        return self._outgoing is not None

    def ask_again(self) -> list[bytes]:
        """Re-send the acknowledgement of the last block received in order, so that the peer
        sends the missing blocks again (call it when the peer went silent mid-transfer)."""
        if self._incoming is None:
            return []
        return [self._acknowledgement()]

    def send_again(self) -> list[bytes]:
        """Re-send our current window from the first block the peer has not acknowledged
        (call it when the peer went silent while we were sending)."""
        outgoing = self._outgoing
        if outgoing is None:
            return []
        self.retransmitted += outgoing.next_index - outgoing.acknowledged
        outgoing.next_index = outgoing.acknowledged
        return self._next_window()

    def reset(self) -> None:
        """Forget any transfer in progress (a cancelled request, a new association)."""
        self._outgoing = None
        self._incoming = None

    # -- receiving -------------------------------------------------------------------------

    def receive(self, apdu: bytes) -> GbtReceived:
        """Take one APDU from the link (see :class:`GbtReceived`)."""
        if not apdu or apdu[0] != ApduTag.GENERAL_BLOCK_TRANSFER:
            return GbtReceived(apdu=apdu)
        try:
            block = GeneralBlockTransfer.decode(apdu)
        except DecodeError as exc:
            raise BlockTransferError(f"malformed general-block-transfer: {exc}") from exc
        self.peer_uses_gbt = True
        if block.window:
            self.peer_window = block.window
        if self._outgoing is not None and not block.block_data and self._incoming is None:
            # an acknowledgement of our window: send the next one, from the block after the
            # last one the peer has (it may ask for lost ones again)
            acknowledged = block.block_number_ack
            if acknowledged >= len(self._outgoing.blocks):
                self._outgoing = None  # the peer has every block
                return GbtReceived()
            resend_from = max(acknowledged, 0)
            self._outgoing.acknowledged = resend_from
            if resend_from < self._outgoing.next_index:
                self.retransmitted += self._outgoing.next_index - resend_from
            self._outgoing.next_index = resend_from
            self._outgoing.peer_window = max(1, self.peer_window)
            return GbtReceived(to_send=tuple(self._next_window()))
        if not block.block_data and self._incoming is None and block.last_block:
            # an acknowledgement of our already complete transfer: nothing to do
            return GbtReceived()
        self._outgoing = None  # the peer answers: it has all of ours
        return self._receive_block(block)

    def _receive_block(self, block: GeneralBlockTransfer) -> GbtReceived:
        incoming = self._incoming
        if incoming is None:
            incoming = self._incoming = _Incoming()
        expected = None if incoming.last_number is None else incoming.last_number + 1
        if expected is None and block.block_number > 1:
            # the first block of a transfer is 0 or 1: a higher one means block 1 was lost
            # (accepting it would silently drop the start of the APDU)
            expected = 1
        if expected is not None and block.block_number < expected:
            self.duplicates += 1
            return GbtReceived()
        if expected is not None and block.block_number > expected:
            # a gap: drop it; at the end of the window ask for the missing block again
            self.lost += 1
            if block.streaming:
                return GbtReceived()
            return GbtReceived(to_send=(self._acknowledgement(),))
        if incoming.size + len(block.block_data) > self.max_length:
            self._incoming = None
            raise BlockTransferError(
                f"general-block-transfer data exceeds {self.max_length} bytes "
                f"at block {block.block_number}"
            )
        incoming.last_number = block.block_number
        self._last_received = block.block_number
        incoming.parts.append(block.block_data)
        incoming.size += len(block.block_data)
        if block.last_block:
            self._incoming = None
            return GbtReceived(apdu=b"".join(incoming.parts))
        if block.streaming:
            return GbtReceived()
        return GbtReceived(to_send=(self._acknowledgement(),))
