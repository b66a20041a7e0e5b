"""The server role: a DLMS/COSEM server library and a meter simulator.

- :mod:`~asyncdlms.server.model`: COSEM objects as Python objects (:class:`ObjectDef`,
  :class:`AttributeDef`, :class:`MethodDef`) in an :class:`ObjectModel` shared by many
  :class:`LogicalDevice` instances (the session's ObjectAccess), with the current
  Association LN object and lazy profile generic buffers (selective access by range and
  entry);
- :mod:`~asyncdlms.server.endpoint`: :class:`DlmsServer`, the asyncio listener (TCP wrapper,
  TCP HDLC, UDP wrapper) that runs a ServerSession per connection, devices selected by
  address, with optional :class:`Faults`;
- :mod:`~asyncdlms.server.limits`: :class:`ServerLimits`, what a server tolerates from its
  peers (timeouts, protocol errors, APDU size, connection caps, fair scheduling, password
  back-off);
- :mod:`~asyncdlms.server.simulator`: :class:`Simulator`, N virtual meters in one process;
  their objects in :mod:`~asyncdlms.server.meter_objects`, their firmware upgrades
  (:class:`ImageTransferSettings`, :class:`ImageTransferFaults`) in
  :mod:`~asyncdlms.server.image_transfer` and :mod:`~asyncdlms.server.image_transfer_objects`.
"""

from __future__ import annotations

from .endpoint import Address, DlmsServer, Faults, LinkConfig, Served, ServerStatistics
from .image_transfer import ImageTransferFaults, ImageTransferServer, ImageTransferSettings
from .limits import ConnectionBudget, FailureBackoff, ServerLimits
from .model import (
    ASSOCIATION_LN,
    AttributeDef,
    DeviceState,
    LogicalDevice,
    MethodDef,
    ObjectDef,
    ObjectModel,
    ProfileRows,
    attribute,
    method,
    profile_object,
    select_rows,
)
from .simulator import (
    DEFAULT_HLS_SECRET,
    DEFAULT_PASSWORD,
    MeterState,
    MeterTarget,
    Simulator,
    default_associations,
    meter_model,
)

__all__ = [
    "ASSOCIATION_LN",
    "DEFAULT_HLS_SECRET",
    "DEFAULT_PASSWORD",
    "Address",
    "AttributeDef",
    "ConnectionBudget",
    "DeviceState",
    "DlmsServer",
    "FailureBackoff",
    "Faults",
    "ImageTransferFaults",
    "ImageTransferServer",
    "ImageTransferSettings",
    "LinkConfig",
    "LogicalDevice",
    "MeterState",
    "MeterTarget",
    "MethodDef",
    "ObjectDef",
    "ObjectModel",
    "ProfileRows",
    "Served",
    "ServerLimits",
    "ServerStatistics",
    "Simulator",
    "attribute",
    "default_associations",
    "meter_model",
    "method",
    "profile_object",
    "select_rows",
]
