"""The server session never raises for what a client sends, in any association state, and
the ObjectTable / profile-row selection behave like a simple model."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from asyncdlms.apdu.acse import MechanismName
from asyncdlms.apdu.descriptors import (
    CosemAttributeDescriptor,
    CosemMethodDescriptor,
    entry_descriptor,
)
from asyncdlms.apdu.enums import ActionResult, DataAccessResult
from asyncdlms.obis import Obis
from asyncdlms.session.object_access import (
    AssociationContext,
    Attribute,
    AttributeAccess,
    Method,
    ObjectAccess,
    ObjectTable,
    ShortNameKind,
    select_profile_rows,
)
from asyncdlms.session.server import AssociationState
from tests.session.test_server import CLIENT_CHALLENGE, CLIENT_TITLE, Harness, aarq

TAGS = [0x01, 0x05, 0x06, 0x16, 0x60, 0x62, 0xC0, 0xC1, 0xC3, 0xE0, 0xD8, 0xFF]


def fuzz(harness: Harness, data: bytes) -> None:
    answers = harness.request(data)
    assert len(answers) <= 1
    harness.server.events()


@settings(max_examples=150, deadline=None)
@given(tag=st.sampled_from(TAGS), body=st.binary(max_size=60))
def test_any_apdu_in_idle_state(tag: int, body: bytes) -> None:
    harness = Harness(16)
    fuzz(harness, bytes([tag]) + body)
    assert harness.server.state in (AssociationState.IDLE, AssociationState.ASSOCIATED)


@settings(max_examples=150, deadline=None)
@given(tag=st.sampled_from(TAGS), body=st.binary(max_size=60))
def test_any_apdu_while_waiting_for_pass3(tag: int, body: bytes) -> None:
    harness = Harness(18)
    aare = harness.associate(
        aarq(MechanismName.HIGH_MD5, CLIENT_CHALLENGE, calling_ap_title=CLIENT_TITLE)
    )
    assert aare.hls_pending
    fuzz(harness, bytes([tag]) + body)
    assert harness.server.state is not AssociationState.ASSOCIATED


@settings(max_examples=150, deadline=None)
@given(
    chunks=st.lists(
        st.tuples(st.sampled_from(TAGS), st.binary(max_size=40)), min_size=1, max_size=6
    )
)
def test_any_sequence_of_apdus_while_associated(chunks: list[tuple[int, bytes]]) -> None:
    harness = Harness(16)
    assert harness.associate(aarq()).accepted
    for tag, body in chunks:
        fuzz(harness, bytes([tag]) + body)


def test_object_table_is_an_object_access_and_resolves_short_names() -> None:
    table = ObjectTable()
    table.add(
        1, "0.0.96.1.0.255", {2: 5, 3: Attribute(7, AttributeAccess.NO_ACCESS)}, base_name=0x100
    )
    table.add(70, "0.0.96.3.10.255", {}, {1: lambda c, p: None}, base_name=0x200)
    assert isinstance(table, ObjectAccess)
    context = AssociationContext(16)
    target = table.resolve_short_name(context, 0x108)
    assert target is not None and target.kind is ShortNameKind.ATTRIBUTE and target.index == 2
    assert target.attribute_descriptor() == CosemAttributeDescriptor(1, Obis("0.0.96.1.0.255"), 2)
    method = table.resolve_short_name(context, 0x220)
    assert method is not None and method.kind is ShortNameKind.METHOD
    assert method.method_descriptor() == CosemMethodDescriptor(70, Obis("0.0.96.3.10.255"), 1)
    assert table.resolve_short_name(context, 0x999) is None
    item = table.find(1, "0.0.96.1.0.255")
    assert item is not None and item.base_name == 0x100
    assert len(table.objects) == 2
    descriptor = CosemAttributeDescriptor(1, Obis("0.0.96.1.0.255"), 3)
    assert table.get(context, descriptor, None) == DataAccessResult.READ_WRITE_DENIED
    assert table.set(context, descriptor, 1, None) == DataAccessResult.READ_WRITE_DENIED


def test_method_outcomes_and_rights() -> None:
    table = ObjectTable()
    table.add(
        70,
        "0.0.96.3.10.255",
        {},
        {
            1: lambda c, p: ActionResult.TEMPORARY_FAILURE,
            2: lambda c, p: (ActionResult.SUCCESS, 9),
            3: Method(lambda c, p: 1, access={1: True}),
        },
    )
    obis = Obis("0.0.96.3.10.255")
    public = AssociationContext(16)
    assert table.action(public, CosemMethodDescriptor(70, obis, 1), None) == (
        ActionResult.TEMPORARY_FAILURE,
        None,
    )
    assert table.action(public, CosemMethodDescriptor(70, obis, 2), None) == (
        ActionResult.SUCCESS,
        9,
    )
    assert table.action(public, CosemMethodDescriptor(70, obis, 3), None)[0] == (
        ActionResult.READ_WRITE_DENIED
    )
    assert table.action(AssociationContext(1), CosemMethodDescriptor(70, obis, 3), None) == (
        ActionResult.SUCCESS,
        1,
    )
    assert table.action(public, CosemMethodDescriptor(71, obis, 1), None)[0] == (
        ActionResult.OBJECT_CLASS_INCONSISTENT
    )


@given(
    count=st.integers(0, 30),
    first=st.integers(1, 35),
    last=st.integers(0, 35),
    first_column=st.integers(1, 3),
    last_column=st.integers(0, 3),
)
def test_entry_selection_is_slicing(
    count: int, first: int, last: int, first_column: int, last_column: int
) -> None:
    rows: list[list[Any]] = [[i, i * 10, i * 100] for i in range(count)]
    columns = [(8, "0.0.1.0.0.255", 2), (3, "1.0.1.8.0.255", 2), (3, "1.0.2.8.0.255", 2)]
    selected = select_profile_rows(
        rows, columns, entry_descriptor(first, last, first_column, last_column)
    )
    end_row = count if last == 0 else min(last, count)
    end_column = 3 if last_column == 0 else last_column
    expected = [row[first_column - 1 : end_column] for row in rows[first - 1 : end_row]]
    assert [list(row) for row in selected] == expected  # type: ignore[union-attr]
