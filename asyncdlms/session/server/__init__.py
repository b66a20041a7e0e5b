"""The server role of the application layer: one association, sans-IO.

A :class:`ServerSession` sits on a server-role link (:class:`asyncdlms.hdlc.HdlcConnection`
with ``Role.SERVER`` or :class:`asyncdlms.wrapper.WrapperConnection` with ``role="server"``)
and answers what a client sends through it:

- the AARQ, validated against the :class:`AssociationPolicy` of the client SAP it came from
  (application context, authentication mechanism, LLS password, HLS challenges, the xDLMS
  InitiateRequest) and answered by an AARE that accepts or rejects it;
- HLS pass 3 (``reply_to_HLS_authentication``, Association LN method 1 or Association SN
  method 8), checked, answered with pass 4;
- GET/SET/ACTION in every variant and SN Read/Write/UnconfirmedWrite, answered through an
  :class:`~.object_access.ObjectAccess`; long answers go out with-datablock/with-pblock;
- ACCESS (when the policy offers conformance bit 17): its GET/SET/ACTION operations carried
  out in order through the same object access, honouring break-on-error;
- RLRQ, answered with RLRE.

With ciphering (``AssociationPolicy.security``, a :class:`ServerSecurity`) each association
gets a fresh :class:`~asyncdlms.security.ciphering.SecurityContext`: the AARQ's
calling-AP-title is the peer system title, the glo-initiate is deciphered (its dedicated
key installed), answers go ciphered in the form the request came in; a plain or undecipherable
request is answered with exception-response deciphering-error. A reused or lower invocation
counter is refused as real meters do: an AARQ carrying one is rejected, any other APDU is
dropped unanswered; ``ServerSecurity.invocation_counter_hint`` instead answers
invocation-counter-error with the counter expected (also in place of the AARE), as some meters
do (quirk 3). HLS-GMAC pass 3 is checked and pass 4 made through the context.

Bytes in through :meth:`ServerSession.receive_data`, bytes out through
:meth:`~ServerSession.data_to_send`, what happened out of :meth:`~ServerSession.events`;
time is passed in (``now``), never read. No input makes it raise: malformed APDUs are
answered with an exception-response and counted.

The association states and what each input does form one table, :data:`TRANSITIONS`::

    (state, input) -> (action, next state)
"""

from ._state import (
    TRANSITIONS,
    AssociationAction,
    AssociationInput,
    AssociationState,
    Transition,
)
from .session import ServerSession
from .settings import (
    ASSOCIATION_LN,
    DEFAULT_SERVER_CONFORMANCE,
    AssociationPolicy,
    ServerSecurity,
    ServerSettings,
)

__all__ = [
    "ASSOCIATION_LN",
    "DEFAULT_SERVER_CONFORMANCE",
    "TRANSITIONS",
    "AssociationAction",
    "AssociationInput",
    "AssociationPolicy",
    "AssociationState",
    "ServerSecurity",
    "ServerSession",
    "ServerSettings",
    "Transition",
]
