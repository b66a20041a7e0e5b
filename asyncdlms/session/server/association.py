"""Association establishment in the server role: the AARQ checked against the client SAP's
policy and answered (AARE), HLS pass 3 checked and pass 4 sent, release (RLRE), and what is
refused before or outside an association."""

from __future__ import annotations

import hmac
from typing import Any

from ...apdu.acse import (
    Aare,
    Aarq,
    AcseServiceUserDiagnostic,
    ApplicationContextName,
    AssociationResult,
    MechanismName,
    ReleaseResponseReason,
    Rlre,
    Rlrq,
)
from ...apdu.action import (
    ActionRequestNormal,
    ActionRequestWithList,
    ActionResponseNormal,
    ActionResponseWithList,
    ActionResponseWithOptionalData,
)
from ...apdu.descriptors import Data
from ...apdu.enums import ActionResult, DataAccessResult
from ...apdu.get import (
    GetRequestNext,
    GetRequestNormal,
    GetRequestWithList,
    GetResponseNormal,
    GetResponseWithList,
)
from ...apdu.initiate import (
    LN_VAA_NAME,
    SN_VAA_NAME,
    Conformance,
    InitiateRequest,
    InitiateResponse,
)
from ...apdu.service_error import (
    ConfirmedService,
    ConfirmedServiceError,
    ExceptionResponse,
    ExceptionServiceError,
    ExceptionStateError,
    ServiceErrorChoice,
    ServiceErrorInitiate,
    ServiceErrorVdeState,
)
from ...apdu.set import (
    SetRequestNormal,
    SetRequestWithDatablock,
    SetRequestWithFirstDatablock,
    SetRequestWithList,
    SetRequestWithListAndFirstDatablock,
    SetResponseNormal,
    SetResponseWithList,
)
from ...apdu.short_name import (
    ParameterizedAccess,
    ReadRequest,
    ReadResponse,
    ReadResult,
    UnconfirmedWriteRequest,
    VariableName,
    WriteRequest,
    WriteResponse,
    WriteResult,
)
from ...errors import AuthenticationError, CertificateError, DlmsError, ReplayError
from ...security.certificates import KeyUsage
from ...security.ciphering import SecurityContext
from ...security.hls import (
    MAX_CHALLENGE_LENGTH,
    MIN_CHALLENGE_LENGTH,
    ecdsa_server_pass4,
    generate_challenge,
    server_pass4,
    verify_client_pass3,
    verify_ecdsa_client_pass3,
)
from ..events import AssociationEstablished, AssociationReleased
from ..gbt import GeneralBlockTransferChannel
from ..pipeline import ApduProtection, NoProtection
from ._core import _DEFAULT_IIP, _access_to_action_result, _Negotiated, _SessionCore
from ._state import AssociationInput, AssociationState
from .settings import (
    _ASSOCIATION_LN_CLASS,
    _REPLY_TO_HLS_LN_METHOD,
    _REPLY_TO_HLS_SN_OFFSET,
    ASSOCIATION_LN,
    _no_protection,
)


