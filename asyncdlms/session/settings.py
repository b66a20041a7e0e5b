"""What a client association proposes and how it behaves: :class:`ClientSettings`.

The defaults make the same AARQ as the gurux-dlms client (conformance ``40 1E 5D`` for
logical-name referencing, ``1C 03 20`` for short names, max receive PDU 0xFFFF, DLMS version
6, invoke-id-and-priority ``0xC1``) so that a meter that talks to Gurux talks to us.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field

from ..apdu.acse import MechanismName
from ..apdu.initiate import Conformance
from ..security.hls import MAX_CHALLENGE_LENGTH, MIN_CHALLENGE_LENGTH, HlsFunction, Secret
from .pipeline import ApduProtection, NoProtection

__all__ = [
    "DEFAULT_LN_CONFORMANCE",
    "DEFAULT_SN_CONFORMANCE",
    "ClientSettings",
]

DEFAULT_LN_CONFORMANCE = Conformance(0x401E5D)
"""What gurux-dlms proposes with logical-name referencing: general-protection,
block-transfer with GET/SET/ACTION, multiple-references, GET, SET, selective-access,
event-notification, ACTION, attribute0-supported-with-GET... (no general-block-transfer)."""

DEFAULT_SN_CONFORMANCE = Conformance(0x1C0320)
"""What gurux-dlms proposes with short-name referencing: read, write, unconfirmed-write,
multiple-references, information-report, parameterized-access."""


ProtectionFactory = Callable[[], ApduProtection]
"""Makes a fresh :class:`ApduProtection` for each association."""


@dataclass(frozen=True, slots=True)
class ClientSettings:
    """How a :class:`~asyncdlms.session.client.ClientSession` associates and talks.

    - ``logical_name_referencing``: LN (``True``) or SN referencing.
    - ``mechanism`` and ``secret``: the authentication mechanism (lowest, low, HLS...) and
      the LLS password or HLS secret (kept as a :class:`Secret`, never printed).
    - ``challenge_length``: bytes of the HLS client-to-server challenge (8..64), drawn from
      ``random`` (``os.urandom``; pass a fixed function in tests).
    - ``proposed_conformance``: ``None`` for the defaults above; general-block-transfer is
      added when ``use_general_block_transfer`` is set (and only then, behaviour 7).
    - ``client_max_receive_pdu_size``: what we accept (0xFFFF, as Gurux).
    - ``invoke_id``: the first invoke-id (they rotate 0..15), with ``high_priority`` and
      ``confirmed`` the rest of the invoke-id-and-priority byte (0xC1 by default).
    - ``strict_invoke_id``: drop an answer whose invoke-id differs from the request's. Off by
      default: with one request in flight, an answer that is not the late answer of a
      cancelled request is this request's, and some meters (servers built on gurux-dlms)
      answer errors with invoke-id 1 whatever was asked.
    - ``with_list_chunk_size``: GET with-list in chunks of this many attributes (behaviour 10).
    - ``pdu_size_margin``: an APDU up to the negotiated max PDU + this many bytes is accepted
      (behaviour 7, quirk 19).
    - ``max_response_length``: bound on the data reassembled from blocks.
    - ``gbt_window_size``: our general-block-transfer receive window.
    - ``gbt_timeout``: seconds of silence in the middle of a GBT transfer after which the
      session asks for the missing blocks again (or sends its own again), at most
      ``gbt_retries`` times before the request fails; ``None`` leaves recovery to the link
      (HDLC and TCP do not lose blocks; UDP does).
    - ``release_timeout``: seconds to wait for the RLRE before disconnecting anyway
      (quirk 16: meters that never answer an RLRQ).
    - ``late_response_timeout``: seconds a cancelled in-flight request keeps the association
      busy waiting for its late answer before the next request goes out.
    - ``protection``: an :class:`ApduProtection` (or a factory making one per association)
      where ciphering plugs in; :class:`NoProtection` by default.
    """

    logical_name_referencing: bool = True
    mechanism: MechanismName = MechanismName.LOWEST
    secret: Secret | None = field(default=None, repr=False)
    challenge_length: int = 16
    proposed_conformance: Conformance | None = None
    client_max_receive_pdu_size: int = 0xFFFF
    dlms_version: int = 6
    client_system_title: bytes | None = None
    invoke_id: int = 1
    high_priority: bool = True
    confirmed: bool = True
    strict_invoke_id: bool = False
    with_list_chunk_size: int = 10
    pdu_size_margin: int = 50
    max_response_length: int = 16 * 1024 * 1024
    use_general_block_transfer: bool = False
    gbt_window_size: int = 1
    gbt_timeout: float | None = None
    gbt_retries: int = 3
    release_timeout: float = 5.0
    late_response_timeout: float = 5.0
    random: Callable[[int], bytes] = field(default=os.urandom, repr=False)
    manufacturer_hls_function: HlsFunction | None = field(default=None, repr=False)
    protection: ApduProtection | ProtectionFactory | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.secret is not None and not isinstance(self.secret, Secret):
            object.__setattr__(self, "secret", Secret(self.secret))
        if not MIN_CHALLENGE_LENGTH <= self.challenge_length <= MAX_CHALLENGE_LENGTH:
            raise ValueError(
                f"challenge_length must be {MIN_CHALLENGE_LENGTH}..{MAX_CHALLENGE_LENGTH}, "
                f"not {self.challenge_length}"
            )
        if not 0 <= self.client_max_receive_pdu_size <= 0xFFFF:
            raise ValueError("client_max_receive_pdu_size must be 0..65535")
        if not 0 <= self.invoke_id <= 15:
            raise ValueError(f"invoke_id must be 0..15, not {self.invoke_id}")
        if self.with_list_chunk_size < 1:
            raise ValueError("with_list_chunk_size must be 1 or more")
        if self.pdu_size_margin < 0 or self.max_response_length < 1:
            raise ValueError("pdu_size_margin must be >= 0 and max_response_length >= 1")
        if self.gbt_timeout is not None and self.gbt_timeout <= 0:
            raise ValueError(f"gbt_timeout must be positive or None, not {self.gbt_timeout}")
        if not 1 <= self.gbt_window_size <= 63:
            raise ValueError(f"gbt_window_size must be 1..63, not {self.gbt_window_size}")
        if self.mechanism in (MechanismName.LOW,) or self.mechanism.high_level:
            needs_secret = self.mechanism not in (
                MechanismName.HIGH_GMAC,
                MechanismName.HIGH_ECDSA,
            )
            if needs_secret and self.secret is None:
                raise ValueError(
                    f"authentication {self.mechanism.name.lower()} needs a secret (password)"
                )
        if self.client_system_title is not None and len(self.client_system_title) != 8:
            raise ValueError("a system title is 8 bytes long")

    @property
    def conformance(self) -> Conformance:
        """The conformance block proposed in the InitiateRequest."""
        if self.proposed_conformance is not None:
            value = self.proposed_conformance
        elif self.logical_name_referencing:
            value = DEFAULT_LN_CONFORMANCE
        else:
            value = DEFAULT_SN_CONFORMANCE
        if self.use_general_block_transfer:
            value |= Conformance.GENERAL_BLOCK_TRANSFER
        return value

    def make_protection(self) -> ApduProtection:
        """The protection step for a new association."""
        if self.protection is None:
            return NoProtection()
        if not isinstance(self.protection, type) and isinstance(self.protection, ApduProtection):
            return self.protection
        return self.protection()
