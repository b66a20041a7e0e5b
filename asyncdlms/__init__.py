"""asyncdlms: an asyncio-native DLMS/COSEM (IEC 62056) protocol stack with a sans-IO core.

Start with :func:`connect` (an awaitable :class:`Client` for one meter; what it does not take
as keywords is in :class:`ClientSettings`, :class:`ClientSecurity` and :class:`LinkSettings`)
and :func:`listen` (what meters push; the rest of the receive side is in
:mod:`asyncdlms.listen`, imported as ``from asyncdlms.listen import ...``). The layers below it
(see the README): :mod:`asyncdlms.axdr` and :mod:`asyncdlms.types` (A-XDR data, COSEM
date/time), :class:`Obis`, :mod:`asyncdlms.hdlc` and :mod:`asyncdlms.wrapper` (the link
layers, behind the one interface of :mod:`asyncdlms.link`), :mod:`asyncdlms.apdu`,
:mod:`asyncdlms.session`, :mod:`asyncdlms.security`, :mod:`asyncdlms.cosem`,
:mod:`asyncdlms.aio`, :mod:`asyncdlms.errors`.
"""

from __future__ import annotations

from . import axdr
from .aio.bus import Bus
from .aio.client import Client
from .aio.connect import connect
from .aio.link_settings import LinkSettings
from .cosem import (
    CaptureObject,
    ClassId,
    CosemError,
    CosemValueError,
    ObjectList,
    ObjectListEntry,
    ProfileGenericSettings,
    ProfileRow,
    Quantity,
    ScalerUnit,
    Unit,
    attribute_number,
    interface_class,
    method_number,
    register_quantity,
)
from .errors import DecodeError, DlmsError, EncodeError
from .listen import listen as listen  # the function; the package's names: asyncdlms.listen.X
from .obis import InvalidObisError, Obis
from .session.client.access import AccessAction, AccessGet, AccessResult, AccessSet
from .session.settings import ClientSecurity, ClientSettings
from .types import (
    DONT_CARE,
    Array,
    Bcd,
    BitString,
    ClockStatus,
    CompactArray,
    DataType,
    Date,
    DateTime,
    DoubleLong,
    DoubleLongUnsigned,
    Enum,
    Float32,
    Float64,
    Integer,
    Long,
    Long64,
    Long64Unsigned,
    LongUnsigned,
    OctetString,
    Structure,
    Time,
    TypeDescription,
    Unsigned,
    Utf8String,
    VisibleString,
    WildcardError,
)
from .types.clock import DeviationSign, InvalidDateTimeError

__version__ = "0.1.0.dev0"

__all__ = [
    "DONT_CARE",
    "AccessAction",
    "AccessGet",
    "AccessResult",
    "AccessSet",
    "Array",
    "Bcd",
    "BitString",
    "Bus",
    "CaptureObject",
    "ClassId",
    "Client",
    "ClientSecurity",
    "ClientSettings",
    "ClockStatus",
    "CompactArray",
    "CosemError",
    "CosemValueError",
    "DataType",
    "Date",
    "DateTime",
    "DecodeError",
    "DeviationSign",
    "DlmsError",
    "DoubleLong",
    "DoubleLongUnsigned",
    "EncodeError",
    "Enum",
    "Float32",
    "Float64",
    "Integer",
    "InvalidDateTimeError",
    "InvalidObisError",
    "LinkSettings",
    "Long",
    "Long64",
    "Long64Unsigned",
    "LongUnsigned",
    "Obis",
    "ObjectList",
    "ObjectListEntry",
    "OctetString",
    "ProfileGenericSettings",
    "ProfileRow",
    "Quantity",
    "ScalerUnit",
    "Structure",
    "Time",
    "TypeDescription",
    "Unit",
    "Unsigned",
    "Utf8String",
    "VisibleString",
    "WildcardError",
    "__version__",
    "attribute_number",
    "axdr",
    "connect",
    "interface_class",
    "listen",
    "method_number",
    "register_quantity",
]