class _AssociationService(_SessionCore):
    """The association: AARQ/AARE, HLS pass 3/4, RLRQ/RLRE, refusals."""

    def _on_aarq(self, raw: bytes, source: int | None) -> None:
        if self.state is not AssociationState.IDLE and raw == self._aarq:
            # the very AARQ of the current association again (a line that repeats frames, or
            # a client that lost the AARE): the same AARE again. Re-evaluating it would
            # refuse its counter as a replay and end the association being made.
            self.duplicate_aarqs += 1
            self._send_plain(self._aare)
            return
        try:
            aarq = Aarq.decode(raw)
        except DlmsError:
            self._rejection = Aare(
                AssociationResult.REJECTED_PERMANENT, AcseServiceUserDiagnostic.NO_REASON_GIVEN
            )
            self._transition(AssociationInput.AARQ_REJECTED)
            return
        self._rejection_apdu = None
        outcome = self._evaluate_aarq(aarq, source)
        if isinstance(outcome, Aare):
            self._rejection = outcome
            self._transition(AssociationInput.AARQ_REJECTED)
        elif outcome.policy.mechanism.high_level:
            self._aarq = raw
            self._transition(AssociationInput.AARQ_NEEDS_HLS, apdu=(outcome, source))
        else:
            self._aarq = raw
            self._transition(AssociationInput.AARQ_ACCEPTABLE, apdu=(outcome, source))

    def _rejecting_aare(
        self,
        aarq: Aarq,
        diagnostic: AcseServiceUserDiagnostic,
        user_information: bytes | None = None,
    ) -> Aare:
        return Aare(
            AssociationResult.REJECTED_PERMANENT,
            diagnostic,
            application_context_name=aarq.application_context_name,
            user_information=user_information,
        )

    def _evaluate_aarq(self, aarq: Aarq, source: int | None) -> _Negotiated | Aare:
        """Check an AARQ against the policy of its client SAP: an acceptable association, or
        the rejecting AARE."""
        diagnostic = AcseServiceUserDiagnostic
        policy = self.settings.policies.get(source) if source is not None else None
        if policy is None:
            return self._rejecting_aare(aarq, diagnostic.AUTHENTICATION_FAILURE)
        if aarq.application_context_name != policy.application_context_name:
            return self._rejecting_aare(aarq, diagnostic.APPLICATION_CONTEXT_NAME_NOT_SUPPORTED)
        requested = aarq.mechanism_name
        if requested is None or requested == MechanismName.LOWEST:
            if policy.mechanism != MechanismName.LOWEST:
                return self._rejecting_aare(aarq, diagnostic.AUTHENTICATION_MECHANISM_NAME_REQUIRED)
        elif requested != policy.mechanism:
            return self._rejecting_aare(
                aarq, diagnostic.AUTHENTICATION_MECHANISM_NAME_NOT_RECOGNISED
            )
        client_challenge = b""
        if policy.mechanism == MechanismName.LOW:
            assert policy.secret is not None
            password = aarq.calling_authentication_value or b""
            if not hmac.compare_digest(password, policy.secret.value):
                return self._rejecting_aare(aarq, diagnostic.AUTHENTICATION_FAILURE)
        elif policy.mechanism.high_level:
            client_challenge = aarq.calling_authentication_value or b""
            if not MIN_CHALLENGE_LENGTH <= len(client_challenge) <= MAX_CHALLENGE_LENGTH:
                return self._rejecting_aare(aarq, diagnostic.AUTHENTICATION_FAILURE)
            if policy.mechanism == MechanismName.HIGH_SHA256 and not aarq.calling_ap_title:
                return self._rejecting_aare(aarq, diagnostic.CALLING_AP_TITLE_NOT_RECOGNIZED)
            # HLS-ECDSA: the client's certificate (or key) must be known and valid before we
            # answer: an unknown, expired or wrong-curve client gets no challenge
            if (
                policy.mechanism == MechanismName.HIGH_ECDSA
                and self._client_ecdsa_key(policy, aarq.calling_ap_title) is None
            ):
                return self._rejecting_aare(aarq, diagnostic.CALLING_AP_TITLE_NOT_RECOGNIZED)
            if (
                policy.mechanism == MechanismName.HIGH
                and self.settings.manufacturer_function is None
            ):
                return self._rejecting_aare(
                    aarq, diagnostic.AUTHENTICATION_MECHANISM_NAME_NOT_RECOGNISED
                )
        if policy.security is not None and not policy.security.has_keys:
            protection: ApduProtection = NoProtection()  # HLS-ECDSA without ciphering
        elif policy.security is not None and self.settings.protection_factory is _no_protection:
            protection = policy.security.make_context(self.settings.system_title)
        else:
            protection = self.settings.protection_factory(policy, aarq)
        context = protection if isinstance(protection, SecurityContext) else None
        if context is not None:
            if not aarq.calling_ap_title or len(aarq.calling_ap_title) != 8:
                return self._rejecting_aare(aarq, diagnostic.CALLING_AP_TITLE_NOT_RECOGNIZED)
            context.peer_system_title = aarq.calling_ap_title
            if policy.security is not None and policy.security.policy is None:
                protection = NoProtection()  # the keys serve HLS-GMAC only
        if policy.mechanism == MechanismName.HIGH_GMAC and context is None:
            return self._rejecting_aare(
                aarq, diagnostic.AUTHENTICATION_MECHANISM_NAME_NOT_RECOGNISED
            )
        if aarq.user_information is None:
            return self._rejecting_aare(aarq, diagnostic.NO_REASON_GIVEN)
        try:
            initiate = InitiateRequest.decode(protection.unprotect(aarq.user_information))
        except ReplayError as exc:
            self.replayed_apdus += 1
            if policy.security is None or not policy.security.invocation_counter_hint:
                return self._rejecting_aare(aarq, diagnostic.NO_REASON_GIVEN)
            # quirk 3, as some meters do: the counter the client must continue from
            self._rejection_apdu = ExceptionResponse(
                ExceptionStateError.SERVICE_NOT_ALLOWED,
                ExceptionServiceError.INVOCATION_COUNTER_ERROR,
                exc.last + 1 if exc.last < 0xFFFF_FFFF else None,
            ).encode()
            return self._rejecting_aare(aarq, diagnostic.NO_REASON_GIVEN)
        except DlmsError:
            return self._rejecting_aare(aarq, diagnostic.NO_REASON_GIVEN)
        if initiate.dedicated_key is not None:
            if context is None or protection is not context:
                return self._rejecting_aare(aarq, diagnostic.NO_REASON_GIVEN)
            try:
                context.set_dedicated_key(initiate.dedicated_key)
            except DlmsError:
                return self._rejecting_aare(aarq, diagnostic.NO_REASON_GIVEN)
        initiate_error: ServiceErrorInitiate | None = None
        conformance = initiate.proposed_conformance & policy.conformance
        client_pdu = initiate.client_max_receive_pdu_size
        if initiate.proposed_dlms_version_number < 6:
            initiate_error = ServiceErrorInitiate.DLMS_VERSION_TOO_LOW
        elif not conformance:
            initiate_error = ServiceErrorInitiate.INCOMPATIBLE_CONFORMANCE
        elif client_pdu and client_pdu < self.settings.min_client_pdu_size:
            initiate_error = ServiceErrorInitiate.PDU_SIZE_TOO_SHORT
        if initiate_error is not None:
            error = ConfirmedServiceError(
                ConfirmedService.INITIATE_ERROR, ServiceErrorChoice.INITIATE, initiate_error
            )
            return self._rejecting_aare(aarq, diagnostic.NO_REASON_GIVEN, error.encode())
        server_challenge = b""
        if policy.mechanism.high_level:
            server_challenge = generate_challenge(policy.challenge_length, self.settings.random)
        return _Negotiated(
            policy,
            aarq,
            Conformance(conformance),
            client_pdu,
            client_challenge,
            server_challenge,
            protection,
            context,
        )

    def _accepting_aare(self, negotiated: _Negotiated, pending_hls: bool) -> Aare:
        policy = negotiated.policy
        ln = policy.application_context_name.logical_name_referencing
        vaa_name = self.settings.vaa_name
        if vaa_name is None:
            vaa_name = LN_VAA_NAME if ln else SN_VAA_NAME
        response = InitiateResponse(
            negotiated_conformance=negotiated.conformance,
            server_max_receive_pdu_size=self.settings.server_max_receive_pdu_size,
            negotiated_dlms_version_number=6,
            vaa_name=vaa_name,
        )
        authenticated = policy.mechanism != MechanismName.LOWEST
        return Aare(
            AssociationResult.ACCEPTED,
            AcseServiceUserDiagnostic.AUTHENTICATION_REQUIRED
            if pending_hls
            else AcseServiceUserDiagnostic.NULL,
            application_context_name=policy.application_context_name,
            user_information=negotiated.protection.protect(response.encode()),
            responder_acse_requirements=authenticated,
            mechanism_name=policy.mechanism if authenticated else None,
            responding_authentication_value=negotiated.server_challenge if pending_hls else None,
            responding_ap_title=self.settings.system_title,
        )

    def _adopt(self, negotiated: _Negotiated, source: int | None) -> None:
        self._forget()
        self.client_address = source
        self.client_system_title = negotiated.aarq.calling_ap_title or b""
        self.negotiated_conformance = negotiated.conformance
        self.client_max_receive_pdu_size = negotiated.client_max_receive_pdu_size
        sizes = [
            size
            for size in (
                self.client_max_receive_pdu_size,
                self.settings.server_max_receive_pdu_size,
            )
            if size
        ]
        self.max_pdu_size_tx = min(sizes) if sizes else 0
        self.mechanism = negotiated.policy.mechanism
        self.logical_name_referencing = (
            negotiated.policy.application_context_name.logical_name_referencing
        )
        self._protection = negotiated.protection
        self._context = negotiated.context
        security = negotiated.policy.security
        self._counter_hint = security is not None and security.invocation_counter_hint
        self._gbt = GeneralBlockTransferChannel(
            self.settings.gbt_window_size,
            self.settings.max_request_length,
            enabled=bool(negotiated.conformance & Conformance.GENERAL_BLOCK_TRANSFER),
        )

    def _established(self) -> None:
        self._events.append(
            AssociationEstablished(
                negotiated_conformance=self.negotiated_conformance,
                max_pdu_size_tx=self.max_pdu_size_tx,
                max_pdu_size_rx=self.settings.server_max_receive_pdu_size,
                dlms_version=6,
                logical_name_referencing=self.logical_name_referencing,
                mechanism=self.mechanism,
                client_address=self.client_address,
            )
        )

    def _accept(self, apdu: tuple[_Negotiated, int | None]) -> None:
        negotiated, source = apdu
        self._adopt(negotiated, source)
        self._aare = self._accepting_aare(negotiated, False).encode()
        self._send_plain(self._aare)
        self._established()

    def _accept_pending_hls(self, apdu: tuple[_Negotiated, int | None]) -> None:
        negotiated, source = apdu
        self._adopt(negotiated, source)
        self._pending = negotiated
        self._aare = self._accepting_aare(negotiated, True).encode()
        self._send_plain(self._aare)

    def _reject(self, previous: AssociationState) -> None:
        self.rejected_associations += 1
        if previous is AssociationState.AWAITING_PASS3:
            self._forget()
            self._events.append(AssociationReleased(None))
        rejection = self._rejection or Aare(
            AssociationResult.REJECTED_PERMANENT, AcseServiceUserDiagnostic.NO_REASON_GIVEN
        )
        self._rejection = None
        answer, self._rejection_apdu = self._rejection_apdu, None
        if answer is not None:  # an exception-response in place of the AARE (quirk 3)
            self.exception_responses += 1
            self._send_plain(answer)
            return
        self._send_plain(rejection.encode())

    def _reject_already_associated(self) -> None:
        self.rejected_associations += 1
        self._rejection = None
        aare = Aare(
            AssociationResult.REJECTED_TRANSIENT,
            AcseServiceUserDiagnostic.NO_REASON_GIVEN,
            application_context_name=(
                ApplicationContextName.LOGICAL_NAME
                if self.logical_name_referencing
                else ApplicationContextName.SHORT_NAME
            ),
        )
        self._send_plain(aare.encode())

    def _hls_reply(self, request: Any) -> bytes | None:
        """The pass 3 value when ``request`` is reply_to_HLS_authentication, else None."""
        if isinstance(request, ActionRequestNormal):
            descriptor = request.cosem_method_descriptor
            if (
                descriptor.class_id == _ASSOCIATION_LN_CLASS
                and descriptor.instance_id == ASSOCIATION_LN
                and descriptor.method_id == _REPLY_TO_HLS_LN_METHOD
            ):
                parameters = request.method_invocation_parameters
                value = parameters.value if parameters is not None else b""
                return bytes(value) if isinstance(value, bytes) else b""
        if isinstance(request, (ReadRequest, WriteRequest)):
            specs = request.variable_access_specification
            name = self._sn_hls_name()
            if len(specs) == 1:
                spec = specs[0]
                if isinstance(spec, ParameterizedAccess) and spec.variable_name == name:
                    value = spec.parameter.value
                    return bytes(value) if isinstance(value, bytes) else b""
                if (
                    isinstance(request, WriteRequest)
                    and isinstance(spec, VariableName)
                    and spec.variable_name == name
                    and len(request.list_of_data) == 1
                ):
                    value = request.list_of_data[0].value
                    return bytes(value) if isinstance(value, bytes) else b""
        return None

    def _sn_hls_name(self) -> int:
        base = self.settings.vaa_name if self.settings.vaa_name is not None else SN_VAA_NAME
        return base + _REPLY_TO_HLS_SN_OFFSET

    def _hls_arguments(self, negotiated: _Negotiated) -> dict[str, Any]:
        return {
            "client_challenge": negotiated.client_challenge,
            "server_challenge": negotiated.server_challenge,
            "client_system_title": negotiated.aarq.calling_ap_title or b"",
            "server_system_title": self.settings.system_title or b"",
            "manufacturer_function": self.settings.manufacturer_function,
        }

    def _client_ecdsa_key(self, policy: Any, client_title: bytes | None) -> Any:
        """HLS-ECDSA: the client's public key from the policy's key store (by its system
        title, the AARQ calling-AP-title), or None when unknown or no longer valid."""
        security = policy.security
        if security is None or security.key_store is None:
            return None
        if not client_title or len(client_title) != 8:
            return None
        try:
            return security.key_store.public_key(
                client_title, security.suite, KeyUsage.DIGITAL_SIGNATURE
            )
        except CertificateError:
            return None

    def _ecdsa_arguments(self, negotiated: _Negotiated) -> dict[str, Any]:
        return {
            "client_system_title": negotiated.aarq.calling_ap_title or b"",
            "server_system_title": self.settings.system_title or b"",
            "server_challenge": negotiated.server_challenge,
            "client_challenge": negotiated.client_challenge,
        }

    def _check_pass3(self, reply: bytes) -> bool:
        negotiated = self._pending
        if negotiated is None:
            return False
        if negotiated.policy.mechanism == MechanismName.HIGH_ECDSA:
            security = negotiated.policy.security
            key = self._client_ecdsa_key(negotiated.policy, negotiated.aarq.calling_ap_title)
            if key is None or security is None:
                return False
            try:
                verify_ecdsa_client_pass3(
                    key, security.suite, reply, **self._ecdsa_arguments(negotiated)
                )
            except DlmsError:
                return False
            return True
        if negotiated.policy.mechanism == MechanismName.HIGH_GMAC:
            if negotiated.context is None:
                return False
            try:
                negotiated.context.verify_hls_gmac(reply, negotiated.server_challenge)
            except DlmsError:
                return False
            return True
        if negotiated.policy.secret is None:
            return False
        try:
            verify_client_pass3(
                negotiated.policy.mechanism,
                negotiated.policy.secret,
                reply,
                **self._hls_arguments(negotiated),
            )
        except AuthenticationError:
            return False
        return True

    def _send_pass4(self, request: Any) -> None:
        negotiated = self._pending
        assert negotiated is not None
        self._pending = None
        if negotiated.policy.mechanism == MechanismName.HIGH_GMAC:
            assert negotiated.context is not None
            value = negotiated.context.hls_gmac(negotiated.client_challenge)
        elif negotiated.policy.mechanism == MechanismName.HIGH_ECDSA:
            security = negotiated.policy.security
            assert security is not None and security.key_store is not None
            value = ecdsa_server_pass4(
                security.key_store.private_key(security.suite, KeyUsage.DIGITAL_SIGNATURE),
                security.suite,
                **self._ecdsa_arguments(negotiated),
            )
        else:
            assert negotiated.policy.secret is not None
            value = server_pass4(
                negotiated.policy.mechanism,
                negotiated.policy.secret,
                **self._hls_arguments(negotiated),
            )
        self._answer_hls(request, value, None)
        self._established()

    def _deny_pass3(self, request: Any) -> None:
        self.rejected_associations += 1
        self._answer_hls(request, None, DataAccessResult.READ_WRITE_DENIED)
        self._forget()
        self._events.append(
            AssociationReleased(AuthenticationError("HLS pass 3 failed: wrong client answer"))
        )

    def _answer_hls(
        self, request: Any, value: bytes | None, error: DataAccessResult | None
    ) -> None:
        if isinstance(request, ActionRequestNormal):
            if error is None:
                single = ActionResponseWithOptionalData(ActionResult.SUCCESS, Data.of(value))
            else:
                single = ActionResponseWithOptionalData(_access_to_action_result(error))
            self._send(ActionResponseNormal(single, request.invoke_id_and_priority).encode())
        elif isinstance(request, ReadRequest):
            result: ReadResult = Data.of(value) if error is None else error
            self._send(ReadResponse((result,)).encode())
        else:
            written: WriteResult = DataAccessResult.SUCCESS if error is None else error
            self._send(WriteResponse((written,)).encode())

    def _release(self, previous: AssociationState, request: Rlrq) -> None:
        self._send_plain(Rlre(ReleaseResponseReason.NORMAL).encode())
        if previous is not AssociationState.IDLE:
            self._forget()
            self._events.append(AssociationReleased(None))

    def _refuse_no_association(self, request: Any) -> None:
        if isinstance(request, UnconfirmedWriteRequest):
            return
        if isinstance(request, (ReadRequest, WriteRequest)):
            service = (
                ConfirmedService.READ
                if isinstance(request, ReadRequest)
                else ConfirmedService.WRITE
            )
            error = ConfirmedServiceError(
                service, ServiceErrorChoice.VDE_STATE_ERROR, ServiceErrorVdeState.NO_DLMS_CONTEXT
            )
            self._send_plain(error.encode())
            return
        self._send_exception(
            ExceptionStateError.SERVICE_NOT_ALLOWED, ExceptionServiceError.OPERATION_NOT_POSSIBLE
        )

    def _deny_pending(self, request: Any) -> None:
        """Before pass 3 every service is denied (read-write-denied in the service's answer)."""
        denied = DataAccessResult.READ_WRITE_DENIED
        iip = getattr(request, "invoke_id_and_priority", _DEFAULT_IIP)
        if isinstance(request, GetRequestWithList):
            answer = GetResponseWithList(
                tuple(denied for _ in request.attribute_descriptor_list), iip
            ).encode()
        elif isinstance(request, (GetRequestNormal, GetRequestNext)):
            answer = GetResponseNormal(denied, iip).encode()
        elif isinstance(request, SetRequestWithList):
            answer = SetResponseWithList(
                tuple(denied for _ in request.attribute_descriptor_list), iip
            ).encode()
        elif isinstance(
            request,
            (
                SetRequestNormal,
                SetRequestWithFirstDatablock,
                SetRequestWithDatablock,
                SetRequestWithListAndFirstDatablock,
            ),
        ):
            answer = SetResponseNormal(denied, iip).encode()
        elif isinstance(request, ActionRequestWithList):
            answer = ActionResponseWithList(
                tuple(
                    ActionResponseWithOptionalData(ActionResult.READ_WRITE_DENIED)
                    for _ in request.cosem_method_descriptor_list
                ),
                iip,
            ).encode()
        elif isinstance(request, (ReadRequest, WriteRequest)):
            count = len(request.variable_access_specification)
            if isinstance(request, UnconfirmedWriteRequest):
                return
            if isinstance(request, ReadRequest):
                answer = ReadResponse(tuple(denied for _ in range(count))).encode()
            else:
                answer = WriteResponse(tuple(denied for _ in range(count))).encode()
        else:
            single = ActionResponseWithOptionalData(ActionResult.READ_WRITE_DENIED)
            answer = ActionResponseNormal(single, iip).encode()
        self._send(answer)
