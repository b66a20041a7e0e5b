"""The server object model: COSEM objects as Python objects, shared by many logical devices.

A real meter (or a thousand simulated ones) serves the same *kind* of objects with
different *values*. This module keeps those two apart so that the first is built once
and shared:

- an :class:`ObjectModel` is an immutable table of :class:`ObjectDef` (class id, version,
  logical name, :class:`AttributeDef` and :class:`MethodDef` by id, access rights per client
  SAP, optional short-name base name). Attribute getters/setters and method handlers are
  plain functions that receive the device *state* as their first argument, so the model
  never holds per-device data;
- a :class:`LogicalDevice` pairs a model with one device's state and implements the
  session's :class:`~asyncdlms.session.object_access.ObjectAccess`; it is what a
  :class:`~asyncdlms.session.server.ServerSession` answers through. It costs two
  references, so one is made per connection.

The current Association LN object (0.0.40.0.0.255, class 15) and, with short names, the
Association SN object (0.0.0.0.0.0 style, class 12) are added by the model itself: their
object lists (attribute 2, in the Blue Book structure :func:`asyncdlms.cosem.parse_object_list`
reads) are computed once per client SAP from the access rights and then shared.

Profile generic buffers (:func:`profile_object`) are read through a lazy
:class:`ProfileRows` sequence and answer selective access by range (on the clock column,
found by bisection, rows are in time order) and by entry, in one place:
:func:`select_rows`, which narrows the rows and leaves the column selection to
:func:`asyncdlms.session.object_access.select_profile_rows`.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, overload

from ..apdu.acse import MechanismName
from ..apdu.descriptors import (
    CosemAttributeDescriptor,
    CosemMethodDescriptor,
    Data,
    SelectiveAccessDescriptor,
)
from ..apdu.enums import ActionResult, DataAccessResult
from ..apdu.short_name import FIRST_METHOD_OFFSET
from ..obis import Obis, ObisLike
from ..session.object_access import (
    AssociationContext,
    AttributeAccess,
    ShortNameKind,
    ShortNameTarget,
    action_outcome,
    select_profile_rows,
)
from ..types.values import (
    Array,
    DoubleLongUnsigned,
    Enum,
    Integer,
    Long,
    LongUnsigned,
    OctetString,
    Structure,
    Unsigned,
)

__all__ = [
    "ASSOCIATION_LN",
    "ASSOCIATION_SN",
    "AttributeDef",
    "DeviceState",
    "LogicalDevice",
    "MethodDef",
    "ObjectDef",
    "ObjectModel",
    "ProfileRows",
    "attribute",
    "method",
    "profile_object",
    "select_rows",
]

ASSOCIATION_LN = Obis("0.0.40.0.0.255")
ASSOCIATION_SN = Obis("0.0.40.0.0.255")
"""The Association SN object has the same logical name; its base name is 0xFA00."""
_ASSOCIATION_SN_BASE_NAME = 0xFA00

Getter = Callable[[Any, AssociationContext, SelectiveAccessDescriptor | None], Any]
"""``getter(state, context, selective_access) -> value or DataAccessResult``."""
Setter = Callable[[Any, AssociationContext, Any], DataAccessResult | None]
"""``setter(state, context, value) -> None (success) or a DataAccessResult``."""
Handler = Callable[[Any, AssociationContext, Any], Any]
"""``handler(state, context, parameters) -> return value (None: none), an ActionResult, or
(ActionResult, return value)``."""

AccessRights = Mapping[int, AttributeAccess] | AttributeAccess
MethodRights = Mapping[int, bool] | bool


class DeviceState:
    """The smallest per-device state the model needs: ``overrides``, the values written to
    attributes that have no setter (``None`` until the first such write, to keep idle
    devices small). Subclass it (with ``__slots__``) for your own state."""

    __slots__ = ("overrides",)

    def __init__(self) -> None:
        self.overrides: dict[tuple[int, Obis, int], Any] | None = None


@dataclass(frozen=True, slots=True)
class AttributeDef:
    """One attribute: a static ``value`` or a ``getter``; an optional ``setter`` (without
    one, a write allowed by ``access`` is kept in the device's ``overrides``); ``access``
    is one mode for every client or a mapping client SAP -> mode (others: no access);
    ``selectors`` are the selective-access selectors it supports (listed in the object list).
    """

    value: Any = None
    getter: Getter | None = None
    setter: Setter | None = None
    access: AccessRights = AttributeAccess.READ
    selectors: tuple[int, ...] = ()

    def mode(self, client_address: int) -> AttributeAccess:
        """The access mode of ``client_address``."""
        if isinstance(self.access, AttributeAccess):
            return self.access
        return self.access.get(client_address, AttributeAccess.NO_ACCESS)


@dataclass(frozen=True, slots=True)
class MethodDef:
    """One method: its handler and who may invoke it (a flag for all, or client SAP -> flag)."""

    handler: Handler
    access: MethodRights = True

    def allowed(self, client_address: int) -> bool:
        """True when ``client_address`` may invoke the method."""
        if isinstance(self.access, bool):
            return self.access
        return self.access.get(client_address, False)


def attribute(
    value: Any = None,
    *,
    getter: Getter | None = None,
    setter: Setter | None = None,
    access: AccessRights = AttributeAccess.READ,
    selectors: tuple[int, ...] = (),
) -> AttributeDef:
    """Shorthand for :class:`AttributeDef`."""
    return AttributeDef(value, getter, setter, access, selectors)


def method(handler: Handler, access: MethodRights = True) -> MethodDef:
    """Shorthand for :class:`MethodDef`."""
    return MethodDef(handler, access)


@dataclass(frozen=True, slots=True)
class ObjectDef:
    """A COSEM object of a model: class id, logical name, version, attributes (attribute 1,
    the logical name, is added read-only for everyone), methods and an optional base name
    for short-name referencing."""

    class_id: int
    logical_name: Obis
    attributes: Mapping[int, AttributeDef] = field(default_factory=dict)
    methods: Mapping[int, MethodDef] = field(default_factory=dict)
    version: int = 0
    base_name: int | None = None

    def __post_init__(self) -> None:
        if type(self.logical_name) is not Obis:
            object.__setattr__(self, "logical_name", Obis(self.logical_name))
        if 1 not in self.attributes:
            attributes = {1: AttributeDef(OctetString(self.logical_name.to_bytes()))}
            attributes.update(self.attributes)
            object.__setattr__(self, "attributes", attributes)

    def visible_to(self, client_address: int) -> bool:
        """True when the client may read, write or invoke anything beyond the logical name."""
        return any(a.mode(client_address) for i, a in self.attributes.items() if i != 1) or any(
            m.allowed(client_address) for m in self.methods.values()
        )


# ---------------------------------------------------------------------------------------------
# The model


class ObjectModel:
    """An immutable table of objects shared by every :class:`LogicalDevice` built on it.

    ``association_clients`` are the client SAPs with an association (they see the current
    Association LN object; its object list is computed per client SAP, once).
    ``short_names`` gives every object a base name (consecutive from 0x0100 in steps of
    0x100 unless an object has its own) and adds the Association SN object at 0xFA00.
    """

    def __init__(
        self,
        objects: Iterable[ObjectDef],
        *,
        association_clients: Iterable[int] = (16,),
        association_version: int = 1,
        short_names: bool = False,
        server_sap: int = 1,
    ) -> None:
        self.association_clients = tuple(association_clients)
        self.server_sap = server_sap
        listed = list(objects)
        all_clients = {c: AttributeAccess.READ for c in self.association_clients}
        association = ObjectDef(
            15,
            ASSOCIATION_LN,
            {
                2: AttributeDef(getter=_object_list_getter, access=all_clients),
                3: AttributeDef(getter=_associated_partners, access=all_clients),
                6: AttributeDef(getter=_mechanism_name, access=all_clients),
                8: AttributeDef(Enum(2), access=all_clients),  # associated
            },
            {1: MethodDef(_hls_placeholder)},  # reply_to_HLS: the session answers it
            version=association_version,
        )
        listed.insert(0, association)
        if short_names:
            numbered: list[ObjectDef] = []
            next_base = 0x0100
            for item in listed:
                if item.base_name is None and item.class_id != 15:
                    item = ObjectDef(
                        item.class_id,
                        item.logical_name,
                        item.attributes,
                        item.methods,
                        item.version,
                        next_base,
                    )
                    next_base += 0x100
                numbered.append(item)
            numbered.append(
                ObjectDef(
                    12,
                    ASSOCIATION_SN,
                    {2: AttributeDef(getter=_sn_object_list_getter)},
                    version=2,
                    base_name=_ASSOCIATION_SN_BASE_NAME,
                )
            )
            listed = numbered
        self.objects: tuple[ObjectDef, ...] = tuple(listed)
        self._by_key: dict[tuple[int, Obis], ObjectDef] = {}
        self._by_name: dict[Obis, ObjectDef] = {}
        self._short_names: dict[int, ShortNameTarget] = {}
        for item in self.objects:
            self._by_key[(item.class_id, item.logical_name)] = item
            self._by_name.setdefault(item.logical_name, item)
            if item.base_name is not None:
                self._index_short_names(item, item.base_name)
        self._object_lists: dict[int, Array] = {}
        self._sn_object_list: Array | None = None

    def find(self, class_id: int, logical_name: ObisLike) -> ObjectDef | None:
        """The object with this class id and logical name, if any."""
        return self._by_key.get((class_id, Obis(logical_name)))

    def _index_short_names(self, item: ObjectDef, base_name: int) -> None:
        for attribute_id in item.attributes:
            self._short_names[base_name + (attribute_id - 1) * 8] = ShortNameTarget(
                item.class_id, item.logical_name, ShortNameKind.ATTRIBUTE, attribute_id
            )
        offset = FIRST_METHOD_OFFSET.get(item.class_id)
        if offset is not None:
            for method_id in item.methods:
                self._short_names[base_name + offset[0] + (method_id - 1) * 8] = ShortNameTarget(
                    item.class_id, item.logical_name, ShortNameKind.METHOD, method_id
                )

    def resolve_short_name(self, short_name: int) -> ShortNameTarget | None:
        """The attribute or method at ``short_name``."""
        return self._short_names.get(short_name)

    def object_list(self, client_address: int) -> Array:
        """Association LN attribute 2 as seen by ``client_address`` (cached per client)."""
        cached = self._object_lists.get(client_address)
        if cached is None:
            cached = Array(
                _object_list_entry(item, client_address)
                for item in self.objects
                if item.class_id != 12
                and (item.logical_name == ASSOCIATION_LN or item.visible_to(client_address))
            )
            self._object_lists[client_address] = cached
        return cached

    def short_name_object_list(self) -> Array:
        """Association SN attribute 2: ``{base_name, class_id, version, logical_name}``."""
        if self._sn_object_list is None:
            self._sn_object_list = Array(
                Structure(
                    (
                        Long(_signed16(item.base_name)),
                        LongUnsigned(item.class_id),
                        Unsigned(item.version),
                        OctetString(item.logical_name.to_bytes()),
                    )
                )
                for item in self.objects
                if item.base_name is not None
            )
        return self._sn_object_list


def _signed16(value: int) -> int:
    return value - 0x10000 if value >= 0x8000 else value


def _object_list_entry(item: ObjectDef, client_address: int) -> Structure:
    attributes = Array(
        Structure(
            (
                Integer(attribute_id),
                Enum(int(definition.mode(client_address))),
                Array(Integer(s) for s in definition.selectors) if definition.selectors else None,
            )
        )
        for attribute_id, definition in sorted(item.attributes.items())
    )
    methods = Array(
        Structure((Integer(method_id), Enum(1 if definition.allowed(client_address) else 0)))
        for method_id, definition in sorted(item.methods.items())
    )
    return Structure(
        (
            LongUnsigned(item.class_id),
            Unsigned(item.version),
            OctetString(item.logical_name.to_bytes()),
            Structure((attributes, methods)),
        )
    )


def _object_list_getter(
    state: Any, context: AssociationContext, selection: SelectiveAccessDescriptor | None
) -> Any:
    device = state if isinstance(state, LogicalDevice) else None
    if device is None:
        return DataAccessResult.OTHER_REASON
    return device.model.object_list(context.client_address)


def _sn_object_list_getter(
    state: Any, context: AssociationContext, selection: SelectiveAccessDescriptor | None
) -> Any:
    device = state if isinstance(state, LogicalDevice) else None
    if device is None:
        return DataAccessResult.OTHER_REASON
    return device.model.short_name_object_list()


def _associated_partners(
    state: Any, context: AssociationContext, selection: SelectiveAccessDescriptor | None
) -> Any:
    server_sap = state.model.server_sap if isinstance(state, LogicalDevice) else 1
    return Structure((Integer(context.client_address), LongUnsigned(server_sap)))


def _mechanism_name(
    state: Any, context: AssociationContext, selection: SelectiveAccessDescriptor | None
) -> Any:
    mechanism = int(context.mechanism) if isinstance(context.mechanism, MechanismName) else 0
    return OctetString(bytes((0x60, 0x85, 0x74, 0x05, 0x08, 0x02, mechanism)))


def _hls_placeholder(state: Any, context: AssociationContext, parameters: Any) -> Any:
    return ActionResult.OTHER_REASON


# ---------------------------------------------------------------------------------------------
# One device


class LogicalDevice:
    """One logical device: a shared :class:`ObjectModel` and this device's ``state``;
    implements :class:`~asyncdlms.session.object_access.ObjectAccess`.

    Getters, setters and handlers receive ``state`` (the Association objects' built-in
    getters receive the device itself). Writes to attributes without a setter are kept in
    ``state.overrides`` when the state is a :class:`DeviceState`.
    """

    __slots__ = ("model", "state")

    def __init__(self, model: ObjectModel, state: Any = None) -> None:
        self.model = model
        self.state = state

    def _object(self, class_id: int, logical_name: Obis) -> ObjectDef | ActionResult:
        item = self.model._by_key.get((class_id, logical_name))
        if item is None:
            if logical_name in self.model._by_name:
                return ActionResult.OBJECT_CLASS_INCONSISTENT
            return ActionResult.OBJECT_UNDEFINED
        return item

    def _attribute(
        self, descriptor: CosemAttributeDescriptor
    ) -> tuple[ObjectDef, AttributeDef] | DataAccessResult:
        item = self._object(descriptor.class_id, descriptor.instance_id)
        if isinstance(item, ActionResult):
            return DataAccessResult(int(item))
        definition = item.attributes.get(descriptor.attribute_id)
        if definition is None:
            return DataAccessResult.OBJECT_UNDEFINED
        return item, definition

    def _target(self, item: ObjectDef) -> Any:
        return (
            self
            if item.class_id in (12, 15) and item.logical_name == ASSOCIATION_LN
            else (self.state)
        )

    def get(
        self,
        context: AssociationContext,
        descriptor: CosemAttributeDescriptor,
        selective_access: SelectiveAccessDescriptor | None,
    ) -> Any:
        """The attribute value, or why not (a :class:`DataAccessResult`)."""
        found = self._attribute(descriptor)
        if isinstance(found, DataAccessResult):
            return found
        item, definition = found
        if not int.__and__(definition.mode(context.client_address), AttributeAccess.READ):
            return DataAccessResult.READ_WRITE_DENIED
        if definition.getter is not None:
            return definition.getter(self._target(item), context, selective_access)
        if selective_access is not None:
            return DataAccessResult.SCOPE_OF_ACCESS_VIOLATED
        overrides = getattr(self.state, "overrides", None)
        if overrides:
            key = (descriptor.class_id, descriptor.instance_id, descriptor.attribute_id)
            if key in overrides:
                return overrides[key]
        return definition.value

    def set(
        self,
        context: AssociationContext,
        descriptor: CosemAttributeDescriptor,
        value: Any,
        selective_access: SelectiveAccessDescriptor | None,
    ) -> DataAccessResult:
        """Write the attribute (its setter, or the device's overrides)."""
        found = self._attribute(descriptor)
        if isinstance(found, DataAccessResult):
            return found
        item, definition = found
        if not definition.mode(context.client_address) & AttributeAccess.WRITE:
            return DataAccessResult.READ_WRITE_DENIED
        if selective_access is not None:
            return DataAccessResult.SCOPE_OF_ACCESS_VIOLATED
        if definition.setter is not None:
            result = definition.setter(self._target(item), context, value)
            return DataAccessResult.SUCCESS if result is None else result
        if not isinstance(self.state, DeviceState):
            return DataAccessResult.TEMPORARY_FAILURE
        if self.state.overrides is None:
            self.state.overrides = {}
        key = (descriptor.class_id, descriptor.instance_id, descriptor.attribute_id)
        self.state.overrides[key] = value.value if isinstance(value, Data) else value
        return DataAccessResult.SUCCESS

    def action(
        self, context: AssociationContext, descriptor: CosemMethodDescriptor, parameters: Any
    ) -> tuple[ActionResult, Any]:
        """Invoke the method's handler."""
        item = self._object(descriptor.class_id, descriptor.instance_id)
        if isinstance(item, ActionResult):
            return item, None
        definition = item.methods.get(descriptor.method_id)
        if definition is None:
            return ActionResult.OBJECT_UNDEFINED, None
        if not definition.allowed(context.client_address):
            return ActionResult.READ_WRITE_DENIED, None
        return action_outcome(definition.handler(self._target(item), context, parameters))

    def resolve_short_name(
        self, context: AssociationContext, short_name: int
    ) -> ShortNameTarget | None:
        """The attribute or method at ``short_name``."""
        return self.model.resolve_short_name(short_name)


# ---------------------------------------------------------------------------------------------
# Profile generic


class ProfileRows(Sequence[Sequence[Any]]):
    """A lazy, read-only sequence of profile rows: ``row(index)`` computes row ``index``
    (0 = the oldest) on demand; nothing is stored."""

    __slots__ = ("_count", "_row")

    def __init__(self, count: int, row: Callable[[int], Sequence[Any]]) -> None:
        self._count = max(count, 0)
        self._row = row

    def __len__(self) -> int:
        return self._count

    @overload
    def __getitem__(self, index: int) -> Sequence[Any]: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[Sequence[Any]]: ...

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            start, stop, step = index.indices(self._count)
            if step == 1:
                return ProfileRows(max(stop - start, 0), lambda i: self._row(start + i))
            return [self._row(i) for i in range(start, stop, step)]
        if index < 0:
            index += self._count
        if not 0 <= index < self._count:
            raise IndexError(index)
        return self._row(index)


def _time_key(value: Any) -> Any:
    """Date-times compare on year..second, day of week left out (as select_profile_rows)."""
    if isinstance(value, Data):
        value = value.value
    if isinstance(value, (bytes, bytearray)) and len(value) == 12:
        return bytes(value[0:4]) + bytes(value[5:8])
    if hasattr(value, "to_bytes") and not isinstance(value, int):
        raw = value.to_bytes()
        if isinstance(raw, bytes) and len(raw) == 12:
            return raw[0:4] + raw[5:8]
    return value


class _Keys(Sequence[Any]):
    def __init__(self, rows: Sequence[Sequence[Any]], column: int) -> None:
        self.rows = rows
        self.column = column

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: Any) -> Any:
        return _time_key(self.rows[index][self.column])


def select_rows(
    rows: Sequence[Sequence[Any]],
    capture_objects: Sequence[tuple[int, ObisLike, int]],
    selective_access: SelectiveAccessDescriptor | None,
    *,
    time_column: int | None = 0,
) -> Sequence[Sequence[Any]] | DataAccessResult:
    """The rows a selective access selects, computing only those rows.

    With selector 1 on ``time_column`` (the rows are in time order), the matching rows are
    found by bisection before :func:`select_profile_rows` checks and trims them; selector 2
    slices the lazy rows. Everything else goes to :func:`select_profile_rows` as is.
    """
    if selective_access is None:
        return rows
    narrowed = rows
    if selective_access.access_selector == 1 and time_column is not None:
        try:
            restricting, low, high, _ = selective_access.access_parameters.value
            key = (int(restricting[0]), Obis(bytes(restricting[1])), int(restricting[2]))
            column = capture_objects[time_column]
            if key == (int(column[0]), Obis(column[1]), int(column[2])):
                keys = _Keys(rows, time_column)
                first = bisect.bisect_left(keys, _time_key(low))
                last = bisect.bisect_right(keys, _time_key(high))
                narrowed = rows[first:last]
        except (TypeError, ValueError, IndexError):
            return DataAccessResult.OTHER_REASON
    result = select_profile_rows(narrowed, capture_objects, selective_access)
    return result


def profile_object(
    logical_name: ObisLike,
    capture_objects: Sequence[tuple[int, ObisLike, int]],
    rows: Callable[[Any], Sequence[Sequence[Any]]],
    *,
    capture_period: int,
    profile_entries: int | Callable[[Any], int],
    access: AccessRights = AttributeAccess.READ,
    version: int = 1,
) -> ObjectDef:
    """A Profile generic (class 7) whose buffer is ``rows(state)`` (a lazy sequence, e.g.
    :class:`ProfileRows`, oldest first, the first column the clock when sorted by time) with
    selective access by range (selector 1) and by entry (selector 2)."""
    columns = tuple((c, Obis(o), a) for c, o, a in capture_objects)
    capture_value = Array(
        Structure((LongUnsigned(c), OctetString(o.to_bytes()), Integer(a), LongUnsigned(0)))
        for c, o, a in columns
    )
    time_column = 0 if columns and columns[0][0] == 8 and columns[0][2] == 2 else None

    def buffer(
        state: Any, context: AssociationContext, selection: SelectiveAccessDescriptor | None
    ) -> Any:
        selected = select_rows(rows(state), columns, selection, time_column=time_column)
        if isinstance(selected, DataAccessResult):
            return selected
        return Array(Structure(row) for row in selected)

    def entries_in_use(
        state: Any, context: AssociationContext, selection: SelectiveAccessDescriptor | None
    ) -> Any:
        return DoubleLongUnsigned(len(rows(state)))

    def entries(
        state: Any, context: AssociationContext, selection: SelectiveAccessDescriptor | None
    ) -> Any:
        count = profile_entries(state) if callable(profile_entries) else profile_entries
        return DoubleLongUnsigned(count)

    sort_object = (
        Structure(
            (LongUnsigned(8), OctetString(columns[0][1].to_bytes()), Integer(2), LongUnsigned(0))
        )
        if time_column is not None
        else Structure((LongUnsigned(0), OctetString(bytes(6)), Integer(0), LongUnsigned(0)))
    )
    return ObjectDef(
        7,
        Obis(logical_name),
        {
            2: AttributeDef(getter=buffer, access=access, selectors=(1, 2)),
            3: AttributeDef(capture_value, access=access),
            4: AttributeDef(DoubleLongUnsigned(capture_period), access=access),
            5: AttributeDef(Enum(1), access=access),  # fifo
            6: AttributeDef(sort_object, access=access),
            7: AttributeDef(getter=entries_in_use, access=access),
            8: AttributeDef(getter=entries, access=access),
        },
        version=version,
    )
