"""The application layer of one association, sans-IO, in the client and the server role.

- :class:`ClientSession` with :class:`ClientSettings`: association (ACSE, all authentication
  mechanisms), GET/SET/ACTION in every variant with block transfer and GBT, SN services,
  request queueing, cancellation, notifications;
- :class:`ServerSession` with :class:`ServerSettings` and per-client :class:`AssociationPolicy`:
  the same in the server role, answering through an :class:`ObjectAccess`
  (:class:`ObjectTable` is a ready one);
- :mod:`~asyncdlms.session.events`: what both emit; :mod:`~asyncdlms.session.pipeline`: the
  protection step where ciphering slots in.
"""

from __future__ import annotations

from .client import ClientSession, NegotiatedParameters
from .events import (
    AssociationEstablished,
    AssociationReleased,
    NotificationReceived,
    RequestCompleted,
    RequestFailed,
    SessionEvent,
)
from .gbt import GeneralBlockTransferChannel
from .object_access import (
    AssociationContext,
    Attribute,
    AttributeAccess,
    Method,
    ObjectAccess,
    ObjectTable,
)
from .pipeline import ApduProtection, NoProtection
from .server import AssociationPolicy, ServerSession, ServerSettings
from .settings import ClientSecurity, ClientSettings

__all__ = [
    "ApduProtection",
    "AssociationContext",
    "AssociationEstablished",
    "AssociationPolicy",
    "AssociationReleased",
    "Attribute",
    "AttributeAccess",
    "ClientSecurity",
    "ClientSession",
    "ClientSettings",
    "GeneralBlockTransferChannel",
    "Method",
    "NegotiatedParameters",
    "NoProtection",
    "NotificationReceived",
    "ObjectAccess",
    "ObjectTable",
    "RequestCompleted",
    "RequestFailed",
    "ServerSession",
    "ServerSettings",
    "SessionEvent",
]
