"""The layouts of readings(): pairs, triplets, push_object_list, positional lists."""

from __future__ import annotations

from decimal import Decimal

import pytest

from asyncdlms import Obis
from asyncdlms.cosem.errors import CosemValueError
from asyncdlms.cosem.profile import CaptureObject
from asyncdlms.cosem.units import ScalerUnit, Unit
from asyncdlms.listen import (
    POSITIONAL_LAYOUTS,
    PositionalColumn,
    PositionalLayout,
    readings,
)
from asyncdlms.types import (
    Array,
    DoubleLongUnsigned,
    Enum,
    Integer,
    LongUnsigned,
    OctetString,
    Structure,
    VisibleString,
)

ENERGY = Obis("1.0.1.8.0.255")
VOLTAGE = Obis("1.0.32.7.0.255")


def _obis(text: str) -> OctetString:
    return OctetString(Obis(text).to_bytes())


def test_flat_pairs_with_a_leading_list_identifier() -> None:
    body = Structure(
        (
            VisibleString("Vendor_V1"),
            _obis("1.0.1.8.0.255"),
            DoubleLongUnsigned(5),
            _obis("0.0.96.1.0.255"),
            VisibleString("123"),
        )
    )
    found = readings(body)
    assert found[ENERGY].value == 5 and found[ENERGY].scaler_unit is None
    assert found[Obis("0.0.96.1.0.255")].value == "123"


def test_nested_triplets_are_scaled() -> None:
    body = Array(
        (
            Structure(
                (
                    _obis("1.0.1.8.0.255"),
                    DoubleLongUnsigned(9406459),
                    Structure((Integer(1), Enum(30))),
                )
            ),
            Structure(
                (_obis("1.0.32.7.0.255"), LongUnsigned(2301), Structure((Integer(-1), Enum(35))))
            ),
        )
    )
    found = readings(body)
    assert found[ENERGY].scaled == Decimal("94064590")
    assert str(found[VOLTAGE].value) == "230.1 V"
    assert found[VOLTAGE].unit is Unit.VOLT


def test_flat_triplets() -> None:
    body = Structure(
        (
            _obis("1.0.1.8.0.255"),
            DoubleLongUnsigned(12937),
            Structure((Integer(0), Enum(30))),
            _obis("1.0.32.7.0.255"),
            LongUnsigned(2337),
            Structure((Integer(-1), Enum(35))),
        )
    )
    found = readings(body)
    assert str(found[ENERGY].value) == "12937 Wh" and str(found[VOLTAGE].value) == "233.7 V"


def test_push_object_list_with_scaler_column() -> None:
    columns = [
        CaptureObject(40, Obis("0.0.25.9.0.255"), 1),  # the push setup's logical name
        CaptureObject(8, Obis("0.0.1.0.0.255"), 2),
        CaptureObject(3, ENERGY, 2),
        CaptureObject(3, ENERGY, 3),
        CaptureObject(3, VOLTAGE, 2),
    ]
    clock = OctetString(bytes.fromhex("07e30c1001073b28ff8000ff"))
    body = Structure(
        (
            _obis("0.0.25.9.0.255"),
            clock,
            DoubleLongUnsigned(1234),
            Structure((Integer(2), Enum(30))),
            LongUnsigned(2301),
        )
    )
    found = readings(body, push_object_list=columns, scalers={VOLTAGE: ScalerUnit(-1, Unit.VOLT)})
    assert found[ENERGY].scaled == Decimal("123400") and found[ENERGY].class_id == 3
    assert found[ENERGY].attribute_index == 2
    assert str(found[VOLTAGE].value) == "230.1 V"
    assert found[Obis("0.0.1.0.0.255")].raw == clock
    with pytest.raises(CosemValueError, match="5"):
        readings(Structure(body[:4]), push_object_list=columns)


def test_positional_layout_table_is_extensible() -> None:
    layout = PositionalLayout(
        "my-meter",
        (
            PositionalColumn.of("0.0.96.1.0.255"),
            PositionalColumn.of("1.0.1.8.0.255", 3, -2, Unit.WATT_HOUR),
        ),
        identifier="MY_V1",
        identifier_index=0,
        source="my meter's manual",
    )
    body = Structure((VisibleString("MY_V1"), DoubleLongUnsigned(123456)))
    assert readings(body) == {} or Obis("0.0.96.1.0.255") not in readings(body)
    found = readings(body, layouts=[*POSITIONAL_LAYOUTS, layout])
    assert found[ENERGY].scaled == Decimal("1234.56")
    assert found[ENERGY].class_id == 3


def test_kaifa_positional_list() -> None:
    body = Structure(
        (
            OctetString(b"KFM_001"),
            OctetString(b"6970631403460324"),
            OctetString(b"MA105H2E"),
            *tuple(DoubleLongUnsigned(v) for v in (932, 0, 0, 79, 4224, 2336)),
        )
    )
    found = readings(body)
    assert str(found[Obis("1.0.1.7.0.255")].value) == "932 W"
    assert str(found[Obis("1.0.31.7.0.255")].value) == "4.224 A"
    assert str(found[VOLTAGE].value) == "233.6 V"


def test_nothing_recognisable() -> None:
    assert readings(Structure((DoubleLongUnsigned(1), DoubleLongUnsigned(2)))) == {}
    assert readings(7) == {}
