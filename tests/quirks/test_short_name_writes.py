"""SN Write of several variables (``set_many`` on a short-name association): one WriteRequest
per chunk that fits the meter's max receive PDU (at most ``with_list_chunk_size`` variables),
written again one variable at a time where the meter refuses the list (behaviour 10, for
writes) or did not grant multiple-references.

Our simulator is the SN meter, on loopback; to refuse, a line of our own answers in its place
(tests/quirks/line.py). Results are checked against the simulator's state, requests on the
wire (the APDUs our client sends)."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import AsyncIterator
from typing import Any

import pytest

import asyncdlms
from asyncdlms.apdu import DataAccessResult
from asyncdlms.apdu.acse import ApplicationContextName, MechanismName
from asyncdlms.apdu.initiate import Conformance
from asyncdlms.apdu.service_error import ConfirmedService, ConfirmedServiceError, ServiceErrorChoice
from asyncdlms.apdu.short_name import VariableName, WriteRequest, WriteResponse
from asyncdlms.apdu.tags import ApduTag
from asyncdlms.errors import ShortNameError
from asyncdlms.obis import Obis
from asyncdlms.security.hls import Secret
from asyncdlms.server.simulator import (
    CLOCK,
    DEFAULT_HLS_SECRET,
    DEFAULT_PASSWORD,
    DISCONNECT_CONTROL,
    PUSH_SETUP,
    SN_SERVER_CONFORMANCE,
    Simulator,
)
from asyncdlms.session.server import AssociationPolicy
from asyncdlms.session.settings import ClientSettings
from asyncdlms.types import DateTime, DoubleLongUnsigned, Enum, OctetString, Structure, Unsigned

from .line import MisbehavingLine, wrapper_apdu, wrapper_reply

SN = ClientSettings.for_referencing("sn")

START = dt.datetime(2026, 3, 10, 12, 7, 30, tzinfo=dt.UTC)
LATER = START + dt.timedelta(hours=2)
ENERGY = Obis("1.0.1.8.0.255")
#: the management client (HLS-MD5): may write the clock, the disconnect control mode and the
#: push destination
MANAGER = {"client": 18, "auth": "md5", "password": DEFAULT_HLS_SECRET}
DESTINATION = Structure((Enum(0), OctetString(b"127.0.0.1:4100"), Enum(0)))

ITEMS: list[tuple[int, Obis | str, int, Any]] = [
    (8, CLOCK, 2, OctetString(DateTime.from_datetime(LATER).to_bytes())),
    (70, DISCONNECT_CONTROL, 4, Enum(3)),  # control_mode
    (3, ENERGY, 2, DoubleLongUnsigned(1)),  # read-only: read-write-denied
    (3, "9.9.9.9.9.9", 2, Unsigned(1)),  # not in the object list: never sent
    (70, DISCONNECT_CONTROL, 4, Enum(9)),  # no such mode: type-unmatched
    (40, PUSH_SETUP, 3, DESTINATION),  # send_destination_and_method
]
SENT = [0, 1, 2, 4, 5]  # the items that go on the wire, in order


class Wire:
    """The xDLMS APDUs our client sends (wrapper frames: the APDU follows the 8-byte header)."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def __call__(self, direction: str, data: bytes, now: float) -> None:
        if direction == "->" and len(data) > 8:
            self.sent.append(data[8:])

    def writes(self) -> list[WriteRequest]:
        return [WriteRequest.decode(a) for a in self.sent if a[0] == ApduTag.WRITE_REQUEST]


def attribute_names(sim: Simulator) -> list[VariableName]:
    """The short names the items are written to (from the simulator's model)."""
    bases = {
        (item.class_id, item.logical_name): item.base_name
        for item in sim.model.objects
        if item.base_name is not None
    }
    return [
        VariableName(bases[(class_id, Obis(obis))] + 8 * (attribute - 1))
        for class_id, obis, attribute, _ in (ITEMS[i] for i in SENT)
    ]


def check_results(results: list[Any], sim: Simulator) -> None:
    """One entry per item, in order; the writes that succeeded are in the meter's state."""
    assert len(results) == len(ITEMS)
    assert results[0] is None and results[1] is None and results[5] is None
    names = attribute_names(sim)
    denied, unknown, unmatched = results[2], results[3], results[4]
    assert isinstance(denied, ShortNameError)
    assert denied.result is DataAccessResult.READ_WRITE_DENIED
    assert denied.short_name == names[2].variable_name
    assert "attribute 2 of 3/1.0.1.8.0.255" in str(denied)
    assert isinstance(unknown, ShortNameError) and unknown.short_name is None
    assert unknown.result is DataAccessResult.OBJECT_UNDEFINED
    assert isinstance(unmatched, ShortNameError)
    assert unmatched.result is DataAccessResult.TYPE_UNMATCHED
    state = sim.meters[0]
    assert state.clock() == pytest.approx(LATER.timestamp(), abs=1)
    assert state.control_mode == 3
    assert state.overrides is not None
    assert state.overrides[(40, PUSH_SETUP, 3)] == DESTINATION


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    async with Simulator(short_names=True, time_source=START.timestamp) as simulator:
        yield simulator


