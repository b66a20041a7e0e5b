"""connect()'s few keywords and its settings objects: LinkSettings, ClientSettings and
ClientSecurity (what each keyword fills in, a value given two ways refused), and the flat
option names of fleet files and the command line folded into them (connect_keywords).

connect() builds the client without touching the network (the association opens on await),
so what it made is checked on the client's session and link."""

from __future__ import annotations

import inspect
from dataclasses import replace
from typing import Any

import pytest

import asyncdlms
from asyncdlms import ClientSecurity, ClientSettings, DeviationSign, LinkSettings
from asyncdlms.aio.client import Client
from asyncdlms.aio.options import connect_keywords
from asyncdlms.apdu.acse import MechanismName
from asyncdlms.hdlc import HdlcAddress, HdlcConnection, HdlcParameters
from asyncdlms.iec62056_21 import IecSettings
from asyncdlms.security.ciphering import SecurityPolicy
from asyncdlms.security.counters import MemoryInvocationCounterStore
from asyncdlms.security.hls import Secret
from asyncdlms.session.settings import SN_CONFORMANCE
from asyncdlms.wrapper import WrapperConnection

TITLE = b"ASY00001"
BLOCK_CIPHER_KEY = bytes(range(16))
AUTHENTICATION_KEY = bytes(range(0xD0, 0xE0))
KEYS: dict[str, Any] = {
    "system_title": TITLE,
    "block_cipher_key": BLOCK_CIPHER_KEY,
    "authentication_key": AUTHENTICATION_KEY,
}


def made(url: str = "tcp://127.0.0.1:4059", **keywords: Any) -> Client:
    """The client connect() makes (not opened)."""
    return asyncdlms.connect(url, **keywords).client


def security(**fields: Any) -> ClientSecurity:
    return ClientSecurity(
        TITLE, Secret(BLOCK_CIPHER_KEY), Secret(AUTHENTICATION_KEY), "ae", **fields
    )


def test_connect_takes_the_few_keywords_most_meters_need() -> None:
    parameters = inspect.signature(asyncdlms.connect).parameters
    assert list(parameters) == [
        "url", "client", "server", "auth", "password", "security", "system_title",
        "block_cipher_key", "authentication_key", "timeout", "settings", "link",
        "keep_alive", "reconnect", "trace",
    ]  # fmt: skip


# -- LinkSettings ------------------------------------------------------------------------


def test_link_settings_make_the_hdlc_link() -> None:
    parameters = HdlcParameters(max_info_length_tx=64, max_info_length_rx=64)
    link = LinkSettings(
        physical_address=17,
        hdlc_parameters=parameters,
        response_timeout=0.5,
        retries=1,
        inactivity_timeout=30.0,
    )
    hdlc = made("hdlc+tcp://127.0.0.1:10001", client=18, server=1, link=link).session.link
    assert isinstance(hdlc, HdlcConnection)
    settings = hdlc.settings
    assert settings.client_address is not None and settings.client_address.logical == 18
    assert (settings.server_address.logical, settings.server_address.physical) == (1, 17)
    assert settings.parameters == parameters
    assert (settings.response_timeout, settings.max_retransmissions) == (0.5, 1)
    assert settings.inactivity_timeout == 30.0
    # the wrapper needs none of it
    assert not isinstance(made(link=link).session.link, HdlcConnection)


