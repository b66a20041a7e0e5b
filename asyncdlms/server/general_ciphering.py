"""Simulated meters whose associations go in general-ciphering under keys agreed by ECDH
(:class:`~asyncdlms.security.ciphering_protection.GeneralCipheringProtection`), each meter
with its own key pairs from :class:`~.security_setup.SimulatedSecurity`.

>>> # keys = SimulatedSecurity(1, client_public_keys={title: signing_public},
>>> #                          client_key_agreement_keys={title: agreement_public})
>>> # Simulator(associations={16: general_ciphering_policy()}, security_keys=keys,
>>> #           settings_factory=general_ciphering(keys, key_agreement="static-unified"))

Every association whose policy has an application context *with ciphering* and no
:class:`~asyncdlms.session.server.ServerSecurity` (:func:`general_ciphering_policy`) ciphers
every APDU under a key agreed between the meter's key pairs (its current ones in its Security
setup) and the client's public keys the meter knows for the calling-AP-title (certificates or
bare keys of ``SimulatedSecurity``); the other associations keep their protection.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from ..apdu.acse import Aarq, ApplicationContextName
from ..security.certificates import KeyStore, KeyUsage
from ..security.ciphering import SecurityPolicy
from ..security.ciphering_protection import GeneralCipheringProtection, KeyAgreementName
from ..security.counters import MemoryInvocationCounterStore
from ..security.general import PublicKeyLookup
from ..security.suites import SecuritySuiteId
from ..session.pipeline import ApduProtection, NoProtection
from ..session.server import AssociationPolicy, ServerSettings
from ..session.server.settings import _no_protection
from .security_setup import SimulatedSecurity

__all__ = ["general_ciphering", "general_ciphering_policy"]

SettingsFactory = Callable[[int, ServerSettings], ServerSettings]


def general_ciphering_policy(
    application_context_name: ApplicationContextName = (
        ApplicationContextName.LOGICAL_NAME_WITH_CIPHERING
    ),
) -> AssociationPolicy:
    """An association (lowest-level authentication) for general-ciphering: an application
    context with ciphering and no suite 0 keys."""
    if not application_context_name.ciphered:
        raise ValueError("general-ciphering needs an application context with ciphering")
    return AssociationPolicy(application_context_name=application_context_name)


def _lookup(store: KeyStore, suite: SecuritySuiteId, usage: KeyUsage) -> PublicKeyLookup:
    return lambda title: store.public_key(title, suite, usage)


def general_ciphering(
    keys: SimulatedSecurity,
    *,
    key_agreement: KeyAgreementName = "ephemeral-static",
    policy: SecurityPolicy = SecurityPolicy.AUTHENTICATED_ENCRYPTION,
) -> SettingsFactory:
    """A ``settings_factory`` for :class:`~asyncdlms.server.Simulator` (give the simulator
    ``security_keys=keys`` too): see the module documentation. Each meter keeps its own
    invocation counters (what it sent, what it accepted) for the simulator's life."""
    counters: dict[int, MemoryInvocationCounterStore] = {}
    suite = keys.suite

    def settings_factory(index: int, settings: ServerSettings) -> ServerSettings:
        title = settings.system_title
        if title is None:
            return settings
        store = keys.meter(index, title).store
        counter_store = counters.setdefault(index, MemoryInvocationCounterStore())
        previous = settings.protection_factory

        def protection(association: AssociationPolicy, aarq: Aarq) -> ApduProtection:
            if association.security is None and association.application_context_name.ciphered:
                calling = aarq.calling_ap_title
                return GeneralCipheringProtection(
                    system_title=title,
                    key_agreement_key=store.private_key(suite, KeyUsage.KEY_AGREEMENT),
                    peer_key_agreement_key=_lookup(store, suite, KeyUsage.KEY_AGREEMENT),
                    signing_key=store.private_key(suite, KeyUsage.DIGITAL_SIGNATURE),
                    peer_signing_key=_lookup(store, suite, KeyUsage.DIGITAL_SIGNATURE),
                    peer_system_title=calling if calling and len(calling) == 8 else None,
                    suite=suite,
                    key_agreement=key_agreement,
                    policy=policy,
                    counter_store=counter_store,
                )
            if previous is not _no_protection:
                return previous(association, aarq)
            if association.security is not None:
                return association.security.make_context(title)
            return NoProtection()

        return replace(settings, protection_factory=protection)

    return settings_factory