async def test_set_many_is_one_write_request(sim: Simulator) -> None:
    wire = Wire()
    async with sim.connect(0, settings=SN, trace=wire, **MANAGER) as meter:
        results = await meter.set_many(ITEMS)
        assert meter.session.with_list_fallbacks == 0
    check_results(results, sim)
    [write] = wire.writes()
    assert write.variable_access_specification == tuple(attribute_names(sim))
    assert [d.value for d in write.list_of_data] == [ITEMS[i][3] for i in SENT]


async def test_set_many_in_requests_that_fit_the_meter_pdu() -> None:
    limit = 40  # the meter's max receive PDU; the five variables in one request take 63 bytes
    async with Simulator(short_names=True, max_pdu_size=limit, time_source=START.timestamp) as sim:
        wire = Wire()
        async with sim.connect(0, settings=SN, trace=wire, **MANAGER) as meter:
            results = await meter.set_many(ITEMS)
        check_results(results, sim)
        names = attribute_names(sim)
    writes = wire.writes()
    assert len(writes) > 1
    assert all(len(w.encode()) <= limit for w in writes)
    sent = [(n, d) for w in writes for n, d in zip(*_pairs(w), strict=True)]
    assert [n for n, _ in sent] == names  # every variable once, in order
    assert [d.value for _, d in sent] == [ITEMS[i][3] for i in SENT]
    for write, following in itertools.pairwise(writes):
        # each request took as many variables as fit: the next one did not
        specs, data = _pairs(write)
        grown = WriteRequest(
            (*specs, following.variable_access_specification[0]),
            (*data, following.list_of_data[0]),
        )
        assert len(grown.encode()) > limit


def _pairs(write: WriteRequest) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    return write.variable_access_specification, write.list_of_data


async def test_set_many_in_chunks_of_the_setting(sim: Simulator) -> None:
    wire = Wire()
    async with sim.connect(
        0,
        settings=ClientSettings.for_referencing("sn", with_list_chunk_size=2),
        trace=wire,
        **MANAGER,
    ) as meter:
        results = await meter.set_many(ITEMS)
    check_results(results, sim)
    writes = wire.writes()
    assert [len(w.variable_access_specification) for w in writes] == [2, 2, 1]
    assert [n for w in writes for n in w.variable_access_specification] == attribute_names(sim)


async def test_single_writes_when_multiple_references_are_not_granted() -> None:
    policy = AssociationPolicy(
        MechanismName.LOW,
        Secret(DEFAULT_PASSWORD),
        application_context_name=ApplicationContextName.SHORT_NAME,
        conformance=Conformance(SN_SERVER_CONFORMANCE & ~Conformance.MULTIPLE_REFERENCES),
    )
    async with Simulator(
        short_names=True, associations={18: policy}, time_source=START.timestamp
    ) as sim:
        wire = Wire()
        async with sim.connect(
            0, settings=SN, client=18, auth="low", password=DEFAULT_PASSWORD, trace=wire
        ) as meter:
            results = await meter.set_many(ITEMS)
            assert meter.session.with_list_fallbacks == 0  # not a refusal: never asked
        check_results(results, sim)
        assert [w.variable_access_specification for w in wire.writes()] == [
            (name,) for name in attribute_names(sim)
        ]


def list_write_refusal(kind: str) -> Any:
    """An answer, in the meter's place, to every WriteRequest of more than one variable."""

    def answer(apdu: bytes) -> bytes | None:
        if apdu[0] != ApduTag.WRITE_REQUEST or apdu[1] < 2:
            return None
        count = apdu[1]
        if kind == "exception-response":  # service-not-allowed, service-not-supported
            return b"\xd8\x01\x02"
        if kind == "confirmed-service-error":
            return ConfirmedServiceError(
                ConfirmedService.WRITE, ServiceErrorChoice.SERVICE, 2
            ).encode()
        if kind == "scope-of-access-violated":
            return WriteResponse((DataAccessResult.SCOPE_OF_ACCESS_VIOLATED,) * count).encode()
        if kind == "one-result":
            return WriteResponse((DataAccessResult.SUCCESS,)).encode()
        return b"\x0d" + bytes((count,)) + b"\x07" * count  # no such Write-Result CHOICE

    return answer


@pytest.mark.parametrize(
    "kind",
    [
        "exception-response",
        "confirmed-service-error",
        "scope-of-access-violated",
        "one-result",
        "garbage",
    ],
)
async def test_a_refused_list_is_written_one_variable_at_a_time(sim: Simulator, kind: str) -> None:
    refuse = list_write_refusal(kind)

    def from_client(frame: bytes) -> tuple[list[bytes], list[bytes]]:
        reply = refuse(wrapper_apdu(frame))
        if reply is None:
            return [frame], []
        return [], [wrapper_reply(frame, reply)]

    wire = Wire()
    async with MisbehavingLine(sim.urls[0], from_client=from_client) as line:
        url = await line.start()
        async with asyncdlms.connect(url, settings=SN, timeout=5, trace=wire, **MANAGER) as meter:
            results = await meter.set_many(ITEMS)
            assert meter.session.with_list_fallbacks == 1
    check_results(results, sim)
    names = attribute_names(sim)
    assert [w.variable_access_specification for w in wire.writes()] == [
        tuple(names),  # refused as a whole
        *((name,) for name in names),
    ]
