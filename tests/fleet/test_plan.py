"""Plain items of a plan read together (:func:`read_plain_items`), with their attributes
worked out per read or known ahead (:func:`fixed_attributes`)."""

from __future__ import annotations

from typing import Any

import pytest

from asyncdlms.apdu.enums import DataAccessResult, data_access_error
from asyncdlms.errors import DataAccessError
from asyncdlms.fleet.plan import (
    ReadAttribute,
    ReadClock,
    ReadRegister,
    fixed_attributes,
    read_plain_items,
)
from asyncdlms.obis import Obis

ENERGY = Obis("1.0.1.8.0.255")
SERIAL = Obis("0.0.96.1.0.255")
CLOCK_VALUE = bytes.fromhex("07e80101ff000000ff800000")
UNDEFINED = data_access_error(DataAccessResult.OBJECT_UNDEFINED)


class _Session:
    with_list_fallbacks = 0


class FakeClient:
    """Answers every attribute from a table; records how it was asked."""

    deviation_sign = 1

    def __init__(self) -> None:
        self.session = _Session()
        self.asked: list[list[tuple[int, Obis, int]]] = []
        self.singles: list[tuple[int, Obis, int]] = []

    def _value(self, class_id: int, obis: Obis, attribute: int) -> Any:
        if class_id == 8:
            return CLOCK_VALUE
        if obis == SERIAL:
            return UNDEFINED
        return 42

    async def get_many(self, items: list[tuple[int, Obis, int]]) -> list[Any]:
        self.asked.append(list(items))
        return [self._value(*item) for item in items]

    async def get(self, class_id: int, obis: Obis, attribute: int) -> Any:
        self.singles.append((class_id, obis, attribute))
        return self._value(class_id, obis, attribute)


PLAIN = (ReadAttribute(3, ENERGY, 2), ReadClock(), ReadAttribute(1, SERIAL, 2))


def test_fixed_attributes_of_attributes_and_clocks_only() -> None:
    assert fixed_attributes(PLAIN) == [
        (3, ENERGY, 2),
        (8, Obis("0.0.1.0.0.255"), 2),
        (1, SERIAL, 2),
    ]
    # a register reads its scaler-unit until the meter's is known: nothing fixed
    assert fixed_attributes((ReadAttribute(3, ENERGY, 2), ReadRegister(ENERGY))) is None


@pytest.mark.parametrize("refused", [False, True], ids=["with-list", "refused"])
async def test_fixed_attributes_read_what_working_them_out_reads(refused: bool) -> None:
    memory: dict[str, Any] = {"with-list refused": True} if refused else {}
    worked_out, known = FakeClient(), FakeClient()
    values = await read_plain_items(worked_out, PLAIN, dict(memory))
    fixed = fixed_attributes(PLAIN)
    assert await read_plain_items(known, PLAIN, dict(memory), fixed) == values
    assert (known.asked, known.singles) == (worked_out.asked, worked_out.singles)
    assert values[0] == 42 and values[1].year == 2024
    assert isinstance(values[2], DataAccessError)
    assert fixed == fixed_attributes(PLAIN)  # (shared by every meter: left as it was)
