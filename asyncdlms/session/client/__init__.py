"""The client role of one DLMS/COSEM association, sans-IO: :class:`ClientSession`.

A :class:`ClientSession` composes a :class:`~asyncdlms.link.Link` (HDLC or wrapper) the way
wsproto composes its layers: bytes go in through :meth:`ClientSession.receive_data` and out
through :meth:`ClientSession.data_to_send` / :meth:`ClientSession.datagrams_to_send`, time is
passed in as ``now``, and what happened comes out of :meth:`ClientSession.events` as
:mod:`asyncdlms.session.events` values. Nothing here opens a socket or sleeps.

The APDU pipeline (ARCHITECTURE.md):

- outgoing: encode → ``protection.protect`` → General Block Transfer (when in use) →
  ``link.send_apdu``;
- incoming: link APDU → GBT reassembly → ``protection.unprotect`` → decode → service logic.
  ACSE PDUs (AARE, RLRE) skip the protection step: their user-information is what is
  protected.

Ciphering (``ClientSettings.security``, a :class:`~asyncdlms.session.settings.ClientSecurity`)
gives each association a fresh :class:`~asyncdlms.security.ciphering.SecurityContext`: the
AARQ names the ciphered application context, carries our system title and a glo-initiate
(with a dedicated key when asked); the AARE's responding-AP-title becomes the peer system
title; HLS-GMAC pass 3/4 go through the context; after association the ded- forms are used
when a dedicated key was agreed. An invocation-counter-error exception-response carrying the
counter the meter expects (quirk 3) advances our counter to it and sends the AARQ or the
request again, once.

The association follows one table, :data:`ASSOCIATION_TRANSITIONS`:
``(state, input) -> (action, next state)``. Requests are served one at a time (a DLMS
association is one request at a time); later ones wait in order. Each request is a small
generator that yields the APDUs it sends and receives the answers: block transfer, with-list
chunks and their fall-back to single requests read as straight-line code.
"""

from ._core import ASSOCIATION_LN, ASSOCIATION_SN_BASE_NAME, NegotiatedParameters
from ._state import ASSOCIATION_TRANSITIONS, AssociationInput, AssociationState
from .session import ClientSession

__all__ = [
    "ASSOCIATION_LN",
    "ASSOCIATION_SN_BASE_NAME",
    "ASSOCIATION_TRANSITIONS",
    "AssociationInput",
    "AssociationState",
    "ClientSession",
    "NegotiatedParameters",
]
