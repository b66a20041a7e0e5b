"""Association options as flat names, as fleet files, distributed jobs and the command line
spell them, turned into the keywords of :func:`asyncdlms.connect`.

:func:`asyncdlms.connect` takes the few keywords most meters need and the rest in settings
objects (:class:`~asyncdlms.aio.link_settings.LinkSettings`,
:class:`~asyncdlms.session.ClientSettings`, :class:`~asyncdlms.session.ClientSecurity`). Text
formats name every option flat (``physical_address = 17`` in a fleet file, ``--physical 17``
on the command line), and options from several sources merge name by name (a fleet file's
defaults, a meter's own values, the command line's). :func:`connect_keywords` folds the flat
names into those objects, once, just before connecting:

- into ``link`` (:class:`LinkSettings`, same names): ``physical_address``,
  ``hdlc_parameters``, ``response_timeout``, ``retries``, ``inactivity_timeout``, ``iec``;
- into ``settings`` (:class:`ClientSettings`): ``deviation_sign`` (a :class:`DeviationSign`
  or ``"standard"``/``"inverted"``), ``with_list_chunk_size``, ``pdu_size_margin``,
  ``max_receive_pdu_size`` (its ``client_max_receive_pdu_size``), ``referencing`` (``"ln"``
  or ``"sn"``, as :meth:`ClientSettings.for_referencing`);
- into ``security`` (:class:`ClientSecurity`): ``broadcast_key``, ``dedicated_key`` (its
  ``use_dedicated_key``), ``invocation_counter_store`` (its ``counter_store``),
  ``read_frame_counter``, ``frame_counter_instance``, ``public_client``,
  ``allow_repeated_counters``.

Every other name is a keyword of :func:`asyncdlms.connect` and passes through; a ``link``,
``settings`` or ``security`` object among them receives the flat values. The ciphering names
apply only when there is ciphering (a ``security`` policy or object, or keys): without it
there is nothing for them to change, and they are dropped.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from ..session.settings import ClientSecurity, ClientSettings
from ..types.clock import DeviationSign
from .connect import short_security
from .link_settings import LinkSettings

__all__ = ["LINK_OPTIONS", "SECURITY_OPTIONS", "SETTINGS_OPTIONS", "connect_keywords"]

LINK_OPTIONS: Mapping[str, str] = {
    name: name
    for name in (
        "physical_address",
        "hdlc_parameters",
        "response_timeout",
        "retries",
        "inactivity_timeout",
        "iec",
    )
}
"""Flat name -> :class:`LinkSettings` field."""

SETTINGS_OPTIONS: Mapping[str, str] = {
    "deviation_sign": "deviation_sign",
    "with_list_chunk_size": "with_list_chunk_size",
    "pdu_size_margin": "pdu_size_margin",
    "max_receive_pdu_size": "client_max_receive_pdu_size",
    "referencing": "logical_name_referencing",
}
"""Flat name -> :class:`ClientSettings` field."""

SECURITY_OPTIONS: Mapping[str, str] = {
    "broadcast_key": "broadcast_key",
    "dedicated_key": "use_dedicated_key",
    "invocation_counter_store": "counter_store",
    "read_frame_counter": "read_frame_counter",
    "frame_counter_instance": "frame_counter_instance",
    "public_client": "public_client",
    "allow_repeated_counters": "allow_repeated_counters",
}
"""Flat name -> :class:`ClientSecurity` field."""


def connect_keywords(options: Mapping[str, Any]) -> dict[str, Any]:
    """The keywords of :func:`asyncdlms.connect` for flat association ``options`` (see the
    module documentation); raises :class:`ValueError` for a value the objects refuse."""
    flat = (LINK_OPTIONS, SETTINGS_OPTIONS, SECURITY_OPTIONS)
    keywords = {name: value for name, value in options.items() if not any(name in f for f in flat)}
    link = {LINK_OPTIONS[name]: value for name, value in options.items() if name in LINK_OPTIONS}
    if link:
        keywords["link"] = dataclasses.replace(keywords.get("link") or LinkSettings(), **link)
    if any(name in SETTINGS_OPTIONS for name in options):
        keywords["settings"] = _settings(keywords.get("settings") or ClientSettings(), options)
    security = {
        SECURITY_OPTIONS[name]: value for name, value in options.items() if name in SECURITY_OPTIONS
    }
    if security:
        given = keywords.get("security")
        if isinstance(given, ClientSecurity):
            keywords["security"] = dataclasses.replace(given, **security)
        else:
            made = short_security(
                given,
                system_title=keywords.get("system_title"),
                block_cipher_key=keywords.get("block_cipher_key"),
                authentication_key=keywords.get("authentication_key"),
                **security,
            )
            if made is not None:
                for name in ("system_title", "block_cipher_key", "authentication_key"):
                    keywords.pop(name, None)
                keywords["security"] = made
    return keywords


def _settings(settings: ClientSettings, options: Mapping[str, Any]) -> ClientSettings:
    fields: dict[str, Any] = {
        SETTINGS_OPTIONS[name]: value
        for name, value in options.items()
        if name in SETTINGS_OPTIONS and name != "referencing"
    }
    sign = fields.get("deviation_sign")
    if isinstance(sign, str):
        try:
            fields["deviation_sign"] = DeviationSign[sign.upper()]
        except KeyError:
            raise ValueError(
                f"unknown deviation_sign {sign!r}: use 'standard' or 'inverted'"
            ) from None
    referencing = options.get("referencing")
    if referencing is not None:
        made = ClientSettings.for_referencing(str(referencing))
        fields["logical_name_referencing"] = made.logical_name_referencing
        if settings.proposed_conformance is None:
            fields["proposed_conformance"] = made.proposed_conformance
    return dataclasses.replace(settings, **fields)
