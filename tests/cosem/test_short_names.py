"""Short-name arithmetic of :class:`ShortNameMap`: attribute n at base + 8·(n − 1), methods at
the class's first-method offset (Blue Book), and back."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from asyncdlms.apdu import DataAccessResult
from asyncdlms.apdu.short_name import FIRST_METHOD_OFFSET
from asyncdlms.cosem.association import ShortNameObject
from asyncdlms.cosem.short_names import ShortNameMap, short_name_map
from asyncdlms.errors import ShortNameError
from asyncdlms.obis import Obis
from asyncdlms.types import Array, Long, LongUnsigned, OctetString, Structure, Unsigned

CLASSES = sorted({1, 3, 4, 5, 7, 8, 12, 15, 18, 40, 64, 70, *FIRST_METHOD_OFFSET})


@st.composite
def maps(draw: st.DrawFn) -> ShortNameMap:
    """Objects 0x100 apart (as meters number them), random classes and logical names."""
    count = draw(st.integers(1, 20))
    first = draw(st.integers(0, 0x40)) * 8
    classes = draw(st.lists(st.sampled_from(CLASSES), min_size=count, max_size=count))
    names = draw(
        st.lists(st.binary(min_size=6, max_size=6), min_size=count, max_size=count, unique=True)
    )
    return ShortNameMap(
        tuple(
            ShortNameObject(first + 0x100 * i, class_id, 0, Obis.from_bytes(name))
            for i, (class_id, name) in enumerate(zip(classes, names, strict=True))
        )
    )


@given(maps(), st.data())
def test_attributes_and_methods_map_there_and_back(
    names: ShortNameMap, data: st.DataObject
) -> None:
    entry = data.draw(st.sampled_from(names.objects))
    attribute = data.draw(st.integers(1, 12))
    short_name = names.attribute(entry.class_id, entry.logical_name, attribute)
    assert short_name == entry.base_name + 8 * (attribute - 1)
    target = names.resolve(short_name)
    first_method = FIRST_METHOD_OFFSET.get(entry.class_id)
    if first_method is None or 8 * (attribute - 1) < first_method[0]:
        assert target is not None and target.object == entry
        assert (target.number, target.method) == (attribute, False)
    if first_method is not None:
        method = data.draw(st.integers(1, first_method[1]))
        at = names.method(entry.class_id, entry.logical_name, method)
        assert at == entry.base_name + first_method[0] + 8 * (method - 1)
        found = names.resolve(at)
        assert found is not None and (found.object, found.number, found.method) == (
            entry,
            method,
            True,
        )
        assert str(found) == f"method {method} of {entry.class_id}/{entry.logical_name}"


def test_errors_name_the_object() -> None:
    names = ShortNameMap((ShortNameObject(0x500, 3, 0, Obis("1.0.1.8.0.255")),))
    with pytest.raises(ShortNameError, match="listed with class 3") as wrong_class:
        names.attribute(4, "1.0.1.8.0.255", 2)
    assert wrong_class.value.result is DataAccessResult.OBJECT_UNDEFINED
    assert wrong_class.value.short_name is None
    with pytest.raises(ShortNameError, match=r"3/1\.0\.1\.8\.0\.255: .*methods 1\.\.1, not 2"):
        names.method(3, "1.0.1.8.0.255", 2)
    with pytest.raises(ShortNameError, match="not in this association's short-name object list"):
        names.attribute(1, "0.0.42.0.0.255", 2)
    assert names.describe(0x508) == "0x0508 (attribute 2 of 3/1.0.1.8.0.255)"
    assert names.describe(0x0400) == "0x0400"


def test_the_object_list_value_with_a_negative_base_name_and_a_malformed_entry() -> None:
    """base_name is a long (Integer16): 0xFA00 travels as -1536."""
    value = Array(
        (
            Structure(
                (
                    Long(-1536),
                    LongUnsigned(12),
                    Unsigned(2),
                    OctetString(bytes(Obis("0.0.40.0.0.255").to_bytes())),
                )
            ),
            Structure((Long(0x100), LongUnsigned(1), Unsigned(0), OctetString(b"\x00"))),
        )
    )
    names = short_name_map(value)
    assert [(o.base_name, o.class_id) for o in names] == [(0xFA00, 12)]
    assert names.skipped == 1
    # the current association is class 15 in LN, class 12 in SN: found under both
    assert names.attribute(15, "0.0.40.0.0.255", 1) == 0xFA00
