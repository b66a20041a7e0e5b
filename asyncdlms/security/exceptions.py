"""Errors of security suite 0 ciphering and invocation counters (defined in
:mod:`asyncdlms.errors` with all the others; re-exported here)."""

from __future__ import annotations

from ..errors import (
    AuthenticationTagError,
    DecipheringError,
    InvocationCounterExhaustedError,
    InvocationCounterStoreError,
    ReplayError,
    SecurityPolicyError,
)

__all__ = [
    "AuthenticationTagError",
    "DecipheringError",
    "InvocationCounterExhaustedError",
    "InvocationCounterStoreError",
    "ReplayError",
    "SecurityPolicyError",
]
