"""Association establishment in the client role: the link, the AARQ, HLS pass 3/4, the
AARE's answer, release (RLRQ/RLRE) and the link going down — the actions of the table of
:mod:`._state`."""

from __future__ import annotations

from typing import Any

from ...apdu.acse import (
    Aarq,
    ApplicationContextName,
    MechanismName,
    Rlre,
    Rlrq,
    decode_association_response,
)
from ...apdu.descriptors import (
    CosemMethodDescriptor,
    Data,
)
from ...apdu.initiate import Conformance, InitiateRequest, InitiateResponse
from ...apdu.service_error import ConfirmedServiceError
from ...apdu.short_name import (
    ParameterizedAccess,
    method_short_name,
)
from ...apdu.tags import ApduTag
from ...errors import (
    AssociationError,
    AuthenticationError,
    CertificateError,
    DecodeError,
    DlmsError,
)
from ...security.certificates import KeyUsage
from ...security.ciphering import CipheringForm, generate_dedicated_key, suite_key_length
from ...security.hls import (
    Secret,
    client_pass3,
    ecdsa_client_pass3,
    generate_challenge,
    verify_ecdsa_server_pass4,
    verify_server_pass4,
)
from ...types.values import OctetString
from ..events import (
    AssociationEstablished,
    RequestFailed,
)
from ..gbt import GeneralBlockTransferChannel
from ..pipeline import is_ciphered
from ._core import (
    ASSOCIATION_LN,
    ASSOCIATION_SN_BASE_NAME,
    NegotiatedParameters,
    _Request,
    _SessionCore,
    _Transaction,
)
from ._state import AssociationInput, AssociationState


