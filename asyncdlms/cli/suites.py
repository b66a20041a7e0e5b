"""Command-line options of security suites 1 and 2 and HLS-ECDSA (``--suite``,
``--signing-key``, ``--server-certificate``, ``--ca-certificate``), shared by every command
that associates with a meter (:func:`asyncdlms.cli.meter.add_association_options`)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from ..errors import CertificateError
from ..security.certificates import KeyStore, load_certificate, load_private_key, suite_of_key
from ..security.suites import SecuritySuiteId
from ..session.settings import ClientSecurity

__all__ = ["add_suite_options", "suite_security"]

SIGNING_KEY_PASSWORD_VARIABLE = "ASYNCDLMS_SIGNING_KEY_PASSWORD"


def add_suite_options(add: Any, default: Any) -> None:
    """Add the options with ``add`` (an argument group's ``add_argument``); ``default`` as
    in :func:`~asyncdlms.cli.meter.add_association_options`."""
    add("--suite", type=int, choices=(0, 1, 2), default=default("ASYNCDLMS_SUITE", 0, int),
        help="security suite: 0 (AES-GCM-128, default), 1 (P-256, AES-GCM-128) or 2 (P-384, "
             "AES-GCM-256, 64-hex-digit keys); env ASYNCDLMS_SUITE")  # fmt: skip
    add("--signing-key", metavar="PEM",
        help="our ECDSA private key (PEM or DER file) for --auth ecdsa; encrypted files take "
             f"their password from env {SIGNING_KEY_PASSWORD_VARIABLE}")  # fmt: skip
    add("--server-certificate", metavar="PEM", action="append", default=[],
        help="the meter's certificate (PEM or DER file; subject CN = its system title), for "
             "--auth ecdsa (repeatable)")  # fmt: skip
    add(
        "--ca-certificate",
        metavar="PEM",
        action="append",
        default=[],
        help="a CA certificate the meter certificates must be signed by (repeatable)",
    )


def _read(path: str, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise ValueError(f"cannot read the {what} {path!r}: {exc.strerror}") from None


def suite_security(args: argparse.Namespace) -> ClientSecurity | None:
    """The :class:`ClientSecurity` the suite options describe, or None when they are not
    used (suite 0 and no signing key: the plain ciphering keywords apply)."""
    suite = getattr(args, "suite", None) or 0
    if not suite and not getattr(args, "signing_key", None):
        return None
    if args.system_title is None:
        raise ValueError("--suite 1/2 and --signing-key need --system-title (ours)")
    store = KeyStore()
    signing_key = None
    try:
        for path in args.ca_certificate:
            store.add_authority(load_certificate(_read(path, "CA certificate")))
        if args.signing_key:
            password = os.environ.get(SIGNING_KEY_PASSWORD_VARIABLE)
            signing_key = load_private_key(
                _read(args.signing_key, "signing key"),
                None if password is None else password.encode(),
            )
            store.set_private_key(signing_key)
            suite = suite or suite_of_key(signing_key)
        for path in args.server_certificate:
            store.add_certificate(_read(path, "server certificate"), suite=suite or None)
    except CertificateError as exc:
        raise ValueError(str(exc)) from None
    security = args.security if args.security != "none" else None
    return ClientSecurity(
        args.system_title,
        args.block_cipher_key,  # hex: ClientSecurity parses it
        args.auth_key,
        security,
        suite=SecuritySuiteId(suite),
        key_store=store,
        use_dedicated_key=bool(args.dedicated_key),
        read_frame_counter=args.read_frame_counter is not None,
        frame_counter_instance=args.read_frame_counter or 0,
        allow_repeated_counters=bool(args.allow_repeated_counters),
    )
