"""Image transfer, Disconnect control, Security setup, Push setup, IEC HDLC setup."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from asyncdlms import axdr
from asyncdlms.cosem import (
    CaptureObject,
    CommSpeed,
    ControlMode,
    ControlState,
    CosemValueError,
    DisconnectControlMethod,
    DisconnectControlState,
    HdlcSetup,
    ImageTransferMethod,
    ImageTransferStatus,
    KeyId,
    MessageType,
    SecurityPolicy,
    SecurityPolicyFlags,
    SecuritySetup,
    SecuritySuite,
    SendDestinationAndMethod,
    TransportService,
    image_activate_parameter,
    image_block_transfer_parameter,
    image_transfer_initiate_parameter,
    image_transfer_status,
    image_verify_parameter,
    key_transfer_parameter,
    method_number,
    missing_blocks,
    number_of_blocks,
    parse_communication_window,
    parse_image_to_activate_info,
    parse_push_object_list,
    push_object_list_value,
    remote_disconnect_parameter,
    remote_reconnect_parameter,
    security_activate_parameter,
    security_policy,
    security_suite,
    split_image,
)
from asyncdlms.obis import Obis
from asyncdlms.types import (
    Array,
    BitString,
    DateTime,
    DoubleLongUnsigned,
    Enum,
    Integer,
    OctetString,
    Structure,
)

# --- Image transfer ----------------------------------------------------------------------------


def test_image_transfer_methods_match_the_table() -> None:
    for method in ImageTransferMethod:
        assert method_number(18, method.name.lower()) == method


def test_image_transfer_parameters() -> None:
    initiate = image_transfer_initiate_parameter(b"FW-2.1", 70_000)
    assert initiate == Structure((OctetString(b"FW-2.1"), DoubleLongUnsigned(70_000)))
    assert (
        axdr.encode(initiate).hex() == "0202090646572d322e3106" + (70_000).to_bytes(4, "big").hex()
    )
    block = image_block_transfer_parameter(3, b"\x01\x02")
    assert axdr.encode(block) == bytes.fromhex("0202060000000309020102")
    assert image_verify_parameter() == Integer(0) and image_activate_parameter() == Integer(0)
    with pytest.raises(CosemValueError):
        image_transfer_initiate_parameter("FW", 1)  # type: ignore[arg-type]
    with pytest.raises(CosemValueError):
        image_transfer_initiate_parameter(b"FW", 2**32)
    with pytest.raises(CosemValueError):
        image_block_transfer_parameter(-1, b"")


def test_status() -> None:
    assert image_transfer_status(Enum(6)) is ImageTransferStatus.IMAGE_ACTIVATION_SUCCESSFUL
    assert image_transfer_status(42) == 42
    with pytest.raises(CosemValueError):
        image_transfer_status(b"\x06")


@given(st.binary(max_size=2000), st.integers(1, 300))
def test_split_image(image: bytes, size: int) -> None:
    blocks = list(split_image(image, size))
    assert len(blocks) == number_of_blocks(len(image), size)
    assert b"".join(block.value for block in blocks) == image
    assert [block.number for block in blocks] == list(range(len(blocks)))
    assert all(len(block.value) == size for block in blocks[:-1])
    padded = list(split_image(image, size, padding=0xFF))
    assert all(len(block.value) == size for block in padded)
    if blocks:
        assert padded[-1].value.startswith(blocks[-1].value)
        assert blocks[0].to_parameter() == image_block_transfer_parameter(0, blocks[0].value)


def test_block_counting_and_missing_blocks() -> None:
    assert number_of_blocks(0, 200) == 0
    assert number_of_blocks(200, 200) == 1
    assert number_of_blocks(201, 200) == 2
    with pytest.raises(CosemValueError):
        number_of_blocks(10, 0)
    status = BitString.from_bits("1101")
    assert missing_blocks(status, 6) == (2, 4, 5)
    assert missing_blocks(BitString.from_bits("1111"), 4) == ()
    with pytest.raises(CosemValueError):
        missing_blocks(b"\xff", 8)


def test_image_to_activate_info() -> None:
    value = Array([Structure((DoubleLongUnsigned(1000), OctetString(b"ID"), OctetString(b"SIG")))])
    (info,) = parse_image_to_activate_info(value)
    assert info.image_to_activate_size == 1000
    assert info.image_to_activate_identification == b"ID"
    assert info.image_to_activate_signature == b"SIG"
    with pytest.raises(CosemValueError):
        parse_image_to_activate_info(Array([Structure((DoubleLongUnsigned(1),))]))


# --- Disconnect control ------------------------------------------------------------------------


def test_disconnect_control() -> None:
    assert DisconnectControlMethod.REMOTE_DISCONNECT == method_number(70, "remote_disconnect") == 1
    assert DisconnectControlMethod.REMOTE_RECONNECT == method_number(70, "remote_reconnect") == 2
    assert axdr.encode(remote_disconnect_parameter()) == b"\x0f\x00"
    assert axdr.encode(remote_reconnect_parameter()) == b"\x0f\x00"
    state = DisconnectControlState.from_values(False, Enum(2), Enum(4))
    assert state == DisconnectControlState(
        False, ControlState.READY_FOR_RECONNECTION, ControlMode.MODE_4
    )
    assert DisconnectControlState.from_values(1, 1, 9).control_mode == 9
    with pytest.raises(CosemValueError):
        DisconnectControlState.from_values(None, 1, 1)


# --- Security setup ----------------------------------------------------------------------------


def test_security_setup() -> None:
    assert security_policy(Enum(3)) is SecurityPolicy.ALL_MESSAGES_AUTHENTICATED_AND_ENCRYPTED
    flags = security_policy(Enum(0x24), version=1)
    assert (
        flags
        == SecurityPolicyFlags.AUTHENTICATED_REQUEST | SecurityPolicyFlags.AUTHENTICATED_RESPONSE
    )
    assert security_suite(Enum(0)) is SecuritySuite.AES_GCM_128
    assert security_suite(9) == 9
    with pytest.raises(CosemValueError):
        security_policy(300, version=1)
    setup = SecuritySetup.from_values(1, 0, OctetString(b"CLIENT01"), OctetString(b"SERVER01"))
    assert setup.security_policy is SecurityPolicy.ALL_MESSAGES_AUTHENTICATED
    assert setup.server_system_title == b"SERVER01"
    with pytest.raises(CosemValueError):
        SecuritySetup.from_values(1, 0, None, b"")
    assert security_activate_parameter(SecurityPolicy.ALL_MESSAGES_ENCRYPTED) == Enum(2)
    transfer = key_transfer_parameter([(KeyId.GLOBAL_UNICAST_ENCRYPTION_KEY, b"\x11" * 24)])
    assert transfer == Array([Structure((Enum(0), OctetString(b"\x11" * 24)))])
    assert axdr.encode(transfer)[:6] == bytes.fromhex("010102021600")
    with pytest.raises(CosemValueError):
        key_transfer_parameter([(KeyId.MASTER_KEY, "key")])  # type: ignore[list-item]


# --- Push setup --------------------------------------------------------------------------------


def test_push_setup() -> None:
    objects = (
        CaptureObject(1, Obis("0.0.96.1.0.255"), 2),
        CaptureObject(8, Obis("0.0.1.0.0.255"), 2),
    )
    value = axdr.decode(axdr.encode(push_object_list_value(objects)))
    assert parse_push_object_list(value) == objects
    destination = SendDestinationAndMethod(TransportService.TCP, b"10.0.0.1:4059")
    encoded = axdr.encode(destination.to_value())
    assert encoded == bytes.fromhex("0203160009") + bytes([13]) + b"10.0.0.1:4059" + bytes.fromhex(
        "1600"
    )
    assert SendDestinationAndMethod.from_value(axdr.decode(encoded)) == destination
    assert destination.message is MessageType.A_XDR_ENCODED_XDLMS_APDU
    odd = SendDestinationAndMethod.from_value(Structure((Enum(200), OctetString(b""), Enum(128))))
    assert odd.transport_service == 200 and odd.message == 128
    with pytest.raises(CosemValueError):
        SendDestinationAndMethod.from_value(Structure((Enum(0), OctetString(b""))))
    every_day = OctetString(DateTime(hour=8, minute=0, second=0).to_bytes())
    window = parse_communication_window(Array([Structure((every_day, every_day))]))
    assert window[0][0] is not None and window[0][0].hour == 8 and window[0][0].year is None


# --- IEC HDLC setup ----------------------------------------------------------------------------


def test_hdlc_setup() -> None:
    setup = HdlcSetup.from_values({2: Enum(5), 3: 1, 4: 1, 5: 128, 6: 128, 7: 25, 8: 120, 9: 0x10})
    assert setup.comm_speed is CommSpeed.BAUD_9600 and setup.baud_rate == 9600
    assert setup.inactivity_time_out == 120 and setup.device_address == 0x10
    assert HdlcSetup.from_values({}) == HdlcSetup()
    assert HdlcSetup.from_values({2: 12}).baud_rate is None
    assert [speed.baud_rate for speed in CommSpeed][:3] == [300, 600, 1200]
    assert CommSpeed.BAUD_115200.baud_rate == 115200
    with pytest.raises(CosemValueError):
        HdlcSetup.from_values({8: b"\x00"})