class _AssociationService(_SessionCore):
    """The association: the actions of the table, AARE and RLRE, HLS pass 3/4."""

    def _do_nothing(self, error: DlmsError | None) -> None:
        pass

    def _do_connect_link(self, error: DlmsError | None) -> None:
        self._released_reported = False
        self._release_wanted = False
        self.negotiated = None
        if self._associations:
            self._new_protection()  # fresh for a new association
        self._aarq_retried = False
        self._associations += 1
        self._gbt = GeneralBlockTransferChannel(
            self.settings.gbt_window_size, self.settings.max_response_length
        )
        self.link.connect(self._now)
        self._pump()

    def _do_send_aarq(self, error: DlmsError | None) -> None:
        settings = self.settings
        mechanism = settings.mechanism
        value: bytes | None = None
        if mechanism == MechanismName.LOW:
            assert settings.secret is not None
            value = settings.secret.value
        elif mechanism.high_level:
            self._client_challenge = generate_challenge(settings.challenge_length, settings.random)
            value = self._client_challenge
        dedicated_key: Secret | None = None
        security = settings.security
        if security is not None and security.ciphered and security.use_dedicated_key:
            dedicated_key = generate_dedicated_key(
                settings.random, suite_key_length(security.suite)
            )
        self._dedicated_key = dedicated_key
        initiate = InitiateRequest(
            settings.conformance,
            settings.client_max_receive_pdu_size,
            settings.dlms_version,
            dedicated_key=None if dedicated_key is None else dedicated_key.value,
        )
        try:
            user_information = self._protection.protect(initiate.encode())
        except DlmsError as exc:  # e.g. the invocation counters are exhausted
            self._handle(AssociationInput.AARE_REJECTED, exc)
            return
        calling_ap_title = settings.calling_ap_title
        if calling_ap_title is None and self._context is not None:
            calling_ap_title = self._context.system_title
        aarq = Aarq(
            application_context_name=self._context_name(),
            user_information=user_information,
            sender_acse_requirements=mechanism != MechanismName.LOWEST,
            mechanism_name=None if mechanism == MechanismName.LOWEST else mechanism,
            calling_authentication_value=value,
            calling_ap_title=calling_ap_title,
        )
        self._send_plain(aarq.encode())

    def _do_establish(self, error: DlmsError | None) -> None:
        negotiated = self.negotiated
        assert negotiated is not None
        if self._context is not None and self._dedicated_key is not None:
            self._context.use_form(CipheringForm.DEDICATED)
        self._events.append(
            AssociationEstablished(
                negotiated_conformance=negotiated.conformance,
                max_pdu_size_tx=negotiated.max_pdu_size_tx,
                max_pdu_size_rx=negotiated.max_pdu_size_rx,
                dlms_version=negotiated.dlms_version,
                logical_name_referencing=self.settings.logical_name_referencing,
                mechanism=self.settings.mechanism,
            )
        )
        self._start_next()

    def _do_send_pass3(self, error: DlmsError | None) -> None:
        request = _Request(0, self._pass3_transaction(), internal=True)
        self._in_flight = request
        self._advance(request, None)

    def _do_fail_association(self, error: DlmsError | None) -> None:
        failure = error if error is not None else AssociationError("association failed")
        self._report_released(failure)
        self._fail_all(failure)
        self.link.disconnect(self._now)
        self._pump()

    def _do_abandon(self, error: DlmsError | None) -> None:
        failure = AssociationError("the association was released before it was established")
        self._report_released(None)
        self._fail_all(failure)
        self.link.disconnect(self._now)
        self._pump()

    def _do_send_rlrq(self, error: DlmsError | None) -> None:
        self._release_deadline = self._now + self.settings.release_timeout
        self._forget_dedicated_key()
        self._send_plain(Rlrq().encode())

    def _forget_dedicated_key(self) -> None:
        """The dedicated key lives for one association only."""
        self._dedicated_key = None
        if self._context is not None and self._context.has_dedicated_key:
            self._context.set_dedicated_key(None)
            self._context.use_form(CipheringForm.GLOBAL)

    def _do_disconnect_link(self, error: DlmsError | None) -> None:
        self._release_deadline = None
        self.link.disconnect(self._now)
        self._pump()

    def _do_closed(self, error: DlmsError | None) -> None:
        self._release_deadline = None
        self._report_released(error)
        self._fail_all(error or AssociationError("the association was released"))

    def _do_link_lost(self, error: DlmsError | None) -> None:
        failure = error if error is not None else AssociationError("the link was closed")
        self._release_deadline = None
        self._fail_all(failure)
        self._report_released(failure)

    def _context_name(self) -> ApplicationContextName:
        ciphered = is_ciphered(self._protection)
        if self.settings.logical_name_referencing:
            if ciphered:
                return ApplicationContextName.LOGICAL_NAME_WITH_CIPHERING
            return ApplicationContextName.LOGICAL_NAME
        if ciphered:
            return ApplicationContextName.SHORT_NAME_WITH_CIPHERING
        return ApplicationContextName.SHORT_NAME

    def associate(self, now: float) -> None:
        """Connect the link, then send the AARQ as soon as the link is up (then HLS pass 3
        when the mechanism needs it). :class:`AssociationEstablished` says when it is done,
        :class:`AssociationReleased` with an error when it failed."""
        self._now = now
        self._handle(AssociationInput.ASSOCIATE)

    def release(self, now: float) -> None:
        """Release the association: RLRQ (after the request in flight, if any; queued
        requests fail), then disconnect the link. A meter that does not answer the RLRQ
        within ``release_timeout`` or answers it with an error (quirk 16) is disconnected
        anyway."""
        self._now = now
        if self.state is AssociationState.ASSOCIATED:
            self._release_wanted = True
            error = AssociationError("the association was released before the request was sent")
            while self._queue:
                queued = self._queue.pop(0)
                queued.transaction.close()
                self._events.append(RequestFailed(queued.request_id, error))
            if self._in_flight is None:
                self._handle(AssociationInput.RELEASE)
            return
        self._handle(AssociationInput.RELEASE)

    @property
    def associated(self) -> bool:
        """True while requests can be served."""
        return self.state is AssociationState.ASSOCIATED

    def _on_association_response(self, apdu: bytes) -> None:
        expected = self._expected_counter(apdu)
        if expected is not None and not self._aarq_retried and self._context is not None:
            # quirk 3: the meter wants a higher counter; continue from it and ask again, once
            self._aarq_retried = True
            self.invocation_counter_retries += 1
            self._context.advance_invocation_counter(expected)
            self._do_send_aarq(None)
            return
        try:
            aare = decode_association_response(apdu)
            self._server_system_title = aare.responding_ap_title
            if self._context is not None and aare.responding_ap_title:
                try:
                    self._context.peer_system_title = aare.responding_ap_title
                except DlmsError as exc:
                    raise AssociationError(
                        f"the AARE responding-AP-title is no system title: {exc}"
                    ) from exc
            if aare.user_information is None:
                raise AssociationError(
                    "the AARE accepts the association but has no InitiateResponse"
                )
            information = self._protection.unprotect(aare.user_information)
            if information and information[0] == ApduTag.CONFIRMED_SERVICE_ERROR:
                raise AssociationError(
                    f"the meter refused the InitiateRequest: "
                    f"{ConfirmedServiceError.decode(information).describe()}"
                )
            initiate = InitiateResponse.decode(information)
            if self._context is not None and self._dedicated_key is not None:
                self._context.set_dedicated_key(self._dedicated_key)
        except AssociationError as exc:
            self._handle(AssociationInput.AARE_REJECTED, exc)
            return
        except DecodeError as exc:
            failure = AssociationError(f"the answer to the AARQ cannot be read: {exc}")
            failure.__cause__ = exc
            self._handle(AssociationInput.AARE_REJECTED, failure)
            return
        except DlmsError as exc:  # the protection step's own errors keep their type
            self._handle(AssociationInput.AARE_REJECTED, exc)
            return
        conformance = initiate.negotiated_conformance
        self.negotiated = NegotiatedParameters(
            conformance=conformance,
            max_pdu_size_tx=initiate.server_max_receive_pdu_size,
            max_pdu_size_rx=self.settings.client_max_receive_pdu_size,
            dlms_version=initiate.negotiated_dlms_version_number,
            vaa_name=initiate.vaa_name,
            server_system_title=aare.responding_ap_title,
        )
        self._gbt.enabled = bool(
            self.settings.use_general_block_transfer
            and conformance & Conformance.GENERAL_BLOCK_TRANSFER
        )
        if self.settings.mechanism.high_level and aare.hls_pending:
            self._server_challenge = aare.responding_authentication_value or b""
            self._handle(AssociationInput.AARE_HLS)
        elif self.settings.mechanism.high_level and self.settings.mechanism != MechanismName.HIGH:
            self._handle(
                AssociationInput.AARE_REJECTED,
                AuthenticationError(
                    "the meter accepted an HLS association without a challenge "
                    "(responding-authentication-value): HLS pass 3/4 cannot be done"
                ),
            )
        else:
            self._handle(AssociationInput.AARE_ACCEPTED)

    def _on_release_response(self, apdu: bytes) -> None:
        if apdu and apdu[0] == ApduTag.RLRE:
            try:
                Rlre.decode(apdu)
            except DecodeError:
                self.dropped_apdus += 1
        self._handle(AssociationInput.RLRE)

    def _pass3_transaction(self) -> _Transaction:
        settings = self.settings
        if settings.mechanism == MechanismName.HIGH_GMAC:
            return (yield from self._gmac_pass3_transaction())
        if settings.mechanism == MechanismName.HIGH_ECDSA:
            return (yield from self._ecdsa_pass3_transaction())
        secret = settings.secret if settings.secret is not None else Secret(b"")
        client_title = settings.calling_ap_title or b""
        server_title = self._server_system_title or b""
        reply = client_pass3(
            settings.mechanism,
            secret,
            server_challenge=self._server_challenge,
            client_challenge=self._client_challenge,
            client_system_title=client_title,
            server_system_title=server_title,
            manufacturer_function=settings.manufacturer_hls_function,
        )
        answer = yield from self._reply_to_hls(reply)
        verify_server_pass4(
            settings.mechanism,
            secret,
            answer,
            client_challenge=self._client_challenge,
            server_challenge=self._server_challenge,
            client_system_title=client_title,
            server_system_title=server_title,
            manufacturer_function=settings.manufacturer_hls_function,
        )
        return None

    def _reply_to_hls(self, reply: bytes) -> _Transaction:
        """reply_to_HLS_authentication with ``reply``; returns the octet-string answer."""
        if self.settings.logical_name_referencing:
            method = CosemMethodDescriptor(15, ASSOCIATION_LN, 1)
            answer = yield from self._action_transaction(method, OctetString(reply))
        else:
            name = method_short_name(ASSOCIATION_SN_BASE_NAME, 12, 8)
            answer = yield from self._read_transaction(
                ParameterizedAccess(name, 0, Data.of(OctetString(reply)))
            )
        if not isinstance(answer, bytes):
            raise AuthenticationError(
                "HLS pass 4: the meter answered reply_to_HLS_authentication without an octet-string"
            )
        return bytes(answer)

    def _gmac_pass3_transaction(self) -> _Transaction:
        """HLS-GMAC (mechanism 5): pass 3 is ``SC ‖ IC ‖ GMAC(StoC)`` with our system title
        and the next counter (n; the ciphered ACTION carrying it gets n + 1, as gurux-dlms
        does), pass 4 the meter's GMAC over CtoS with its system title."""
        context = self._context
        if context is None:  # ClientSettings refuses this; a custom protection may not
            raise AuthenticationError(
                "HLS-GMAC needs the ciphering keys: give ClientSettings(security="
                "ClientSecurity(...)) or a SecurityContext as protection"
            )
        if context.peer_system_title is None:
            raise AuthenticationError(
                "HLS-GMAC: the AARE has no responding-AP-title (the meter's system title)"
            )
        reply = context.hls_gmac(self._server_challenge)
        answer = yield from self._reply_to_hls(reply)
        context.verify_hls_gmac(answer, self._client_challenge)
        return None

    def _ecdsa_pass3_transaction(self) -> _Transaction:
        """HLS-ECDSA (mechanism 7, suites 1 and 2): pass 3 is our signature over
        ``SysT-C || SysT-S || StoC || CtoS``, pass 4 the meter's over ``SysT-S || SysT-C ||
        CtoS || StoC``, verified with the key the store holds for the meter's system title
        (AARE responding-AP-title). The meter's key is looked up before pass 3 is sent, so
        an unknown meter gets no signature of ours."""
        security = self.settings.security
        if security is None:  # ClientSettings refuses this
            raise AuthenticationError("HLS-ECDSA needs ClientSettings(security=...)")
        client_title = self.settings.calling_ap_title or b""
        server_title = self._server_system_title or b""
        if len(server_title) != 8:
            raise AuthenticationError(
                "HLS-ECDSA: the AARE has no responding-AP-title (the meter's system title): "
                "its certificate cannot be chosen"
            )
        try:
            store = security.signing_key_store()
            server_key = store.public_key(server_title, security.suite, KeyUsage.DIGITAL_SIGNATURE)
            signing_key = store.private_key(security.suite, KeyUsage.DIGITAL_SIGNATURE)
        except (CertificateError, ValueError) as exc:
            raise AuthenticationError(f"HLS-ECDSA: {exc}") from exc
        arguments = {
            "client_system_title": client_title,
            "server_system_title": server_title,
            "server_challenge": self._server_challenge,
            "client_challenge": self._client_challenge,
        }
        reply = ecdsa_client_pass3(signing_key, security.suite, **arguments)
        answer = yield from self._reply_to_hls(reply)
        verify_ecdsa_server_pass4(server_key, security.suite, answer, **arguments)
        return None

    def _on_pass3_done(self, result: Any, error: DlmsError | None) -> None:
        if error is None:
            self._handle(AssociationInput.PASS4_VERIFIED)
            return
        if not isinstance(error, AuthenticationError):
            error = AuthenticationError(f"HLS pass 3 was refused: {error}")
        self._handle(AssociationInput.PASS4_FAILED, error)
