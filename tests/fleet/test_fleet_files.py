"""Fleet files: TOML, CSV and JSON, and errors that name the line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from asyncdlms.fleet import (
    DEFAULT_PLAN,
    FleetFileError,
    Meter,
    ReadClock,
    ReadPlan,
    ReadProfile,
    ReadRegister,
    load_fleet,
    parse_fleet,
    parse_plan_item,
)
from asyncdlms.obis import Obis

TOML = """
[defaults]
client = 17
auth = "low"
password_env = "METER_PASSWORD"
timeout = 5

[plan]
read = ["register:1.0.1.8.0.255", "clock", "profile:1.0.99.1.0.255"]

[[meter]]
name = "substation-7"
url = "tcp://10.0.0.7:4059"

[[meter]]
url = "hdlc+tcp://gw.example:10001"
physical_address = 17
client = 16
auth = "none"
security = "ae"
"""


def test_toml_fleet() -> None:
    fleet = parse_fleet(TOML, "toml", environ={"METER_PASSWORD": "12345678"})
    first, second = fleet.meters
    assert first.name == "substation-7" and first.url == "tcp://10.0.0.7:4059"
    assert dict(first.options) == {
        "client": 17, "auth": "low", "password": "12345678", "timeout": 5
    }  # fmt: skip
    assert first.bus_key is None
    assert second.options["physical_address"] == 17 and second.options["client"] == 16
    assert second.options["security"] == "ae"  # passed through to connect()
    assert second.bus_key == "gw.example:10001"
    assert second.name == "hdlc+tcp://gw.example:10001/1/17"
    assert fleet.plan == ReadPlan(
        (ReadRegister(Obis("1.0.1.8.0.255")), ReadClock(), ReadProfile(Obis("1.0.99.1.0.255")))
    )


def test_csv_fleet(tmp_path: Path) -> None:
    path = tmp_path / "fleet.csv"
    path.write_text(
        "name,url,server,physical_address,timeout,bus\n"
        "# a comment line\n"
        "a,tcp://10.0.0.1:4059,1,,2.5,\n"
        "\n"
        "b,serial:///dev/ttyUSB0?baud=9600,1,18,,\n"
        "c,hdlc+tcp://gw:10001,1,19,,none\n"
    )
    fleet = load_fleet(path)
    a, b, c = fleet.meters
    assert dict(a.options) == {"server": 1, "timeout": 2.5}
    assert b.options["physical_address"] == 18 and b.bus_key == "serial:/dev/ttyUSB0"
    assert c.bus is False and c.bus_key is None
    assert fleet.plan == DEFAULT_PLAN


def test_json_fleet_object_and_list() -> None:
    document = """{"defaults": {"client": 16},
                   "plan": {"read": ["3/1.0.1.8.0.255/2"]},
                   "meters": [{"url": "udp://10.0.0.9:4059", "bus": "line-9"}]}"""
    fleet = parse_fleet(document, "json")
    [meter] = fleet.meters
    assert meter.bus_key == "line-9" and meter.options["client"] == 16
    assert fleet.plan.keys == ["3/1.0.1.8.0.255/2"]
    [only] = parse_fleet('[{"url": "tcp://h:1", "deadline": 30}]', "json").meters
    assert only.deadline == 30.0


@pytest.mark.parametrize(
    ("kind", "text", "expected"),
    [
        ("csv", "url,server\ntcp://h:1,1\ntcp://h:1,x\n", "line 3, field 'server'"),
        ("csv", "name,server\nm,1\n", "line 1: the header row needs a 'url' column"),
        ("csv", "url\ntcp://h:1,extra\n", "line 2: 2 cells for 1 columns"),
        ("csv", "url,server\nftp://h:1,1\n", "line 2, field 'url'"),
        ("csv", "url,password_env\ntcp://h:1,NOT_SET_ANYWHERE\n", "line 2, field 'password_env'"),
        ("csv", "", "empty"),
        ("json", '{"meters": [\n{"url": "tcp://h:1"},\n{"url": }]}', "line 3"),
        ("json", '{"meters": [{"url": "tcp://h:1"}, {"server": 1}]}', "meters[1]: field 'url'"),
        ("json", '{"meters": [{"url": "tcp://h:1", "timeout": "soon"}]}', "field 'timeout'"),
        ("json", '{"meters": [{"url": "tcp://h:1", "client": true}]}', "field 'client'"),
        ("json", '{"meters": []}', "no meters"),
        ("toml", "[[meter]]\nurl = 'tcp://h:1'\n[[meter]]\nname = 'x'\n", "meter[1]: field 'url'"),
        ("toml", "[[meter]\nurl = 1\n", "line 1"),
        ("toml", "[plan]\nread = ['bogus']\n[[meter]]\nurl = 'tcp://h:1'\n", "plan.read"),
        ("yaml", "", "unknown fleet file type"),
    ],
)
def test_errors_name_the_line_and_field(kind: str, text: str, expected: str) -> None:
    with pytest.raises(FleetFileError) as caught:
        parse_fleet(text, kind, name="fleet." + kind, environ={})
    assert expected in str(caught.value)
    assert str(caught.value).startswith("fleet." + kind)


def test_missing_file_is_a_fleet_file_error(tmp_path: Path) -> None:
    with pytest.raises(FleetFileError, match="cannot read"):
        load_fleet(tmp_path / "absent.toml")


def test_plan_items() -> None:
    assert parse_plan_item("register:4/1.0.1.8.0.255") == ReadRegister(Obis("1.0.1.8.0.255"), 4)
    assert parse_plan_item("clock:0.0.1.0.0.255") == ReadClock()
    assert parse_plan_item("8/0.0.1.0.0.255/2").key == "8/0.0.1.0.0.255/2"
    with pytest.raises(ValueError, match="not a plan item"):
        parse_plan_item("1.0.1.8.0.255")
    with pytest.raises(ValueError):
        parse_plan_item("register:1.0.1.8")


def test_meter_defaults() -> None:
    meter = Meter("tcp://h:4059", {"server": 3})
    assert meter.name == "tcp://h:4059/3" and meter.bus_key is None
    assert Meter("serial:///dev/ttyS1").bus_key == "serial:/dev/ttyS1"


def test_a_fleet_file_names_its_counter_store(tmp_path: Path) -> None:
    """``counter_store`` at the top of a TOML/JSON fleet: relative to the file's folder,
    ``memory`` as it is, anything but a string refused."""
    path = tmp_path / "fleet.toml"
    path.write_text('counter_store = "state/counters.json"\n[[meter]]\nurl = "tcp://h:4059"\n')
    assert load_fleet(path).counter_store == str(tmp_path / "state" / "counters.json")
    path.write_text('counter_store = "memory"\n[[meter]]\nurl = "tcp://h:4059"\n')
    assert load_fleet(path).counter_store == "memory"
    absolute = tmp_path / "elsewhere.json"
    fleet = parse_fleet(
        f'{{"counter_store": "{absolute}", "meters": [{{"url": "tcp://h:4059"}}]}}', "json"
    )
    assert fleet.counter_store == str(absolute)
    assert parse_fleet('[[meter]]\nurl = "tcp://h:4059"\n', "toml").counter_store is None
    with pytest.raises(FleetFileError, match="counter_store must be a path"):
        parse_fleet('counter_store = 5\n[[meter]]\nurl = "tcp://h:4059"\n', "toml")
