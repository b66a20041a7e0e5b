"""confirmed-service-error and exception-response."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from asyncdlms.apdu.service_error import (
    SERVICE_ERROR_ENUMS,
    ConfirmedService,
    ConfirmedServiceError,
    ExceptionResponse,
    ExceptionServiceError,
    ExceptionStateError,
    ServiceErrorAccess,
    ServiceErrorChoice,
    ServiceErrorInitiate,
    ServiceErrorTask,
    standard_name,
)
from asyncdlms.errors import DecodeError, EncodeError, ServiceError


def test_confirmed_service_error_from_aare_vector() -> None:
    # user-information of dlmscosem-apdu-aare-rejected-dlms-version-too-low: 0E 01 06 01
    error = ConfirmedServiceError.decode(bytes.fromhex("0e010601"))
    assert error.service is ConfirmedService.INITIATE_ERROR
    assert error.error_type is ServiceErrorChoice.INITIATE
    assert error.error is ServiceErrorInitiate.DLMS_VERSION_TOO_LOW
    assert error.encode().hex() == "0e010601"
    exception = error.to_exception()
    assert isinstance(exception, ServiceError)
    assert exception.error is error
    assert str(exception) == (
        "confirmed-service-error: initiate-error, initiate dlms-version-too-low"
    )


def test_service_error_choice_numbers_follow_the_green_book() -> None:
    # ServiceError ::= CHOICE {... load-data-set [7], change-scope [8], task [9], other [10]}
    assert int(ServiceErrorChoice.LOAD_DATA_SET) == 7
    assert int(ServiceErrorChoice.CHANGE_SCOPE) == 8
    assert int(ServiceErrorChoice.TASK) == 9
    error = ConfirmedServiceError.decode(bytes.fromhex("0e050902"))
    assert error.service is ConfirmedService.READ
    assert error.error is ServiceErrorTask.TI_STOPPED
    assert set(SERVICE_ERROR_ENUMS) == set(ServiceErrorChoice) - {
        ServiceErrorChoice.CHANGE_SCOPE,
        ServiceErrorChoice.OTHER,
    }


def test_unnamed_values_are_kept_as_integers() -> None:
    error = ConfirmedServiceError.decode(bytes.fromhex("0e0605fa"))
    assert error.error == 250 and not isinstance(error.error, ServiceErrorAccess)
    assert "access 250" in error.describe()
    assert ConfirmedServiceError.decode(bytes.fromhex("0e060a03")).error == 3


@pytest.mark.parametrize(
    "bad", ["", "0f010601", "0e0106", "0e01060100", "0e000601", "0e010b01", "d80101"]
)
def test_confirmed_service_error_bad_input(bad: str) -> None:
    with pytest.raises(DecodeError):
        ConfirmedServiceError.decode(bytes.fromhex(bad))


def test_exception_response_with_expected_invocation_counter() -> None:
    # quirk 3: invocation-counter-error carries the counter the meter expects
    data = bytes.fromhex("d80106000004d2")
    response = ExceptionResponse.decode(data)
    assert response.state_error is ExceptionStateError.SERVICE_NOT_ALLOWED
    assert response.service_error is ExceptionServiceError.INVOCATION_COUNTER_ERROR
    assert response.invocation_counter == 1234
    assert response.encode() == data
    exception = response.to_exception()
    assert isinstance(exception, ServiceError) and exception.error is response
    assert str(exception) == (
        "exception-response: state-error service-not-allowed, "
        "service-error invocation-counter-error (meter expects counter 1234)"
    )


def test_exception_response_without_counter() -> None:
    for hex_, state, service in [
        ("d80106", ExceptionStateError.SERVICE_NOT_ALLOWED, "invocation-counter-error"),
        ("d80202", ExceptionStateError.SERVICE_UNKNOWN, "service-not-supported"),
        ("d80105", ExceptionStateError.SERVICE_NOT_ALLOWED, "deciphering-error"),
    ]:
        response = ExceptionResponse.decode(bytes.fromhex(hex_))
        assert response.state_error is state
        assert response.invocation_counter is None
        assert f"service-error {service}" in response.describe()
        assert response.encode().hex() == hex_


@pytest.mark.parametrize("bad", ["", "d8", "d801", "d8010600", "d801030000", "c40106"])
def test_exception_response_bad_input(bad: str) -> None:
    with pytest.raises(DecodeError):
        ExceptionResponse.decode(bytes.fromhex(bad))


def test_encode_checks() -> None:
    with pytest.raises(EncodeError):
        ExceptionResponse(ExceptionStateError.SERVICE_NOT_ALLOWED, 1, 5).encode()
    with pytest.raises(EncodeError):
        ConfirmedServiceError(ConfirmedService.READ, ServiceErrorChoice.ACCESS, 256).encode()


def test_standard_name() -> None:
    assert standard_name(ServiceErrorInitiate.REFUSED_BY_THE_VDE_HANDLER) == (
        "refused-by-the-vde-handler"
    )
    assert standard_name(7) == "7"


@given(
    st.sampled_from(ConfirmedService),
    st.sampled_from(ServiceErrorChoice),
    st.integers(0, 255),
)
def test_confirmed_service_error_round_trip(
    service: ConfirmedService, choice: ServiceErrorChoice, value: int
) -> None:
    enum = SERVICE_ERROR_ENUMS.get(choice)
    error = ConfirmedServiceError(service, choice, value)
    decoded = ConfirmedServiceError.decode(error.encode())
    assert decoded == error
    if enum is not None and value in set(enum):
        assert isinstance(decoded.error, enum)


@given(st.integers(0, 255), st.integers(0, 255), st.none() | st.integers(0, 2**32 - 1))
def test_exception_response_round_trip(state: int, service: int, counter: int | None) -> None:
    if counter is not None:
        service = ExceptionServiceError.INVOCATION_COUNTER_ERROR
    response = ExceptionResponse(state, service, counter)
    assert ExceptionResponse.decode(response.encode()) == response


@given(st.binary(max_size=12))
def test_random_bytes_give_only_decode_errors(data: bytes) -> None:
    for cls in (ConfirmedServiceError, ExceptionResponse):
        with contextlib.suppress(DecodeError):
            cls.decode(data)
