"""Security: HLS authentication now; ciphering (security suites 0..2), GMAC and ECDSA later.

Everything here is pure computation (no IO, no global state): the session layer feeds it the
challenges, system titles and secrets of one association.
"""

from __future__ import annotations

from .hls import (
    MAX_CHALLENGE_LENGTH,
    MIN_CHALLENGE_LENGTH,
    STANDARD_FUNCTIONS,
    HlsFunction,
    HlsInput,
    Secret,
    client_pass3,
    generate_challenge,
    hls_function,
    server_pass4,
    verify_client_pass3,
    verify_server_pass4,
)

__all__ = [
    "MAX_CHALLENGE_LENGTH",
    "MIN_CHALLENGE_LENGTH",
    "STANDARD_FUNCTIONS",
    "HlsFunction",
    "HlsInput",
    "Secret",
    "client_pass3",
    "generate_challenge",
    "hls_function",
    "server_pass4",
    "verify_client_pass3",
    "verify_server_pass4",
]
