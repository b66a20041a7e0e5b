"""The object-access interface of the server role: what a :class:`~.server.ServerSession`
asks when a client reads, writes or invokes something.

The server session does the protocol (association, PDUs, block transfer, PDU sizes); the
*objects* — their values, their access rights, their methods — live behind the small,
synchronous (sans-IO) :class:`ObjectAccess` protocol. A meter simulator or a gateway
implements it over its object model; :class:`ObjectTable` is a simple dict-backed one for
tests and small servers.

Every call gets an :class:`AssociationContext`: which client (client SAP) asks, with which
authentication mechanism, over which negotiated conformance and referencing — so that
access rights can differ per association, as in real meters (public client 16 reads the
clock, the management client 1 may set it).

Short-name referencing maps a 16-bit short name to an attribute or a method of an object
(:meth:`ObjectAccess.resolve_short_name`): attribute ``n`` of the object with base name
``b`` is at ``b + (n - 1) * 8``, methods start at a class-specific offset
(:data:`asyncdlms.apdu.short_name.FIRST_METHOD_OFFSET`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum, IntFlag
from typing import Any, Protocol, runtime_checkable

from ..apdu.acse import MechanismName
from ..apdu.descriptors import (
    CosemAttributeDescriptor,
    CosemMethodDescriptor,
    Data,
    SelectiveAccessDescriptor,
)
from ..apdu.enums import ActionResult, DataAccessResult
from ..apdu.initiate import Conformance
from ..apdu.short_name import FIRST_METHOD_OFFSET
from ..obis import Obis, ObisLike
from ..types.values import OctetString

__all__ = [
    "AssociationContext",
    "Attribute",
    "AttributeAccess",
    "CosemObject",
    "Method",
    "ObjectAccess",
    "ObjectTable",
    "ShortNameKind",
    "ShortNameTarget",
    "action_outcome",
    "select_profile_rows",
]

_NO_CONFORMANCE = Conformance(0)


@dataclass(frozen=True, slots=True)
class AssociationContext:
    """Who asks: the association a request arrived on.

    ``client_address`` is the client SAP (HDLC client address or wrapper source wPort, e.g.
    16 for the public client), ``mechanism`` the authentication mechanism it associated with,
    ``negotiated_conformance`` the conformance block both sides agreed on,
    ``logical_name_referencing`` false for a short-name association,
    ``client_system_title`` the AARQ calling-AP-title (empty when none was sent).
    """

    client_address: int
    mechanism: MechanismName = MechanismName.LOWEST
    negotiated_conformance: Conformance = _NO_CONFORMANCE
    logical_name_referencing: bool = True
    client_system_title: bytes = b""


class ShortNameKind(Enum):
    """What a short name designates."""

    ATTRIBUTE = "attribute"
    METHOD = "method"


@dataclass(frozen=True, slots=True)
class ShortNameTarget:
    """The attribute or method a short name designates."""

    class_id: int
    instance_id: Obis
    kind: ShortNameKind
    index: int
    """The attribute id or the method id (1-based)."""

    def attribute_descriptor(self) -> CosemAttributeDescriptor:
        """The LN descriptor of the attribute (``kind`` must be ATTRIBUTE)."""
        return CosemAttributeDescriptor(self.class_id, self.instance_id, self.index)

    def method_descriptor(self) -> CosemMethodDescriptor:
        """The LN descriptor of the method (``kind`` must be METHOD)."""
        return CosemMethodDescriptor(self.class_id, self.instance_id, self.index)


@runtime_checkable
class ObjectAccess(Protocol):
    """What the server role needs from the objects it serves. Synchronous and pure of IO:
    a method returns an answer, it never waits. Exceptions are not part of the contract
    (a server session answers ``other-reason`` when one escapes)."""

    def get(
        self,
        context: AssociationContext,
        descriptor: CosemAttributeDescriptor,
        selective_access: SelectiveAccessDescriptor | None,
    ) -> Any:
        """The value of an attribute (a typed DLMS value or plain value that
        :func:`asyncdlms.axdr.encode` accepts, or an already encoded :class:`Data`), or a
        :class:`DataAccessResult` that says why not (``object-undefined``,
        ``read-write-denied``, ``scope-of-access-violated``...)."""
        ...

    def set(
        self,
        context: AssociationContext,
        descriptor: CosemAttributeDescriptor,
        value: Any,
        selective_access: SelectiveAccessDescriptor | None,
    ) -> DataAccessResult:
        """Write ``value`` (decoded, typed) to an attribute; the result of the write."""
        ...

    def action(
        self, context: AssociationContext, descriptor: CosemMethodDescriptor, parameters: Any
    ) -> tuple[ActionResult, Any]:
        """Invoke a method with ``parameters`` (decoded value, ``None`` when absent); the
        action-result and the return value (``None`` for no return parameters)."""
        ...

    def resolve_short_name(
        self, context: AssociationContext, short_name: int
    ) -> ShortNameTarget | None:
        """The attribute or method at ``short_name``; ``None`` when nothing is there."""
        ...


class AttributeAccess(IntFlag):
    """Attribute access mode (Association LN object list, attribute_access_item)."""

    NO_ACCESS = 0
    READ = 1
    WRITE = 2
    READ_WRITE = 3


Getter = Callable[[AssociationContext, SelectiveAccessDescriptor | None], Any]
"""``getter(context, selective_access) -> value or DataAccessResult``."""
Setter = Callable[[AssociationContext, Any], DataAccessResult | None]
"""``setter(context, value) -> None (success) or a DataAccessResult``."""
MethodHandler = Callable[[AssociationContext, Any], Any]
"""``handler(context, parameters) -> return value (None: none), or an ActionResult, or a
tuple (ActionResult, return value)``."""

AccessRights = Mapping[int, AttributeAccess] | AttributeAccess
MethodRights = Mapping[int, bool] | bool


@dataclass(slots=True)
class Attribute:
    """One attribute of a :class:`CosemObject` in an :class:`ObjectTable`.

    Without ``getter`` the stored ``value`` is read; without ``setter`` a write replaces it.
    ``access`` is one mode for every client, or a mapping client SAP -> mode (clients not
    listed get no access).
    """

    value: Any = None
    access: AccessRights = AttributeAccess.READ
    getter: Getter | None = None
    setter: Setter | None = None

    def mode(self, client_address: int) -> AttributeAccess:
        """The access mode of ``client_address``."""
        if isinstance(self.access, AttributeAccess):
            return self.access
        return self.access.get(client_address, AttributeAccess.NO_ACCESS)


@dataclass(slots=True)
class Method:
    """One method of a :class:`CosemObject`; ``access`` is a flag for every client, or a
    mapping client SAP -> allowed (clients not listed may not invoke it)."""

    handler: MethodHandler
    access: MethodRights = True

    def allowed(self, client_address: int) -> bool:
        """True when ``client_address`` may invoke the method."""
        if isinstance(self.access, bool):
            return self.access
        return self.access.get(client_address, False)


@dataclass(slots=True)
class CosemObject:
    """An object of an :class:`ObjectTable`: class id, logical name, its attributes (id ->
    :class:`Attribute`; attribute 1, the logical name, is added read-only), its methods and,
    for short-name referencing, its base name."""

    class_id: int
    logical_name: Obis
    attributes: dict[int, Attribute] = field(default_factory=dict)
    methods: dict[int, Method] = field(default_factory=dict)
    base_name: int | None = None


class ObjectTable:
    """A dict-backed :class:`ObjectAccess`: objects by (class id, logical name), attribute
    values or callables, access rights per client SAP.

    >>> from asyncdlms.types import DoubleLongUnsigned
    >>> table = ObjectTable()
    >>> _ = table.add(3, "1.0.1.8.0.255", {2: DoubleLongUnsigned(12345)}, base_name=0x3000)
    """

    def __init__(self) -> None:
        self._objects: dict[tuple[int, Obis], CosemObject] = {}
        self._by_logical_name: dict[Obis, CosemObject] = {}
        self._short_names: dict[int, ShortNameTarget] = {}

    @property
    def objects(self) -> Sequence[CosemObject]:
        """Every object, in the order added."""
        return tuple(self._objects.values())

    def add(
        self,
        class_id: int,
        logical_name: ObisLike,
        attributes: Mapping[int, Any] | None = None,
        methods: Mapping[int, Method | MethodHandler] | None = None,
        *,
        base_name: int | None = None,
        access: AccessRights | None = None,
    ) -> CosemObject:
        """Add an object. ``attributes`` maps attribute ids to an :class:`Attribute` or a
        plain value (stored in an Attribute with ``access``, read-only by default);
        ``methods`` maps method ids to a :class:`Method` or a bare handler (allowed to all).
        ``base_name`` gives the object its short names (attribute and method short names are
        derived from it)."""
        obis = Obis(logical_name)
        attribute_map: dict[int, Attribute] = {
            1: Attribute(OctetString(obis.to_bytes()), AttributeAccess.READ)
        }
        for attribute_id, item in (attributes or {}).items():
            if isinstance(item, Attribute):
                attribute_map[attribute_id] = item
            else:
                attribute_map[attribute_id] = Attribute(
                    item, AttributeAccess.READ if access is None else access
                )
        method_map = {
            method_id: item if isinstance(item, Method) else Method(item)
            for method_id, item in (methods or {}).items()
        }
        item = CosemObject(class_id, obis, attribute_map, method_map, base_name)
        self._objects[(class_id, obis)] = item
        self._by_logical_name.setdefault(obis, item)
        if base_name is not None:
            self._index_short_names(item, base_name)
        return item

    def find(self, class_id: int, logical_name: ObisLike) -> CosemObject | None:
        """The object with this class id and logical name, if any."""
        return self._objects.get((class_id, Obis(logical_name)))

    def _index_short_names(self, item: CosemObject, base_name: int) -> None:
        for attribute_id in item.attributes:
            if attribute_id >= 1:
                name = base_name + (attribute_id - 1) * 8
                self._short_names[name] = ShortNameTarget(
                    item.class_id, item.logical_name, ShortNameKind.ATTRIBUTE, attribute_id
                )
        offset = FIRST_METHOD_OFFSET.get(item.class_id)
        for method_id in item.methods:
            if offset is not None and method_id >= 1:
                name = base_name + offset[0] + (method_id - 1) * 8
                self._short_names[name] = ShortNameTarget(
                    item.class_id, item.logical_name, ShortNameKind.METHOD, method_id
                )

    # -- ObjectAccess ----------------------------------------------------------------------

    def _attribute(self, descriptor: CosemAttributeDescriptor) -> Attribute | DataAccessResult:
        item = self._objects.get((descriptor.class_id, descriptor.instance_id))
        if item is None:
            other = self._by_logical_name.get(descriptor.instance_id)
            if other is not None:
                return DataAccessResult.OBJECT_CLASS_INCONSISTENT
            return DataAccessResult.OBJECT_UNDEFINED
        attribute = item.attributes.get(descriptor.attribute_id)
        if attribute is None:
            return DataAccessResult.OBJECT_UNDEFINED
        return attribute

    def get(
        self,
        context: AssociationContext,
        descriptor: CosemAttributeDescriptor,
        selective_access: SelectiveAccessDescriptor | None,
    ) -> Any:
        """The attribute value, or ``object-undefined``/``read-write-denied``..."""
        attribute = self._attribute(descriptor)
        if isinstance(attribute, DataAccessResult):
            return attribute
        if not attribute.mode(context.client_address) & AttributeAccess.READ:
            return DataAccessResult.READ_WRITE_DENIED
        if attribute.getter is not None:
            return attribute.getter(context, selective_access)
        if selective_access is not None:
            return DataAccessResult.SCOPE_OF_ACCESS_VIOLATED
        return attribute.value

    def set(
        self,
        context: AssociationContext,
        descriptor: CosemAttributeDescriptor,
        value: Any,
        selective_access: SelectiveAccessDescriptor | None,
    ) -> DataAccessResult:
        """Write the attribute (through its setter when it has one)."""
        attribute = self._attribute(descriptor)
        if isinstance(attribute, DataAccessResult):
            return attribute
        if not attribute.mode(context.client_address) & AttributeAccess.WRITE:
            return DataAccessResult.READ_WRITE_DENIED
        if selective_access is not None:
            return DataAccessResult.SCOPE_OF_ACCESS_VIOLATED
        if attribute.setter is not None:
            result = attribute.setter(context, value)
            return DataAccessResult.SUCCESS if result is None else result
        attribute.value = value
        return DataAccessResult.SUCCESS

    def action(
        self, context: AssociationContext, descriptor: CosemMethodDescriptor, parameters: Any
    ) -> tuple[ActionResult, Any]:
        """Invoke the method's handler."""
        item = self._objects.get((descriptor.class_id, descriptor.instance_id))
        if item is None:
            if descriptor.instance_id in self._by_logical_name:
                return ActionResult.OBJECT_CLASS_INCONSISTENT, None
            return ActionResult.OBJECT_UNDEFINED, None
        method = item.methods.get(descriptor.method_id)
        if method is None:
            return ActionResult.OBJECT_UNDEFINED, None
        if not method.allowed(context.client_address):
            return ActionResult.READ_WRITE_DENIED, None
        return action_outcome(method.handler(context, parameters))

    def resolve_short_name(
        self, context: AssociationContext, short_name: int
    ) -> ShortNameTarget | None:
        """The attribute or method at ``short_name`` (from the objects' base names)."""
        return self._short_names.get(short_name)


