"""The server object model without sockets: object lists per client SAP, access rights,
writes kept per device, lazy profile rows with range and entry selection."""

from __future__ import annotations

import datetime

import pytest

from asyncdlms.apdu.descriptors import (
    CosemAttributeDescriptor,
    CosemMethodDescriptor,
    SelectiveAccessDescriptor,
)
from asyncdlms.apdu.enums import ActionResult, DataAccessResult
from asyncdlms.cosem import parse_object_list
from asyncdlms.cosem.profile import CaptureObject, entry_selection, range_selection
from asyncdlms.obis import Obis
from asyncdlms.server import (
    AttributeDef,
    DeviceState,
    LogicalDevice,
    MethodDef,
    ObjectDef,
    ObjectModel,
    ProfileRows,
    profile_object,
    select_rows,
)
from asyncdlms.session.object_access import (
    AssociationContext,
    AttributeAccess,
    ObjectAccess,
    select_profile_rows,
)
from asyncdlms.types import DateTime
from asyncdlms.types.values import DoubleLongUnsigned, Unsigned

CLOCK = (8, Obis("0.0.1.0.0.255"), 2)
ENERGY = (3, Obis("1.0.1.8.0.255"), 2)
T0 = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


def rows(count: int = 200) -> ProfileRows:
    def row(index: int) -> tuple[DateTime, DoubleLongUnsigned]:
        at = T0 + datetime.timedelta(minutes=15 * index)
        return DateTime.from_datetime(at), DoubleLongUnsigned(1000 + index)

    return ProfileRows(count, row)


def model() -> ObjectModel:
    return ObjectModel(
        [
            ObjectDef(
                1,
                Obis("0.0.96.1.0.255"),
                {
                    2: AttributeDef(
                        Unsigned(7),
                        access={16: AttributeAccess.READ, 18: AttributeAccess.READ_WRITE},
                    )
                },
            ),
            ObjectDef(
                70,
                Obis("0.0.96.3.10.255"),
                {2: AttributeDef(True, access={18: AttributeAccess.READ})},
                {1: MethodDef(lambda state, context, parameters: parameters, {18: True})},
            ),
            profile_object(
                "1.0.99.1.0.255",
                (CLOCK, ENERGY),
                lambda state: rows(),
                capture_period=900,
                profile_entries=200,
                access={18: AttributeAccess.READ},
            ),
        ],
        association_clients=(16, 18),
    )


def test_logical_device_is_an_object_access() -> None:
    assert isinstance(LogicalDevice(model(), DeviceState()), ObjectAccess)


def test_object_list_depends_on_the_client_and_is_shared() -> None:
    shared = model()
    device = LogicalDevice(shared, DeviceState())
    descriptor = CosemAttributeDescriptor(15, Obis("0.0.40.0.0.255"), 2)
    public = parse_object_list(device.get(AssociationContext(16), descriptor, None))
    manager = parse_object_list(device.get(AssociationContext(18), descriptor, None))
    assert public.skipped == 0 and manager.skipped == 0
    assert {str(e.logical_name) for e in public.entries} == {"0.0.40.0.0.255", "0.0.96.1.0.255"}
    assert len(manager.entries) == 4
    profile = next(e for e in manager.entries if e.class_id == 7)
    buffer = next(a for a in profile.attribute_access if a.attribute_id == 2)
    assert buffer.access_selectors == (1, 2)
    other = LogicalDevice(shared, DeviceState())
    assert other.get(AssociationContext(18), descriptor, None) is device.get(
        AssociationContext(18), descriptor, None
    )


def test_access_rights_per_client_and_writes_kept_per_device() -> None:
    shared = model()
    first, second = DeviceState(), DeviceState()
    descriptor = CosemAttributeDescriptor(1, Obis("0.0.96.1.0.255"), 2)
    one = LogicalDevice(shared, first)
    assert (
        one.set(AssociationContext(16), descriptor, 9, None) == DataAccessResult.READ_WRITE_DENIED
    )
    assert one.set(AssociationContext(18), descriptor, 9, None) == DataAccessResult.SUCCESS
    assert one.get(AssociationContext(16), descriptor, None) == 9
    assert LogicalDevice(shared, second).get(AssociationContext(16), descriptor, None) == 7
    assert second.overrides is None
    assert one.get(AssociationContext(17), descriptor, None) == DataAccessResult.READ_WRITE_DENIED


