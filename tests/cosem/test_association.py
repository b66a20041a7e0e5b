"""Association LN/SN: object lists (quirk 9: parsed tolerantly, never a crash) and the other
association attributes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from asyncdlms import axdr
from asyncdlms.apdu import ApplicationContextName, MechanismName
from asyncdlms.apdu.initiate import Conformance
from asyncdlms.cosem import (
    AccessProtection,
    AssociatedPartners,
    AssociationStatus,
    AttributeAccessMode,
    CosemValueError,
    MethodAccessMode,
    ObjectList,
    XdlmsContextInfo,
    application_context_name,
    association_status,
    authentication_mechanism_name,
    parse_associated_partners,
    parse_object_list,
    parse_short_name_object_list,
)
from asyncdlms.obis import Obis
from asyncdlms.types import (
    Array,
    BitString,
    DlmsValue,
    Enum,
    Integer,
    Long,
    LongUnsigned,
    OctetString,
    Structure,
    Unsigned,
    VisibleString,
)


def attribute_item(number: int, mode: int, selectors: list[int] | None = None) -> Structure:
    return Structure(
        (
            Integer(number),
            Enum(mode),
            None if selectors is None else Array(Integer(s) for s in selectors),
        )
    )


def method_item(number: int, mode: DlmsValue) -> Structure:
    return Structure((Integer(number), mode))


def element(
    class_id: int,
    version: int,
    obis: str,
    attributes: list[Structure],
    methods: list[Structure],
) -> Structure:
    return Structure(
        (
            LongUnsigned(class_id),
            Unsigned(version),
            OctetString(bytes(Obis(obis))),
            Structure((Array(attributes), Array(methods))),
        )
    )


REALISTIC = Array(
    [
        element(
            15,
            1,
            "0.0.40.0.0.255",
            [attribute_item(n, 1) for n in range(1, 10)],
            [method_item(1, Enum(1)), method_item(2, Enum(0))],
        ),
        element(
            8,
            0,
            "0.0.1.0.0.255",
            [
                attribute_item(1, 1),
                attribute_item(2, 3),
                *[attribute_item(n, 1) for n in range(3, 10)],
            ],
            [method_item(n, Enum(0)) for n in range(1, 7)],
        ),
        element(
            3,
            0,
            "1.0.1.8.0.255",
            [attribute_item(1, 1), attribute_item(2, 1), attribute_item(3, 1)],
            [method_item(1, Enum(2))],
        ),
        element(
            7,
            1,
            "1.0.99.1.0.255",
            [
                attribute_item(1, 1),
                attribute_item(2, 1, [1, 2]),
                *[attribute_item(n, 1) for n in range(3, 9)],
            ],
            [method_item(1, Enum(0)), method_item(2, Enum(0))],
        ),
        element(1, 0, "0.0.42.0.0.255", [attribute_item(1, 1), attribute_item(2, 1)], []),
        element(
            70,
            0,
            "0.0.96.3.10.255",
            [attribute_item(n, 1) for n in range(1, 5)],
            [method_item(1, Enum(1)), method_item(2, Enum(1))],
        ),
        element(9999, 0, "0.128.96.0.0.255", [attribute_item(1, 1)], []),
    ]
)


def test_realistic_object_list() -> None:
    parsed = parse_object_list(axdr.decode(axdr.encode(REALISTIC)))
    assert isinstance(parsed, ObjectList)
    assert len(parsed) == 7 and parsed.skipped == 0 and not parsed.problems
    assert all(not entry.problems for entry in parsed)
    clock = parsed.find("0.0.1.0.0.255")
    assert clock is not None and clock.class_id == 8 and clock.interface_class.name == "Clock"
    time = clock.attribute_access_for(2)
    assert time is not None and time.access_mode is AttributeAccessMode.READ_AND_WRITE
    assert time.readable and time.writable
    assert clock.method_access_for(6) is not None and not clock.method_access_for(6).accessible  # type: ignore[union-attr]
    profile = parsed.find("1.0.99.1.0.255", class_id=7)
    assert profile is not None
    buffer = profile.attribute_access_for(2)
    assert buffer is not None and buffer.access_selectors == (1, 2)
    assert profile.attribute_access_for(3).access_selectors is None  # type: ignore[union-attr]
    register = parsed[2]
    assert register.method_access_for(1).access_mode is MethodAccessMode.AUTHENTICATED_ACCESS  # type: ignore[union-attr]
    assert register.method_access_for(1).accessible  # type: ignore[union-attr]
    assert [e.logical_name for e in parsed.by_class(1)] == [Obis("0.0.42.0.0.255")]
    unknown = parsed.find("0.128.96.0.0.255")
    assert unknown is not None and not unknown.interface_class.known
    assert str(register) == "3/1.0.1.8.0.255 (version 0)"
    assert parsed.find("9.9.9.9.9.9") is None


def test_version_0_boolean_method_access() -> None:
    parsed = parse_object_list(
        [
            element(
                3,
                0,
                "1.0.1.8.0.255",
                [attribute_item(2, 1)],
                [method_item(1, True), method_item(2, False)],
            )
        ]
    )
    entry = parsed[0]
    assert entry.method_access_for(1).access_mode is MethodAccessMode.ACCESS  # type: ignore[union-attr]
    assert entry.method_access_for(2).access_mode is MethodAccessMode.NO_ACCESS  # type: ignore[union-attr]
    assert not entry.problems


def test_version_3_bit_field_access_modes() -> None:
    mode = (
        AccessProtection.READ
        | AccessProtection.AUTHENTICATED_REQUEST
        | AccessProtection.ENCRYPTED_RESPONSE
    )
    parsed = parse_object_list(
        [
            element(
                8,
                0,
                "0.0.1.0.0.255",
                [attribute_item(2, int(mode)), attribute_item(3, 0x06)],
                [method_item(1, Enum(0x05))],
            )
        ],
        association_version=3,
    )
    entry = parsed[0]
    time = entry.attribute_access_for(2)
    assert time is not None and time.bit_field and time.access_mode == mode
    assert time.readable and not time.writable
    zone = entry.attribute_access_for(3)
    assert zone is not None and zone.writable and not zone.readable  # 0x06: write + authenticated
    assert entry.method_access_for(1).accessible  # type: ignore[union-attr]
    # The same 4 read as versions 0..2: authenticated_read_only.
    old = parse_object_list([element(8, 0, "0.0.1.0.0.255", [attribute_item(2, 4)], [])])
    assert old[0].attribute_access[0].access_mode is AttributeAccessMode.AUTHENTICATED_READ_ONLY
    assert old[0].attribute_access[0].readable and not old[0].attribute_access[0].writable


def test_minus_one_ids_and_partial_lists() -> None:
    """Quirk 9: ids of -1 kept as sent; only supported attributes listed."""
    parsed = parse_object_list(
        [
            element(
                3,
                0,
                "1.0.1.8.0.255",
                [attribute_item(-1, 1), attribute_item(2, 1)],
                [method_item(-1, Enum(1))],
            )
        ]
    )
    entry = parsed[0]
    assert [a.attribute_id for a in entry.attribute_access] == [-1, 2]
    assert entry.attribute_access_for(-1) is not None
    assert entry.attribute_access_for(3) is None  # not listed
    assert entry.method_access[0].method_id == -1


def test_wrong_element_counts() -> None:
    name = OctetString(bytes(Obis("1.0.1.8.0.255")))
    rights = Structure((Array([attribute_item(2, 1)]), Array([])))
    value = [
        Structure((LongUnsigned(3), Unsigned(0), name, rights, Unsigned(7))),  # 5 elements
        Structure((LongUnsigned(3), Unsigned(0), name)),  # no access rights
        Structure((LongUnsigned(3), Unsigned(0))),  # no logical name: skipped
        Structure(
            (LongUnsigned(3), Unsigned(0), name, Structure((Array([attribute_item(2, 1)]),)))
        ),  # no method_access
        Structure(
            (
                LongUnsigned(3),
                Unsigned(0),
                name,
                Structure(
                    (
                        Array(
                            [
                                Structure((Integer(2),)),
                                Structure((Integer(3), Enum(1), None, Unsigned(9))),
                                Structure((Integer(4), Enum(1))),
                            ]
                        ),
                        Array([Structure((Integer(1),))]),
                    )
                ),
            )
        ),
        Structure((LongUnsigned(3), None, name, rights)),  # version null
        Structure(
            (LongUnsigned(3), Unsigned(0), name, Unsigned(5))
        ),  # access rights not a structure
        Unsigned(1),  # not a structure: skipped
        Structure((OctetString(b"x"), Unsigned(0), name, rights)),  # class id not a number: skipped
    ]
    parsed = parse_object_list(value)
    assert parsed.skipped == 3 and len(parsed) == 6
    assert len(parsed.problems) == 3 and all("skipped" in p for p in parsed.problems)
    first, second, third, fourth, fifth, sixth = parsed
    assert first.attribute_access_for(2) is not None and first.problems
    assert not second.access_rights_present and second.attribute_access == ()
    assert third.attribute_access_for(2) is not None and third.method_access == ()
    assert "without method_access" in third.problems[0]
    assert [a.attribute_id for a in fourth.attribute_access] == [3, 4]  # the 1-element item dropped
    assert fourth.method_access == () and len(fourth.problems) == 3
    assert fifth.version == 0 and fifth.problems
    assert not sixth.access_rights_present


def test_object_list_must_be_an_array() -> None:
    for bad in (None, 5, b"list", Unsigned(3)):
        with pytest.raises(CosemValueError):
            parse_object_list(bad)


_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-128, 127).map(Integer),
    st.integers(0, 255).map(Unsigned),
    st.integers(0, 255).map(Enum),
    st.integers(0, 0xFFFF).map(LongUnsigned),
    st.integers(-0x8000, 0x7FFF).map(Long),
    st.binary(max_size=8).map(OctetString),
    st.text(max_size=4).map(VisibleString),
    st.binary(max_size=2).map(lambda b: BitString(b, len(b) * 8)),
)
_values = st.recursive(
    _scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=5).map(lambda items: Structure(items)),
        st.lists(children, max_size=5).map(lambda items: Array(items)),
    ),
    max_leaves=30,
)
_almost_valid = st.builds(
    lambda class_id, version, name, attributes, methods: Structure(
        (class_id, version, name, Structure((Array(attributes), Array(methods))))
    ),
    st.one_of(st.integers(0, 0xFFFF).map(LongUnsigned), _scalars),
    st.one_of(st.integers(0, 255).map(Unsigned), _scalars),
    st.one_of(st.binary(min_size=6, max_size=6).map(OctetString), _scalars),
    st.lists(
        st.one_of(st.tuples(_scalars, _scalars, _scalars).map(Structure), _values), max_size=4
    ),
    st.lists(st.one_of(st.tuples(_scalars, _scalars).map(Structure), _values), max_size=4),
)


@given(st.lists(st.one_of(_values, _almost_valid), max_size=6), st.sampled_from([None, 0, 1, 2, 3]))
def test_random_structures_never_crash(elements: list[DlmsValue], version: int | None) -> None:
    parsed = parse_object_list(Array(elements), association_version=version)
    assert len(parsed) + parsed.skipped == len(elements)
    for entry in parsed:
        assert 0 <= entry.class_id <= 0xFFFF
        for access in entry.attribute_access:
            assert isinstance(access.readable, bool)
        for method in entry.method_access:
            assert isinstance(method.accessible, bool)


@given(_values)
def test_any_value_parses_or_raises_our_error(value: DlmsValue) -> None:
    try:
        parse_object_list(value)
    except CosemValueError:
        assert not isinstance(value, (tuple, list))
    try:
        parse_short_name_object_list(value)
    except CosemValueError:
        assert not isinstance(value, (tuple, list))


def test_short_name_object_list() -> None:
    value = Array(
        [
            Structure(
                (
                    Long(0xFA00 - 0x10000),
                    LongUnsigned(12),
                    Unsigned(2),
                    OctetString(bytes(Obis("0.0.40.0.0.255"))),
                )
            ),
            Structure(
                (
                    Long(0x2000),
                    LongUnsigned(3),
                    Unsigned(0),
                    OctetString(bytes(Obis("1.0.1.8.0.255"))),
                )
            ),
            Structure((Long(0x2100), LongUnsigned(3))),  # malformed: skipped
        ]
    )
    objects = parse_short_name_object_list(value)
    assert [(o.base_name, o.class_id, o.logical_name) for o in objects] == [
        (0xFA00, 12, Obis("0.0.40.0.0.255")),
        (0x2000, 3, Obis("1.0.1.8.0.255")),
    ]
    register = objects[1]
    assert register.attribute_short_name(2) == 0x2008
    assert register.method_short_name(1) == 0x2000 + 0x28  # the Register method offset (0x28)


def test_other_association_attributes() -> None:
    assert association_status(Enum(2)) is AssociationStatus.ASSOCIATED
    assert association_status(7) == 7
    with pytest.raises(CosemValueError):
        association_status(None)
    assert (
        authentication_mechanism_name(OctetString(bytes.fromhex("60857405080205")))
        is MechanismName.HIGH_GMAC
    )
    assert authentication_mechanism_name((2, 16, 756, 5, 8, 2, 1)) is MechanismName.LOW
    assert (
        application_context_name(bytes.fromhex("60857405080101"))
        is ApplicationContextName.LOGICAL_NAME
    )
    assert (
        application_context_name(Structure([LongUnsigned(v) for v in (2, 16, 756, 5, 8, 1, 3)]))
        is ApplicationContextName.LOGICAL_NAME_WITH_CIPHERING
    )
    for bad in (bytes.fromhex("60857405080105"[:-2] + "0201"), b"", None, (2, 16, 756, 5, 8, 2)):
        with pytest.raises(CosemValueError):
            authentication_mechanism_name(bad)
    assert parse_associated_partners(
        Structure((Integer(16), LongUnsigned(1)))
    ) == AssociatedPartners(16, 1)
    with pytest.raises(CosemValueError):
        parse_associated_partners(Structure((Integer(16),)))


def test_xdlms_context_info() -> None:
    value = Structure(
        (
            BitString(bytes.fromhex("00501f"), 24),
            LongUnsigned(1024),
            LongUnsigned(512),
            Unsigned(6),
            Integer(0),
            OctetString(b""),
        )
    )
    info = XdlmsContextInfo.from_value(value)
    assert info.conformance == Conformance(0x00501F)
    assert Conformance.GET in info.conformance and Conformance.SELECTIVE_ACCESS in info.conformance
    assert (info.max_receive_pdu_size, info.max_send_pdu_size, info.dlms_version_number) == (
        1024,
        512,
        6,
    )
    assert info.quality_of_service == 0 and info.cyphering_info == b""
    short = XdlmsContextInfo.from_value(Structure((0x1F, 256, 256, 6)))
    assert short.quality_of_service is None
    for bad in (None, Structure((b"x", 1, 2, 3)), Structure((0, b"", 2, 3)), Structure((0,))):
        with pytest.raises(CosemValueError):
            XdlmsContextInfo.from_value(bad)


def test_version_taken_from_the_current_association_entry() -> None:
    """A version 3 association lists itself as 15/0.0.40.0.0.255 version 3: its access modes
    are bit-fields without the caller saying so."""
    entries = [
        element(15, 3, "0.0.40.0.0.255", [attribute_item(2, 0x05)], []),
        element(3, 0, "1.0.1.8.0.255", [attribute_item(2, 0x06)], []),
    ]
    parsed = parse_object_list(entries)
    register = parsed.find("1.0.1.8.0.255")
    assert register is not None
    access = register.attribute_access_for(2)
    assert access is not None and access.bit_field and access.writable and not access.readable
    # Said explicitly, the caller wins.
    old = parse_object_list(entries, association_version=1)
    assert (
        old[1].attribute_access[0].access_mode is AttributeAccessMode.AUTHENTICATED_READ_AND_WRITE
    )
