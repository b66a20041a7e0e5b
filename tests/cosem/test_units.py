"""Units, scalers and quantities; the HAN data-notification lists as quantities."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from asyncdlms import axdr
from asyncdlms.apdu import DataNotification
from asyncdlms.cosem import (
    CosemValueError,
    Quantity,
    ScalerUnit,
    Unit,
    clock_datetime,
    register_quantity,
    unit_symbol,
)
from asyncdlms.obis import Obis
from asyncdlms.types import DoubleLong, DoubleLongUnsigned, Enum, Float32, Integer, Structure
from tests.conftest import vector


def test_unit_codes_and_symbols() -> None:
    expected = {
        1: "a",
        5: "h",
        7: "s",
        9: "°C",
        13: "m³",
        27: "W",
        28: "VA",
        29: "var",
        30: "Wh",
        31: "VAh",
        32: "varh",
        33: "A",
        35: "V",
        38: "Ω",
        44: "Hz",
        56: "%",
        57: "Ah",
        255: "",
    }
    for code, symbol in expected.items():
        assert Unit(code).symbol == symbol
        assert unit_symbol(code) == symbol
    assert (int(Unit.WATT_HOUR), int(Unit.COUNT), int(Unit.YEAR)) == (30, 255, 1)
    assert unit_symbol(200) == "unit 200"
    for unit in Unit:
        assert unit.name.isupper()
        assert unit.description


def test_unit_table_is_complete_from_1_to_57() -> None:
    assert {int(u) for u in Unit} >= set(range(1, 58))


def test_scaler_unit_from_value() -> None:
    assert ScalerUnit.from_value(Structure((Integer(-1), Enum(30)))) == ScalerUnit(
        -1, Unit.WATT_HOUR
    )
    assert ScalerUnit.from_value((3, 27)) == ScalerUnit(3, Unit.WATT)
    # A scaler sent as an unsigned byte is the signed byte it stands for.
    assert ScalerUnit.from_value((255, 35)).scaler == -1
    assert ScalerUnit.from_value((Integer(0), Enum(200))).unit == 200
    su = ScalerUnit(-2, Unit.VOLT)
    assert ScalerUnit.from_value(su.to_value()) == su
    assert su.to_value() == Structure((Integer(-2), Enum(35)))
    for bad in (None, (), (1,), ("x", 30), (0, b"W"), (True, 30), 5, (-200, 30), (0, 300)):
        with pytest.raises(CosemValueError):
            ScalerUnit.from_value(bad)


@pytest.mark.parametrize(
    ("raw", "scaler", "text", "value"),
    [
        (123456, -1, "12345.6 Wh", Decimal("12345.6")),
        (1000, -3, "1.000 Wh", Decimal("1.000")),
        (5, -2, "0.05 Wh", Decimal("0.05")),
        (7, 0, "7 Wh", Decimal(7)),
        (12, 1, "120 Wh", Decimal(120)),
        (12, 2, "1200 Wh", Decimal(1200)),
        (12, 3, "12000 Wh", Decimal(12000)),
        (-1234, -1, "-123.4 Wh", Decimal("-123.4")),
        (-5, 3, "-5000 Wh", Decimal(-5000)),
    ],
)
def test_quantity_scalers(raw: int, scaler: int, text: str, value: Decimal) -> None:
    quantity = register_quantity(DoubleLong(raw), ScalerUnit(scaler, Unit.WATT_HOUR))
    assert quantity.value == value
    assert isinstance(quantity.value, Decimal)
    assert str(quantity) == text
    assert float(quantity) == pytest.approx(float(value))
    assert quantity.unit is Unit.WATT_HOUR and quantity.symbol == "Wh"


def test_quantity_without_symbol_and_float_values() -> None:
    assert str(Quantity(42, 0, Unit.COUNT)) == "42"
    assert str(Quantity(1, 0, 200)) == "1 unit 200"
    quantity = register_quantity(Float32(2.5), (Integer(-1), Enum(33)))
    assert isinstance(quantity.value, float)
    assert quantity.value == pytest.approx(0.25)
    assert str(quantity) == "0.25 A"
    assert Quantity(5, 0, 30).unit is Unit.WATT_HOUR  # an int code becomes the member


def test_register_quantity_rejects_non_numbers() -> None:
    for value in (None, b"\x01", "12", True, [1]):
        with pytest.raises(CosemValueError):
            register_quantity(value, ScalerUnit(0, Unit.WATT))


@given(st.integers(-(2**63), 2**64 - 1), st.integers(-3, 3))
def test_quantity_is_exact(raw: int, scaler: int) -> None:
    quantity = Quantity(raw, scaler, Unit.WATT_HOUR)
    assert quantity.value == Decimal(raw) * Decimal(10) ** scaler
    assert Decimal(str(quantity).removesuffix(" Wh")) == quantity.value


# --- HAN data notifications (OBIS, value, scaler_unit) -----------------------------------------


def _body(vector_id: str) -> DataNotification:
    data = bytes.fromhex(vector(vector_id)["hex"])
    assert data[:3] == b"\xe6\xe7\x00"  # LLC
    return DataNotification.decode(data[3:])


def test_aidon_list3_quantities() -> None:
    """amshan-apdu-llc-aidon-list3: items {OBIS, value, {scaler, unit}} become quantities."""
    item = vector("amshan-apdu-llc-aidon-list3")
    quantities: dict[Obis, Quantity] = {}
    clock = None
    for element in _body("amshan-apdu-llc-aidon-list3").notification_body.value:
        obis = Obis.from_bytes(element[0])
        if len(element) == 3:
            quantities[obis] = register_quantity(element[1], element[2])
        elif obis == Obis("0.0.1.0.0.255"):
            clock = clock_datetime(element[1])
    energy = quantities[Obis("1.0.1.8.0.255")]
    assert energy.value == item["expected"]["1.0.1.8.0.255"] == 22721380
    assert str(energy) == "22721380 Wh"
    assert str(quantities[Obis("1.0.1.7.0.255")]) == "280 W"
    assert str(quantities[Obis("1.0.31.7.0.255")]) == "1.3 A"
    assert str(quantities[Obis("1.0.32.7.0.255")]) == "227.6 V"
    assert quantities[Obis("1.0.4.8.0.255")].unit is Unit.VAR_HOUR
    assert str(quantities[Obis("1.0.4.8.0.255")]) == "1708430 varh"
    assert clock == datetime.datetime(2020, 1, 21, 16, 0, tzinfo=datetime.UTC)


def test_kamstrup_list2_values_and_clock() -> None:
    """amshan-apdu-llc-kamstrup-1phase-list2: OBIS/value pairs, missing phases as null-data."""
    item = vector("amshan-apdu-llc-kamstrup-1phase-list2")["expected"]
    body = list(_body("amshan-apdu-llc-kamstrup-1phase-list2").notification_body.value)
    pairs: dict[Obis, object] = {}
    position = 1
    while position + 1 < len(body):
        if body[position] is None:
            position += 1
            continue
        pairs[Obis.from_bytes(body[position])] = body[position + 1]
        position += 2
    assert pairs[Obis("1.1.1.7.0.255")] == item["P14"]
    assert pairs[Obis("1.1.31.7.0.255")] == item["IL1"]
    assert pairs[Obis("1.1.1.8.0.255")] == item["A14_1.1.1.8.0.255"]
    assert clock_datetime(pairs[Obis("0.1.1.0.0.255")]) == datetime.datetime(2021, 11, 24, 0, 0, 25)
    # Kamstrup sends energy in Wh without a scaler_unit in the push: scale by a known one.
    assert str(register_quantity(pairs[Obis("1.1.1.8.0.255")], ScalerUnit(1, 30))) == "77452500 Wh"


def test_kaifa_lists_clock() -> None:
    """amshan-apdu-llc-kaifa-se-list and -list3: date-times inside the body."""
    body = _body("amshan-apdu-llc-kaifa-se-list").notification_body.value
    index = list(body).index(bytes(Obis("0.0.1.0.0.255")))
    stamp = clock_datetime(body[index + 1])
    assert stamp == datetime.datetime(
        2021, 9, 22, 17, 35, 30, tzinfo=datetime.timezone(datetime.timedelta(hours=1))
    )
    notification = _body("amshan-apdu-llc-kaifa-list3")
    assert clock_datetime(notification.notification_body.value[13]) == datetime.datetime(
        2020, 1, 25, 14, 0, 10
    )
    assert str(register_quantity(DoubleLongUnsigned(79591144), ScalerUnit(0, 30))) == "79591144 Wh"


def test_kamstrup_han_list_with_known_scalers() -> None:
    """dlmscosem-axdr-kamstrup-han-list: OBIS/value pairs after the list version. The push
    carries no scaler_unit; the scalers here (W, var, 0.01 A, V) are assumed, as a client
    would take them from the registers' attribute 3."""
    item = vector("dlmscosem-axdr-kamstrup-han-list")
    body = axdr_decode(item["hex"])
    assert len(body) == item["expected"]["elements"]
    assert body[0] == item["expected"]["list_version"]
    pairs: dict[Obis, object] = {}
    for index in range(1, len(body) - 1, 2):
        name = body[index]
        assert isinstance(name, bytes)
        pairs[Obis.from_bytes(name)] = body[index + 1]
    scalers = {
        Obis("1.1.1.7.0.255"): ScalerUnit(0, Unit.WATT),
        Obis("1.1.4.7.0.255"): ScalerUnit(0, Unit.VAR),
        Obis("1.1.31.7.0.255"): ScalerUnit(-2, Unit.AMPERE),
        Obis("1.1.32.7.0.255"): ScalerUnit(0, Unit.VOLT),
    }
    quantities = {obis: register_quantity(pairs[obis], su) for obis, su in scalers.items()}
    assert [str(q) for q in quantities.values()] == ["2342 W", "223 var", "0.92 A", "230 V"]
    assert pairs[Obis("1.1.96.1.1.255")] == item["expected"]["meter_type"]


def axdr_decode(hex_text: str) -> Structure:
    value = axdr.decode(bytes.fromhex(hex_text))
    assert isinstance(value, Structure)
    return value