def test_unknown_objects_and_methods() -> None:
    device = LogicalDevice(model(), DeviceState())
    context = AssociationContext(18)
    missing = CosemAttributeDescriptor(3, Obis("1.0.1.8.0.255"), 2)
    assert device.get(context, missing, None) == DataAccessResult.OBJECT_UNDEFINED
    wrong_class = CosemAttributeDescriptor(3, Obis("0.0.96.1.0.255"), 2)
    assert device.get(context, wrong_class, None) == DataAccessResult.OBJECT_CLASS_INCONSISTENT
    method = CosemMethodDescriptor(70, Obis("0.0.96.3.10.255"), 1)
    assert device.action(context, method, 5) == (ActionResult.SUCCESS, 5)
    assert device.action(AssociationContext(16), method, 5)[0] == ActionResult.READ_WRITE_DENIED
    assert device.action(context, CosemMethodDescriptor(70, method.instance_id, 9), 0)[0] == (
        ActionResult.OBJECT_UNDEFINED
    )


def _decoded(selection: SelectiveAccessDescriptor) -> SelectiveAccessDescriptor:
    """The descriptor as the server gets it (encoded and decoded)."""
    from asyncdlms.apdu.descriptors import Reader

    return SelectiveAccessDescriptor.read(Reader(selection.encode()))


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (T0 + datetime.timedelta(hours=2), T0 + datetime.timedelta(hours=3)),
        (T0 - datetime.timedelta(days=1), T0 + datetime.timedelta(minutes=1)),
        (T0 + datetime.timedelta(days=30), T0 + datetime.timedelta(days=31)),
        (T0 + datetime.timedelta(minutes=7), T0 + datetime.timedelta(minutes=8)),
    ],
)
def test_range_selection_by_bisection_equals_the_full_scan(
    start: datetime.datetime, end: datetime.datetime
) -> None:
    lazy = rows()
    selection = _decoded(range_selection(start, end))
    columns = (CLOCK, ENERGY)
    quick = select_rows(lazy, columns, selection)
    full = select_profile_rows(list(lazy), columns, selection)
    assert not isinstance(quick, DataAccessResult) and not isinstance(full, DataAccessResult)
    assert [tuple(r) for r in quick] == [tuple(r) for r in full]


def test_range_selection_with_selected_values() -> None:
    selection = _decoded(
        range_selection(
            T0,
            T0 + datetime.timedelta(minutes=30),
            selected_values=[CaptureObject(*ENERGY)],
        )
    )
    selected = select_rows(rows(), (CLOCK, ENERGY), selection)
    assert [list(r) for r in selected] == [[1000], [1001], [1002]]  # type: ignore[union-attr]


def test_entry_selection_computes_only_the_rows_asked() -> None:
    computed: list[int] = []

    def row(index: int) -> tuple[int, int]:
        computed.append(index)
        return index, index * 2

    lazy = ProfileRows(100_000, row)
    selected = select_rows(lazy, (CLOCK, ENERGY), _decoded(entry_selection(5, 7, 2, 2)))
    assert [list(r) for r in selected] == [[8], [10], [12]]  # type: ignore[union-attr]
    assert sorted(set(computed)) == [4, 5, 6]


def test_unknown_selector_and_restricting_column() -> None:
    selection = _decoded(
        range_selection(T0, T0, restricting_object=CaptureObject(3, Obis("1.0.2.8.0.255"), 2))
    )
    assert select_rows(rows(), (CLOCK, ENERGY), selection) == (
        DataAccessResult.SCOPE_OF_ACCESS_VIOLATED
    )


def test_short_names_and_the_association_sn_object_list() -> None:
    shared = ObjectModel(
        [ObjectDef(1, Obis("0.0.96.1.0.255"), {2: AttributeDef(Unsigned(7))})], short_names=True
    )
    device = LogicalDevice(shared, DeviceState())
    target = device.resolve_short_name(AssociationContext(16), 0x0100 + 8)
    assert target is not None and target.index == 2
    assert target.instance_id == Obis("0.0.96.1.0.255")
    listing = device.get(
        AssociationContext(16), CosemAttributeDescriptor(12, Obis("0.0.40.0.0.255"), 2), None
    )
    assert [tuple(e)[1] for e in listing] == [1, 12]