def action_outcome(outcome: Any) -> tuple[ActionResult, Any]:
    """What a method handler returned, as (action-result, return value): an
    :class:`ActionResult` alone, a ``(result, value)`` pair, or a value (success)."""
    if isinstance(outcome, ActionResult):
        return outcome, None
    if isinstance(outcome, tuple) and len(outcome) == 2 and isinstance(outcome[0], ActionResult):
        return outcome[0], outcome[1]
    return ActionResult.SUCCESS, outcome


# ---------------------------------------------------------------------------------------------
# Profile generic selective access, for getters


def _comparable(value: Any) -> Any:
    """Date-times (12-byte octet strings) compare on year..second, day of week left out."""
    if isinstance(value, Data):
        value = value.value
    if isinstance(value, (bytes, bytearray)) and len(value) == 12:
        return bytes(value[0:4]) + bytes(value[5:8])
    if hasattr(value, "to_bytes") and not isinstance(value, int):
        raw = value.to_bytes()
        if isinstance(raw, bytes) and len(raw) == 12:
            return raw[0:4] + raw[5:8]
    return value


def select_profile_rows(
    rows: Sequence[Sequence[Any]],
    capture_objects: Sequence[tuple[int, ObisLike, int]],
    selective_access: SelectiveAccessDescriptor | None,
) -> list[Sequence[Any]] | DataAccessResult:
    """The rows (and columns) of a profile generic buffer that ``selective_access`` selects.

    Selector 1 (range_descriptor): rows whose restricting-object column (found among
    ``capture_objects``, given as (class id, logical name, attribute id)) lies between
    from_value and to_value inclusive, restricted to the selected_values columns (all when
    empty). Selector 2 (entry_descriptor): rows from_entry..to_entry (1-based, to_entry 0 =
    the last), columns from_selected_value..to_selected_value (0 = the last).
    ``None`` selects everything. An unknown selector or column gives
    ``scope-of-access-violated``; malformed parameters ``other-reason``.
    """
    if selective_access is None:
        return list(rows)
    columns = [(c, Obis(o), a) for c, o, a in capture_objects]
    parameters = selective_access.access_parameters.value
    try:
        if selective_access.access_selector == 1:
            restricting, low, high, selected = parameters
            key = (int(restricting[0]), Obis(bytes(restricting[1])), int(restricting[2]))
            if key not in columns:
                return DataAccessResult.SCOPE_OF_ACCESS_VIOLATED
            index = columns.index(key)
            low_key, high_key = _comparable(low), _comparable(high)
            chosen = [r for r in rows if low_key <= _comparable(r[index]) <= high_key]
            if not selected:
                return chosen
            picks: list[int] = []
            for item in selected:
                column = (int(item[0]), Obis(bytes(item[1])), int(item[2]))
                if column not in columns:
                    return DataAccessResult.SCOPE_OF_ACCESS_VIOLATED
                picks.append(columns.index(column))
            return [[r[i] for i in picks] for r in chosen]
        if selective_access.access_selector == 2:
            from_entry, to_entry, from_value, to_value = (int(p) for p in parameters)
            last_entry = len(rows) if to_entry == 0 else min(to_entry, len(rows))
            last_column = len(columns) if to_value == 0 else to_value
            if from_entry < 1 or from_value < 1 or last_column > max(len(columns), 1):
                return DataAccessResult.SCOPE_OF_ACCESS_VIOLATED
            chosen = list(rows[from_entry - 1 : last_entry])
            if from_value == 1 and last_column == len(columns):
                return chosen
            return [list(r[from_value - 1 : last_column]) for r in chosen]
    except (TypeError, ValueError, IndexError):
        return DataAccessResult.OTHER_REASON
    return DataAccessResult.SCOPE_OF_ACCESS_VIOLATED
