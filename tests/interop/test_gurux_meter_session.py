"""Our ClientSession against a gurux-dlms based meter (../shared/peers/gurux_meter.py).

The meter's SimMeter is sans-IO (``feed(bytes) -> [bytes]``), so the whole conversation runs
in memory: every frame our link writes is fed to the meter, every frame it answers is fed
back to our session. Over the wrapper and over HDLC, with no authentication, LLS and HLS
(MD5, SHA-1): associate, read the register value and scaler_unit, the clock, the logical
device name, the profile generic buffer (whole, by entry, by range; block transfer with
small PDU sizes), SET a value and read it back, release.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest

from asyncdlms.apdu.acse import MechanismName
from asyncdlms.apdu.descriptors import (
    CosemAttributeDescriptor,
    entry_descriptor,
    range_descriptor,
)
from asyncdlms.errors import AuthenticationError, DataAccessError
from asyncdlms.hdlc import HdlcConnection, HdlcSettings
from asyncdlms.hdlc.addresses import HdlcAddress
from asyncdlms.link import Link
from asyncdlms.obis import Obis
from asyncdlms.security.hls import Secret
from asyncdlms.session.client import AssociationState, ClientSession
from asyncdlms.session.events import (
    AssociationEstablished,
    AssociationReleased,
    RequestCompleted,
    RequestFailed,
    SessionEvent,
)
from asyncdlms.session.settings import ClientSettings
from asyncdlms.types import DateTime
from asyncdlms.types.values import DoubleLongUnsigned, OctetString
from asyncdlms.wrapper import WrapperConnection
from tests.conftest import load_gurux_meter

pytest.importorskip("gurux_dlms")

PASSWORD = "Gurux"
REGISTER = CosemAttributeDescriptor(3, Obis("1.0.1.8.0.255"), 2)
SCALER_UNIT = CosemAttributeDescriptor(3, Obis("1.0.1.8.0.255"), 3)
CLOCK = CosemAttributeDescriptor(8, Obis("0.0.1.0.0.255"), 2)
DEVICE_NAME = CosemAttributeDescriptor(1, Obis("0.0.42.0.0.255"), 2)
BUFFER = CosemAttributeDescriptor(7, Obis("1.0.99.1.0.255"), 2)
CLOCK_COLUMN = (8, "0.0.1.0.0.255", 2, 0)


@pytest.fixture(scope="module")
def gurux_meter() -> ModuleType:
    module: ModuleType = load_gurux_meter()
    return module


AUTHS: dict[str, tuple[MechanismName, int, str | None]] = {
    "none": (MechanismName.LOWEST, 16, None),
    "low": (MechanismName.LOW, 17, PASSWORD),
    "md5": (MechanismName.HIGH_MD5, 18, PASSWORD),
    "sha1": (MechanismName.HIGH_SHA1, 18, PASSWORD),
}


class Conversation:
    """Our session and the gurux meter, shuttling frames in memory."""

    def __init__(
        self,
        gurux_meter: ModuleType,
        iface: str,
        auth: str,
        *,
        settings: dict[str, Any] | None = None,
        meter_password: str | None = None,
        rows: int = 10,
    ) -> None:
        mechanism, client, password = AUTHS[auth]
        self.meter = gurux_meter.SimMeter(
            gurux_meter.IFACES[iface],
            gurux_meter.AUTHS[auth],
            meter_password if meter_password is not None else password,
            rows=rows,
        )
        link: Link
        if iface == "WRAPPER":
            link = WrapperConnection(client, 1)
        else:
            link = HdlcConnection(HdlcSettings(HdlcAddress.client(client), HdlcAddress.server(1)))
        self.session = ClientSession(
            link,
            ClientSettings(
                mechanism=mechanism,
                secret=None if password is None else Secret(password),
                **(settings or {}),
            ),
        )
        self.now = 0.0
        self.frames = 0

    def pump(self) -> list[SessionEvent]:
        for _ in range(10_000):
            out = self.session.datagrams_to_send()
            if not out:
                return self.session.events()
            for datagram in out:
                self.frames += 1
                for answer in self.meter.feed(datagram):
                    self.session.receive_data(answer, self.now)
        raise AssertionError("the conversation did not settle")

    def associate(self) -> AssociationEstablished:
        self.session.associate(self.now)
        events = self.pump()
        assert len(events) == 1, events
        assert isinstance(events[0], AssociationEstablished), events
        assert self.session.state is AssociationState.ASSOCIATED
        return events[0]

    def results(self, *request_ids: int) -> list[Any]:
        events = self.pump()
        by_id: dict[int, Any] = {}
        for event in events:
            if isinstance(event, RequestCompleted):
                by_id[event.request_id] = event.result
            elif isinstance(event, RequestFailed):
                by_id[event.request_id] = event.error
        assert sorted(by_id) == sorted(request_ids), events
        return [by_id[i] for i in request_ids]

    def release(self) -> None:
        self.session.release(self.now)
        events = self.pump()
        assert events == [AssociationReleased(None)]
        assert self.session.state is AssociationState.CLOSED


def _rows(buffer: Any) -> list[tuple[DateTime, int]]:
    return [(DateTime.from_bytes(bytes(row[0])), int(row[1])) for row in buffer]


@pytest.mark.parametrize("iface", ["WRAPPER", "HDLC"])
@pytest.mark.parametrize("auth", list(AUTHS))
def test_associate_read_set_release(gurux_meter: ModuleType, iface: str, auth: str) -> None:
    talk = Conversation(gurux_meter, iface, auth)
    established = talk.associate()
    assert established.dlms_version == 6
    assert established.mechanism == AUTHS[auth][0]
    assert talk.session.negotiated is not None
    assert talk.session.negotiated.max_pdu_size_tx == established.max_pdu_size_tx
    s = talk.session
    value, scaler_unit, clock, name = talk.results(
        s.get(REGISTER), s.get(SCALER_UNIT), s.get(CLOCK), s.get(DEVICE_NAME)
    )
    assert value == 123456
    assert isinstance(value, DoubleLongUnsigned)
    assert tuple(scaler_unit) == (-1, 30)  # 10^-1 Wh
    assert isinstance(clock, OctetString) and len(clock) == 12
    assert DateTime.from_bytes(bytes(clock)).year is not None
    assert name == b"GRX0000000001"
    # SET the register value and read it back
    (done, again) = talk.results(s.set(REGISTER, DoubleLongUnsigned(777)), s.get(REGISTER))
    assert done is None
    assert again == 777
    talk.release()


@pytest.mark.parametrize("iface", ["WRAPPER", "HDLC"])
def test_profile_buffer_with_small_pdus(gurux_meter: ModuleType, iface: str) -> None:
    """A small client max receive PDU makes the meter answer in datablocks."""
    talk = Conversation(
        gurux_meter, iface, "none", settings={"client_max_receive_pdu_size": 64}, rows=40
    )
    talk.associate()
    s = talk.session
    whole, by_entry, by_range = talk.results(
        s.get(BUFFER),
        s.get(BUFFER, entry_descriptor(3, 5)),
        s.get(
            BUFFER,
            range_descriptor(
                CLOCK_COLUMN,
                DateTime(year=2024, month=1, day_of_month=1, hour=1, minute=0, second=0),
                DateTime(year=2024, month=1, day_of_month=1, hour=2, minute=0, second=0),
            ),
        ),
    )
    rows = _rows(whole)
    assert len(rows) == 40
    assert [r[1] for r in rows] == list(range(1000, 1040))
    assert rows[1][0].minute == 15
    assert [r[1] for r in _rows(by_entry)] == [1002, 1003, 1004]
    # 01:00 .. 02:00 in 15-minute steps: rows 4..8
    assert [r[1] for r in _rows(by_range)] == [1004, 1005, 1006, 1007, 1008]
    talk.release()


def test_with_list_against_gurux(gurux_meter: ModuleType) -> None:
    talk = Conversation(gurux_meter, "WRAPPER", "none")
    talk.associate()
    # (the gurux server gives no answer at all to a list naming an unknown object, so the
    # per-item error path is covered against the scripted server in tests/session)
    (values,) = talk.results(talk.session.get_with_list([REGISTER, SCALER_UNIT, DEVICE_NAME]))
    assert values[0] == 123456
    assert tuple(values[1]) == (-1, 30)
    assert values[2] == b"GRX0000000001"
    assert not any(isinstance(v, DataAccessError) for v in values)
    talk.release()


@pytest.mark.parametrize("auth", ["md5", "sha1"])
def test_hls_with_the_wrong_secret_fails(gurux_meter: ModuleType, auth: str) -> None:
    talk = Conversation(gurux_meter, "WRAPPER", auth, meter_password="another secret")
    talk.session.associate(talk.now)
    events = talk.pump()
    released = [e for e in events if isinstance(e, AssociationReleased)]
    assert len(released) == 1
    assert isinstance(released[0].error, AuthenticationError)
    assert talk.session.state is AssociationState.CLOSED
    request = talk.session.get(REGISTER)
    (failed,) = talk.session.events()
    assert isinstance(failed, RequestFailed) and failed.request_id == request


def test_frames_stay_few(gurux_meter: ModuleType) -> None:
    """No request is sent twice: association, one GET, release over the wrapper."""
    talk = Conversation(gurux_meter, "WRAPPER", "none")
    talk.associate()
    talk.results(talk.session.get(REGISTER))
    talk.release()
    assert talk.frames == 3