def test_link_settings_default_to_a_one_byte_server_address() -> None:
    hdlc = made("hdlc+tcp://127.0.0.1:10001", server=1).session.link
    assert isinstance(hdlc, HdlcConnection)
    assert hdlc.settings.server_address.length == 1
    assert hdlc.settings.response_timeout == LinkSettings().response_timeout


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"retries": -1}, "retries must be 0 or more"),
        ({"response_timeout": 0}, "response_timeout must be positive"),
        ({"inactivity_timeout": -1.0}, "inactivity_timeout"),
        ({"physical_address": 0x4000}, "physical address 16384"),
    ],
)
def test_link_settings_refuse_invalid_values_when_made(
    fields: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        LinkSettings(**fields)


def test_the_iec_settings_of_the_link_reach_the_client() -> None:
    iec = IecSettings(acknowledgement_delay=0.0)
    assert made("serial+iec:///dev/null", link=LinkSettings(iec=iec))._iec is iec


def test_a_bus_passes_its_iec_settings_unless_the_link_has_its_own() -> None:
    bus_iec = IecSettings(acknowledgement_delay=0.1)
    own = IecSettings(acknowledgement_delay=0.2)
    bus = asyncdlms.Bus("serial+iec:///dev/null", iec=bus_iec)
    assert bus.connect(link=LinkSettings(physical_address=17)).meter._iec is bus_iec
    assert bus.connect(link=LinkSettings(iec=own)).meter._iec is own


# -- ClientSettings ----------------------------------------------------------------------


def test_keywords_fill_in_the_session_settings() -> None:
    settings = ClientSettings(with_list_chunk_size=3, deviation_sign=DeviationSign.INVERTED)
    client = made(client=17, auth="low", password="12345678", settings=settings)
    session = client.session.settings
    assert session.mechanism is MechanismName.LOW and session.secret == Secret(b"12345678")
    assert session.with_list_chunk_size == 3
    assert client.deviation_sign is DeviationSign.INVERTED
    assert made().deviation_sign is DeviationSign.STANDARD


def test_settings_may_carry_what_keywords_leave_out() -> None:
    settings = ClientSettings(mechanism=MechanismName.HIGH_MD5, secret=Secret(b"0123456789ABCDEF"))
    assert made(settings=settings).session.settings is settings


@pytest.mark.parametrize(
    ("keywords", "settings", "named"),
    [
        ({"auth": "low", "password": "x"}, {"mechanism": MechanismName.HIGH_MD5, "secret": b"s"},
         "auth"),
        ({"password": "x"}, {"mechanism": MechanismName.LOW, "secret": b"s"}, "password"),
        ({"security": "ae", **KEYS}, {"security": security()}, "security"),
        ({"security": "none"}, {"security": security()}, "security"),
        ({"system_title": TITLE}, {"client_system_title": b"OTHER001"}, "system_title"),
    ],
)  # fmt: skip
def test_a_value_given_as_keyword_and_in_settings_is_refused(
    keywords: dict[str, Any], settings: dict[str, Any], named: str
) -> None:
    with pytest.raises(ValueError, match=f"{named} is given twice") as caught:
        made(settings=ClientSettings(**settings), **keywords)
    assert BLOCK_CIPHER_KEY.hex() not in str(caught.value)


def test_for_referencing() -> None:
    short = ClientSettings.for_referencing("SN", with_list_chunk_size=1)
    assert not short.logical_name_referencing and short.with_list_chunk_size == 1
    assert short.proposed_conformance == SN_CONFORMANCE
    assert ClientSettings.for_referencing("ln") == ClientSettings()
    own = ClientSettings.for_referencing("sn", proposed_conformance=SN_CONFORMANCE & ~1)
    assert own.proposed_conformance == SN_CONFORMANCE & ~1
    with pytest.raises(ValueError, match="unknown referencing 'xx'"):
        ClientSettings.for_referencing("xx")
    assert made(settings=short).short_name_referencing


def test_an_sn_client_reads_the_frame_counter_with_short_names_too() -> None:
    client = made(
        settings=ClientSettings.for_referencing("sn"), security=security(read_frame_counter=True)
    )
    assert client.public_session is not None
    public = client.public_session()
    assert not public.settings.logical_name_referencing
    assert public.settings.security is None and public.settings.mechanism is MechanismName.LOWEST


@pytest.mark.parametrize(
    ("url", "link_type"),
    [
        ("tcp://127.0.0.1:4059", WrapperConnection),
        ("udp://127.0.0.1:4059", WrapperConnection),
        ("hdlc+tcp://127.0.0.1:4059", HdlcConnection),
    ],
)
def test_every_session_of_a_client_is_new_with_the_same_addresses(
    url: str, link_type: type[object]
) -> None:
    """connect()'s session factory (a reconnection's new session) and the public session
    make a new session and link each time, with the client's addresses and settings."""
    client = made(url, client=18, server=5, auth="gmac", security=security(read_frame_counter=True))
    assert client.session_factory is not None and client.public_session is not None
    first, again = client.session, client.session_factory()
    assert again is not first and again.link is not first.link
    assert again.settings is first.settings
    public = client.public_session()
    for session, client_address in ((first, 18), (again, 18), (public, 16)):
        link = session.link
        assert isinstance(link, link_type)
        if isinstance(link, WrapperConnection):
            assert (link.local_wport, link.remote_wport) == (client_address, 5)
            assert link.transport == url.split(":")[0]
        else:
            assert isinstance(link, HdlcConnection)
            assert link.settings.client_address == HdlcAddress.client(client_address)
    assert public.settings.security is None


def test_deviation_sign_is_checked() -> None:
    with pytest.raises(ValueError, match="deviation_sign"):
        ClientSettings(deviation_sign=2)  # type: ignore[arg-type]


# -- ClientSecurity ----------------------------------------------------------------------


def test_the_short_way_to_ciphering_makes_a_client_security() -> None:
    made_security = made(client=18, auth="gmac", security="ae", **KEYS).session.settings.security
    assert made_security is not None
    assert made_security.policy is SecurityPolicy.AUTHENTICATED_ENCRYPTION
    assert made_security.system_title == TITLE
    assert made_security.block_cipher_key == Secret(BLOCK_CIPHER_KEY)
    assert not made_security.read_frame_counter and made_security.public_client == 16


def test_a_whole_client_security_holds_the_title_and_keys() -> None:
    given = security(use_dedicated_key=True, public_client=20)
    client = made(client=18, auth="gmac", security=given)
    assert client.session.settings.security is given
    assert client.public_session is not None  # the public association of read_frame_counter
    with pytest.raises(ValueError, match="system_title, block_cipher_key") as caught:
        made(security=given, **KEYS)
    assert BLOCK_CIPHER_KEY.hex() not in str(caught.value)


@pytest.mark.parametrize(
    ("keywords", "message"),
    [
        ({"security": "ae", "block_cipher_key": BLOCK_CIPHER_KEY}, "security='ae' needs "
         "system_title, authentication_key"),
        ({"auth": "gmac"}, "HLS-GMAC needs system_title, block_cipher_key, authentication_key"),
        ({"auth": "sha256", "password": "0123456789ABCDEF"}, "needs our system_title"),
    ],
)  # fmt: skip
def test_what_is_missing_is_named(keywords: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        made(**keywords)


def test_public_client_is_a_client_sap() -> None:
    with pytest.raises(ValueError, match="public_client"):
        security(public_client=0)


# -- flat names (fleet files, jobs, the command line) ------------------------------------


def test_flat_names_are_folded_into_the_settings_objects() -> None:
    store = MemoryInvocationCounterStore()
    keywords = connect_keywords(
        {
            "client": 18,
            "auth": "gmac",
            "physical_address": 17,
            "retries": 1,
            "referencing": "sn",
            "deviation_sign": "inverted",
            "with_list_chunk_size": 2,
            "max_receive_pdu_size": 512,
            "security": "ae",
            **KEYS,
            "dedicated_key": True,
            "invocation_counter_store": store,
            "read_frame_counter": True,
            "frame_counter_instance": 2,
            "public_client": 20,
            "allow_repeated_counters": True,
        }
    )
    assert set(keywords) == {"client", "auth", "link", "settings", "security"}
    assert keywords["link"] == LinkSettings(physical_address=17, retries=1)
    settings = keywords["settings"]
    assert settings == ClientSettings.for_referencing(
        "sn",
        deviation_sign=DeviationSign.INVERTED,
        with_list_chunk_size=2,
        client_max_receive_pdu_size=512,
    )
    secured = keywords["security"]
    assert secured == security(
        use_dedicated_key=True,
        read_frame_counter=True,
        frame_counter_instance=2,
        public_client=20,
        allow_repeated_counters=True,
    )
    assert secured.counter_store is store
    client = made("hdlc+tcp://127.0.0.1:10001", **keywords)
    assert client.session.settings.security is secured


def test_flat_names_change_objects_given_with_them() -> None:
    base_link = LinkSettings(response_timeout=0.5)
    base_settings = ClientSettings(pdu_size_margin=7)
    keywords = connect_keywords(
        {
            "link": base_link,
            "physical_address": 18,
            "settings": base_settings,
            "referencing": "sn",
            "security": security(),
            "read_frame_counter": True,
        }
    )
    assert keywords["link"] == replace(base_link, physical_address=18)
    assert keywords["settings"] == ClientSettings.for_referencing("sn", pdu_size_margin=7)
    assert keywords["security"] == security(read_frame_counter=True)


def test_ciphering_names_without_ciphering_change_nothing() -> None:
    keywords = connect_keywords({"client": 16, "security": "none", "read_frame_counter": True})
    assert keywords == {"client": 16, "security": "none"}
    assert made(**keywords).session.settings.security is None


def test_flat_values_are_checked() -> None:
    with pytest.raises(ValueError, match="unknown deviation_sign 'sideways'"):
        connect_keywords({"deviation_sign": "sideways"})
    with pytest.raises(ValueError, match="security='ae' needs system_title"):
        connect_keywords({"security": "ae", "dedicated_key": True})
    with pytest.raises(ValueError, match="unknown referencing"):
        connect_keywords({"referencing": "xn"})
