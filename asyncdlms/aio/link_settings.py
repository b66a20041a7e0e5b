"""How :func:`asyncdlms.connect` runs the link below the association: :class:`LinkSettings`.

>>> link = LinkSettings(physical_address=17, response_timeout=1.0)
>>> # asyncdlms.connect("hdlc+tcp://gateway:10001", server=1, link=link)

Everything here concerns HDLC (``hdlc+tcp://``, ``serial://``, ``serial+iec://``) and the
IEC 62056-21 opening of ``serial+iec://``; the wrapper (``tcp://``, ``udp://``) needs none of
it and ignores it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..hdlc import HdlcAddress, HdlcParameters, HdlcSettings
from ..iec62056_21 import IecSettings

__all__ = ["LinkSettings"]


@dataclass(frozen=True, slots=True)
class LinkSettings:
    """The HDLC link and the serial opening of one association (frozen; one object can
    serve every meter of a fleet). Invalid values fail here, when the object is made.

    - ``physical_address``: the HDLC server's lower (physical) address, e.g. 17 for
      many meters on an RS-485 line or behind a gateway; ``None`` for a 1-byte server
      address (the logical ``server`` of :func:`~asyncdlms.connect` alone). Physical addresses
      are not standardised (QUIRKS.md 1): a wrong one gives silence, not an error.
    - ``hdlc_parameters``: the SNRM proposal (maximum information field lengths and
      window sizes, :class:`~asyncdlms.hdlc.HdlcParameters`); the defaults 128/128/1/1 send
      an SNRM without information field.
    - ``response_timeout``: seconds to wait for the meter's answer to a frame before it
      is sent again; ``retries``: how many times (then the link is reported lost).
    - ``inactivity_timeout``: seconds without traffic after which the link is reported
      dropped; ``None`` (default) never. Meters drop theirs after 120 s by default
      (HDLC setup, QUIRKS.md 12): see ``keep_alive`` of :func:`~asyncdlms.connect`.
    - ``iec``: the IEC 62056-21 mode E opening of ``serial+iec://`` targets (baud
      characters, delays: :class:`~asyncdlms.iec62056_21.IecSettings`); ``None`` for its
      defaults.
    """

    physical_address: int | None = None
    hdlc_parameters: HdlcParameters = field(default_factory=HdlcParameters)
    response_timeout: float = 3.0
    retries: int = 3
    inactivity_timeout: float | None = None
    iec: IecSettings | None = None

    def __post_init__(self) -> None:
        if self.retries < 0:
            raise ValueError(f"retries must be 0 or more, not {self.retries}")
        # the rest are the HDLC layer's rules, checked now rather than when a meter is called
        self.hdlc_settings(client=16, server=1)

    def hdlc_settings(self, *, client: int, server: int) -> HdlcSettings:
        """The :class:`~asyncdlms.hdlc.HdlcSettings` of a client station ``client`` (its SAP)
        talking to the logical device ``server`` at this ``physical_address``."""
        return HdlcSettings(
            HdlcAddress.client(client),
            HdlcAddress.server(server, self.physical_address),
            parameters=self.hdlc_parameters,
            response_timeout=self.response_timeout,
            max_retransmissions=self.retries,
            inactivity_timeout=self.inactivity_timeout,
        )
