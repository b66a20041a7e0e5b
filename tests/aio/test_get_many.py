"""``Client.get_many`` against the simulator: every OBIS form gives the same reads, in chunks
of one (single GETs) and in one GET with-list; the with-list items are built once."""

from __future__ import annotations

import pytest

import asyncdlms
from asyncdlms.aio import client as client_module
from asyncdlms.errors import DataAccessError
from asyncdlms.obis import Obis
from asyncdlms.server import Simulator
from asyncdlms.session.settings import ClientSettings

ENERGY = "1.0.1.8.0.255"
NAME = "0.0.42.0.0.255"


@pytest.mark.parametrize("chunk_size", [1, 10])
async def test_get_many_takes_every_obis_form(chunk_size: int) -> None:
    async with Simulator(meters=1) as sim:
        target = sim.targets[0]
        settings = ClientSettings(with_list_chunk_size=chunk_size)
        async with asyncdlms.connect(
            target.url, server=target.server, settings=settings, timeout=10
        ) as meter:
            expected_energy = await meter.get(3, ENERGY, 2)
            expected_name = await meter.get(1, NAME, 2)
            forms = [ENERGY, Obis(ENERGY), (1, 0, 1, 8, 0, 255), [1, 0, 1, 8, 0, 255],
                     bytes(Obis(ENERGY)), bytearray(bytes(Obis(ENERGY)))]  # fmt: skip
            values = await meter.get_many([(3, form, 2) for form in forms] + [(1, NAME, 2)])
            assert values == [expected_energy] * len(forms) + [expected_name]
            again = await meter.get_many([(3, ENERGY, 2), (1, "0.0.96.1.9.255", 2)])
            assert again[0] == expected_energy
            assert isinstance(again[1], DataAccessError)


def test_with_list_items_are_built_once() -> None:
    first = client_module._listed_attribute(3, ENERGY, 2)
    assert client_module._listed_attribute(3, ENERGY, 2) is first
    assert first.cosem_attribute_descriptor.instance_id == Obis(ENERGY)
    unhashable = client_module._listed_attribute(3, [1, 0, 1, 8, 0, 255], 2)
    assert unhashable == first and unhashable is not first
    with pytest.raises(asyncdlms.errors.DlmsError):
        client_module._listed_attribute(70000, ENERGY, 2)  # class-id beyond Unsigned16
