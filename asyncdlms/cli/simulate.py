"""``asyncdlms simulate``: serve N virtual meters from this process until interrupted.

::

    asyncdlms simulate --meters 100 --port 4059                 # ports 4059..4158, wrapper
    asyncdlms simulate --meters 1000 --port 4059 --shared-port  # one port, wPort 1..1000
    asyncdlms simulate --meters 50 --port 4059 --interface hdlc --shared-port
                                            # one port, HDLC physical address 16..65
    asyncdlms simulate --interface hdlc --serial /dev/ttyUSB0 --serial-baud 9600
    asyncdlms simulate --auth sha1 --secret Gurux1234567890! --latency 0.2 --jitter 0.1
    asyncdlms simulate --image-block-size 400 --verification-time 5   # firmware upgrades

Associations: client 16 public (no authentication), 17 LLS (``--password``), and the
management client ``--client`` (18) with ``--auth`` (HLS MD5 by default) and ``--secret``;
``--security`` with ``--block-cipher-key`` and ``--auth-key`` ciphers it (HLS-GMAC needs the
keys; ``--authentication-key`` is the old spelling of ``--auth-key``). ``--system-title`` is
the meters' own (meter i: + i), which HLS-SHA256 hashes together with the client's
calling-AP-title, whatever the client's is::

    asyncdlms simulate --auth sha256 --secret S --system-title 4D4D4D0000BC614E
    asyncdlms read tcp://127.0.0.1:4059 3/1.0.1.8.0.255/2 --client 18 --auth sha256
                   --password S --system-title 4D4D4D0000000001    (one line)

Security suites 1 and 2 (``--suite``): the management client's keys are 32 hex digits in
suite 1, 64 in suite 2 (AES-GCM-256); ``--auth gmac`` and ``--auth ecdsa`` work in both. Each
meter has its own signing and key agreement keys and certificates derived from
``--security-seed`` (the same seed: the same keys), issued by the simulator's CA;
``--export-certificates DIR`` writes ``ca.pem``, ``meter-I.pem`` (signing certificate of meter
I) and ``push-keys.toml`` (for ``asyncdlms listen --keys``); ``--client-certificate`` is a
certificate of a client (CN = its system title) the meters trust for HLS-ECDSA;
``--sign-pushes`` signs every push (general-signing) with the meter's key;
``--push-destination`` is where the push setup sends (``host:port``)::

    asyncdlms simulate --suite 2 --auth ecdsa --client-certificate ours.pem \
                       --export-certificates certs
    asyncdlms read tcp://127.0.0.1:4059 1/0.0.42.0.0.255/2 --client 18 --auth ecdsa \
        --suite 2 --signing-key ours-key.pem --server-certificate certs/meter-0.pem \
        --ca-certificate certs/ca.pem --system-title 4153590000000001
    asyncdlms simulate --suite 1 --auth gmac --security ae --block-cipher-key 00..0F \
                       --auth-key D0..DF --sign-pushes --push-destination 127.0.0.1:4060 \
                       --export-certificates certs
    asyncdlms listen tcp://127.0.0.1:4060 --keys certs/push-keys.toml --require-signature

The options are spelt as the client's (``read``, ``poll``...) where they mean the same
thing; ``--password`` is client 17's LLS password and ``--secret`` the management client's.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization

from ..aio.client import AUTHENTICATION_NAMES
from ..aio.loop import run as run_loop
from ..apdu.acse import MechanismName
from ..errors import CertificateError
from ..hdlc import HdlcParameters
from ..iec62056_21 import IecResponderSettings
from ..security.certificates import load_certificate
from ..security.hls import Secret
from ..server import DEFAULT_HLS_SECRET, DEFAULT_PASSWORD, Faults, ServerLimits, Simulator
from ..server.security_setup import SimulatedSecurity
from ..server.simulator import ImageTransferSettings, short_name_associations
from ..session.server import AssociationPolicy

__all__ = [
    "add_simulate_command",
    "associations_from_arguments",
    "export_certificates",
    "limits_from_arguments",
    "security_keys_from_arguments",
    "simulated_associations",
    "simulator_from_arguments",
]

_SECURITY_NAMES = ("none", "auth", "enc", "ae")


def add_simulate_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``simulate`` to the command line."""
    parser = commands.add_parser(
        "simulate",
        help="serve N virtual meters (a meter simulator)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add = parser.add_argument
    add("--meters", type=int, default=1, help="number of meters (default 1)")
    add("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    add("--port", type=int, default=4059, help="first port; 0: chosen by the OS (default 4059)")
    add(
        "--shared-port",
        action="store_true",
        help="all meters on --port, selected by wPort 1+i or HDLC physical address 16+i",
    )
    add("--interface", choices=("wrapper", "hdlc"), default="wrapper")
    add(
        "--serial",
        action="append",
        default=[],
        metavar="DEVICE",
        help="serve meter i on the i-th serial line given (HDLC) instead of TCP; repeatable",
    )
    add("--serial-baud", type=int, default=9600, help="baud rate of --serial lines")
    add(
        "--iec",
        action="store_true",
        help="--serial lines act as optical ports: IEC 62056-21 mode E opening at 300 baud "
        "first (the meter offers 9600), then HDLC",
    )
    add("--transport", choices=("tcp", "udp"), default="tcp", help="udp: wrapper only")
    add("--password", default=DEFAULT_PASSWORD.decode(), help="LLS password of client 17")
    add("--client", type=int, default=18, help="the management client SAP (default 18)")
    add(
        "--auth",
        choices=sorted(AUTHENTICATION_NAMES),
        default="md5",
        help="authentication of the management client (default md5)",
    )
    add(
        "--secret",
        default=DEFAULT_HLS_SECRET.decode(),
        help="HLS secret (or LLS password) of the management client",
    )
    add(
        "--security",
        choices=_SECURITY_NAMES,
        default="none",
        help="ciphering of the management client's APDUs (needs the keys)",
    )
    add(
        "--block-cipher-key",
        metavar="HEX",
        help="global unicast encryption key, 32 hex digits (64 with --suite 2)",
    )
    add("--auth-key", metavar="HEX", help="authentication key, 32 hex digits (64 with --suite 2)")
    add("--authentication-key", dest="auth_key", help=argparse.SUPPRESS)  # the old spelling
    add(
        "--system-title",
        metavar="HEX",
        help="the meters' system title, 16 hex digits (meter i: this + i; default 'ADS' and "
        "the serial number); HLS-SHA256 and ciphering use it",
    )
    add(
        "--counter-hint",
        action="store_true",
        help="answer a reused or lower client invocation counter with invocation-counter-error "
        "and the counter expected (some meters do); default: reject the association or drop "
        "the APDU, like most meters",
    )
    suites = parser.add_argument_group("security suites 1 and 2")
    suites.add_argument(
        "--suite",
        type=int,
        choices=(0, 1, 2),
        default=0,
        help="security suite of the management client: 0 (AES-GCM-128, default), 1 (P-256, "
        "AES-GCM-128) or 2 (P-384, AES-GCM-256, 64-hex-digit keys); 1 and 2 give every meter "
        "its own key pairs and certificates",
    )
    suites.add_argument(
        "--security-seed",
        default="asyncdlms-simulator",
        help="seed the meters' and the CA's key pairs are derived from (simulation only)",
    )
    suites.add_argument(
        "--client-certificate",
        metavar="PEM",
        action="append",
        default=[],
        help="certificate (PEM or DER) of a client the meters trust for --auth ecdsa "
        "(subject CN = its system title in hex); repeatable",
    )
    suites.add_argument(
        "--export-certificates",
        metavar="DIR",
        help="write ca.pem, meter-I.pem (each meter's signing certificate) and push-keys.toml "
        "(signing public keys by system title, for asyncdlms listen --keys) into DIR",
    )
    suites.add_argument(
        "--sign-pushes",
        action="store_true",
        help="sign every push (general-signing) with the meter's own signing key",
    )
    add(
        "--push-destination",
        default="127.0.0.1:4059",
        metavar="HOST:PORT",
        help="where the push setup sends the meters' pushes (default 127.0.0.1:4059)",
    )
    add("--gbt-window", type=int, default=0, help="offer general block transfer (0: off)")
    add("--max-pdu", type=int, default=1024, help="server max receive PDU size (default 1024)")
    add("--max-info-length", type=int, default=128, help="HDLC max info field (default 128)")
    add("--window", type=int, default=1, help="HDLC window size (default 1)")
    add(
        "--inactivity-timeout",
        type=float,
        default=120.0,
        help="seconds without traffic before a connection is closed (default 120; 0: never)",
    )
    add("--referencing", choices=("ln", "sn"), default="ln",
        help="sn: a short-name meter (base names from 0x0100, Association SN at 0xFA00; "
             "every association SN)")  # fmt: skip
    add("--load-profile-days", type=int, default=10, help="15-minute profile history (days)")
    add("--billing-days", type=int, default=31, help="daily billing profile history (days)")
    firmware = parser.add_argument_group("firmware (Image transfer 0.0.44.0.0.255)")
    firmware.add_argument(
        "--image-block-size",
        type=int,
        default=None,
        help="image_block_size in bytes (default 200, or less to fit --max-pdu; a larger "
        "block is sent in pblocks)",
    )
    firmware.add_argument(
        "--verification-time",
        type=float,
        default=0.0,
        help="seconds image_verify takes (temporary-failure meanwhile; default 0)",
    )
    firmware.add_argument(
        "--activation-time",
        type=float,
        default=0.0,
        help="seconds image_activate takes (temporary-failure meanwhile; default 0)",
    )
    faults = parser.add_argument_group("faults (for testing clients)")
    faults.add_argument("--latency", type=float, default=0.0, help="seconds added to answers")
    faults.add_argument("--jitter", type=float, default=0.0, help="up to this many more seconds")
    faults.add_argument("--baud", type=int, default=None, help="emulate a serial line's speed")
    faults.add_argument("--drop-rate", type=float, default=0.0, help="probability a write is lost")
    faults.add_argument(
        "--corrupt-rate", type=float, default=0.0, help="probability a write has a byte flipped"
    )
    faults.add_argument(
        "--refuse",
        type=_indexes,
        default=(),
        metavar="I,J,...",
        help="meters (0-based) that reject every association",
    )
    faults.add_argument(
        "--silent", type=_indexes, default=(), metavar="I,J,...", help="meters that never answer"
    )
    faults.add_argument("--seed", type=int, default=None, help="seed of the random faults")
    add("--duration", type=float, default=None, help="stop after this many seconds")
    _add_limits_arguments(parser)
    parser.set_defaults(handler=_command_simulate)


def _add_limits_arguments(parser: argparse.ArgumentParser) -> None:
    """The "limits" group: what the simulated meters tolerate from their peers
    (asyncdlms.server.ServerLimits; 0 switches a limit off)."""
    defaults = ServerLimits()
    limits = parser.add_argument_group("limits (defence against bad peers; 0: off)")
    add = limits.add_argument
    add(
        "--first-byte-timeout",
        type=float,
        default=defaults.first_byte_timeout,
        help="seconds a new TCP connection has to send its first byte (default %(default)s)",
    )
    add(
        "--frame-timeout",
        type=float,
        default=defaults.frame_timeout,
        help="seconds a frame has, from its first byte, to be complete (default %(default)s)",
    )
    add(
        "--max-protocol-errors",
        type=int,
        default=defaults.max_protocol_errors,
        help="protocol errors in a row that close a TCP connection (default %(default)s)",
    )
    add(
        "--apdu-margin",
        type=int,
        default=defaults.apdu_margin,
        help="bytes a wrapper APDU may exceed --max-pdu by (default %(default)s)",
    )
    add(
        "--max-connections",
        type=int,
        default=defaults.max_connections,
        help="concurrent TCP connections in all (default %(default)s)",
    )
    add(
        "--max-connections-per-peer",
        type=int,
        default=defaults.max_connections_per_peer,
        help="concurrent TCP connections from one address (default %(default)s)",
    )
    add(
        "--password-backoff",
        type=float,
        default=defaults.password_backoff,
        help="seconds answers are held after a wrong password, doubling per failure in a "
        "row (default %(default)s)",
    )
    add(
        "--password-backoff-max",
        type=float,
        default=defaults.password_backoff_max,
        help="longest hold after wrong passwords (default %(default)s)",
    )


def limits_from_arguments(args: argparse.Namespace) -> ServerLimits:
    """The :class:`ServerLimits` of the "limits" options (0 switches a limit off)."""
    return ServerLimits(
        first_byte_timeout=args.first_byte_timeout or None,
        frame_timeout=args.frame_timeout or None,
        max_protocol_errors=args.max_protocol_errors or None,
        apdu_margin=args.apdu_margin,
        max_connections=args.max_connections or None,
        max_connections_per_peer=args.max_connections_per_peer or None,
        password_backoff=args.password_backoff or None,
        password_backoff_max=max(args.password_backoff_max, args.password_backoff or 0),
    )


def _indexes(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"a comma-separated list of meter indexes: {text!r}"
        ) from None


def _key(text: str | None, what: str, suite: int = 0) -> Secret:
    length = 32 if suite == 2 else 16
    if text is None:
        raise ValueError(f"--security and --auth gmac need --{what}")
    try:
        value = bytes.fromhex(text)
    except ValueError:
        raise ValueError(f"--{what} must be {2 * length} hex digits") from None
    if len(value) != length:
        raise ValueError(
            f"--{what} must be {length} bytes ({2 * length} hex digits) in security suite "
            f"{suite}, not {len(value)}"
        )
    return Secret(value)


def _system_title(text: str | None) -> bytes | None:
    if text is None:
        return None
    try:
        value = bytes.fromhex(text)
    except ValueError:
        raise ValueError("--system-title must be 16 hex digits") from None
    if len(value) != 8:
        raise ValueError("--system-title must be 8 bytes (16 hex digits)")
    return value


def simulated_associations(
    *,
    client: int = 18,
    auth: str = "md5",
    secret: str | None = DEFAULT_HLS_SECRET.decode(),
    lls_password: str = DEFAULT_PASSWORD.decode(),
    security: str = "none",
    block_cipher_key: str | None = None,
    auth_key: str | None = None,
    suite: int = 0,
    security_keys: SimulatedSecurity | None = None,
) -> dict[int, AssociationPolicy]:
    """Client 16 public, 17 LLS (``lls_password``) and ``client`` with ``auth`` and
    ``secret``, ciphered as ``security`` says with the keys (hex; 64 digits in suite 2);
    ``client`` may be 16 or 17 too, replacing the default association of that SAP.
    ``suite`` 1 or 2 needs ``security_keys`` (the meters' key pairs, for HLS-ECDSA)."""
    mechanism = AUTHENTICATION_NAMES[auth]
    if suite and security_keys is None:
        raise ValueError(f"security suite {suite} needs the meters' keys (security_keys)")
    if mechanism == MechanismName.HIGH_ECDSA and not suite:
        raise ValueError("--auth ecdsa needs --suite 1 or 2")
    policies: dict[int, AssociationPolicy] = {
        16: AssociationPolicy(),
        17: AssociationPolicy(MechanismName.LOW, Secret(lls_password)),
    }
    server_security: Any = None
    if mechanism == MechanismName.HIGH_ECDSA and security == "none":
        assert security_keys is not None
        server_security = security_keys.security(None, None, None)
    elif security != "none" or mechanism == MechanismName.HIGH_GMAC:
        from ..security.ciphering import SecurityPolicy
        from ..session.server import ServerSecurity

        policy = {
            "none": None,
            "auth": SecurityPolicy.AUTHENTICATION_ONLY,
            "enc": SecurityPolicy.ENCRYPTION_ONLY,
            "ae": SecurityPolicy.AUTHENTICATED_ENCRYPTION,
        }[security]
        cipher_key = _key(block_cipher_key, "block-cipher-key", suite)
        authentication_key = _key(auth_key, "auth-key", suite)
        if security_keys is not None and suite:
            server_security = security_keys.security(cipher_key, authentication_key, policy)
        else:
            server_security = ServerSecurity(cipher_key, authentication_key, policy)
    needs_secret = mechanism not in (
        MechanismName.LOWEST,
        MechanismName.HIGH_GMAC,
        MechanismName.HIGH_ECDSA,
    )
    if needs_secret and secret is None:
        raise ValueError(f"--auth {auth} needs a secret (password)")
    key = (
        Secret(secret)
        if secret is not None and mechanism not in (MechanismName.LOWEST, MechanismName.HIGH_ECDSA)
        else None
    )
    policies[client] = AssociationPolicy(mechanism, key, security=server_security)
    return policies


def security_keys_from_arguments(args: argparse.Namespace) -> SimulatedSecurity | None:
    """The meters' key pairs and certificates of ``--suite`` 1 or 2 (None in suite 0)."""
    suite = getattr(args, "suite", 0)
    if not suite:
        if getattr(args, "sign_pushes", False):
            raise ValueError("--sign-pushes needs --suite 1 or 2 (the meters' signing keys)")
        return None
    certificates = []
    for path in args.client_certificate:
        try:
            certificates.append(load_certificate(Path(path).read_bytes()))
        except OSError as exc:
            raise ValueError(
                f"cannot read the client certificate {path!r}: {exc.strerror}"
            ) from None
        except CertificateError as exc:
            raise ValueError(f"the client certificate {path!r}: {exc}") from None
    return SimulatedSecurity(
        suite, seed=args.security_seed.encode(), client_certificates=certificates
    )


def associations_from_arguments(
    args: argparse.Namespace, security_keys: SimulatedSecurity | None = None
) -> dict[int, AssociationPolicy]:
    """Client 16 public, 17 LLS and the management client as the options say."""
    suite = getattr(args, "suite", 0)
    if suite and security_keys is None:
        security_keys = security_keys_from_arguments(args)
    return simulated_associations(
        client=args.client,
        auth=args.auth,
        secret=args.secret,
        lls_password=args.password,
        security=args.security,
        block_cipher_key=args.block_cipher_key,
        auth_key=args.auth_key,
        suite=suite,
        security_keys=security_keys,
    )


def export_certificates(simulator: Simulator, directory: str | Path) -> list[Path]:
    """Write the simulator's CA certificate (``ca.pem``), each meter's signing certificate
    (``meter-I.pem``) and ``push-keys.toml`` (the meters' signing public keys by system
    title, for :class:`~asyncdlms.listen.TomlKeyStore`) into ``directory``; public material
    only. Returns the files written."""
    keys = simulator.security_keys
    if keys is None:
        raise ValueError("--export-certificates needs --suite 1 or 2")
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    written = [folder / "ca.pem"]
    written[0].write_bytes(keys.ca_certificate.public_bytes(serialization.Encoding.PEM))
    lines = ["# signing certificates of the simulated meters (asyncdlms listen --keys)"]
    for index in range(len(simulator.meters)):
        path = folder / f"meter-{index}.pem"
        certificate = simulator.meter_certificate(index)
        path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        written.append(path)
        title = simulator.meter_system_title(index).hex().upper()
        lines += [f"[{title}]", f'signing_public_key = "{path.name}"']
    toml = folder / "push-keys.toml"
    toml.write_text("\n".join(lines) + "\n", encoding="utf-8")
    written.append(toml)
    return written


def _sn(args: argparse.Namespace, policies: dict[int, AssociationPolicy]) -> Any:
    """The associations with short-name referencing when ``--referencing sn``."""
    return short_name_associations(policies) if args.referencing == "sn" else policies


def simulator_from_arguments(args: argparse.Namespace) -> Simulator:
    """The :class:`Simulator` the options describe (not started)."""
    faults = Faults(
        latency=args.latency,
        jitter=args.jitter,
        baud_rate=args.baud,
        drop_rate=args.drop_rate,
        corrupt_rate=args.corrupt_rate,
        seed=args.seed,
    )
    security_keys = security_keys_from_arguments(args)
    simulator = Simulator(
        args.meters,
        interface=args.interface,
        transport=args.transport,
        host=args.host,
        port=args.port,
        shared_port=args.shared_port,
        associations=_sn(args, associations_from_arguments(args, security_keys)),
        short_names=args.referencing == "sn",
        max_pdu_size=args.max_pdu,
        hdlc_parameters=HdlcParameters(
            args.max_info_length, args.max_info_length, args.window, args.window
        ),
        inactivity_timeout=args.inactivity_timeout or None,
        load_profile_days=args.load_profile_days,
        billing_days=args.billing_days,
        faults=faults if faults.shapes_writes else None,
        refuse_associations=set(args.refuse),
        serial_ports=args.serial,
        baud_rate=args.serial_baud,
        iec=IecResponderSettings() if args.iec else None,
        gbt_window_size=args.gbt_window,
        invocation_counter_hint=args.counter_hint,
        system_title=_system_title(args.system_title),
        limits=limits_from_arguments(args),
        image_transfer=ImageTransferSettings(
            block_size=args.image_block_size or min(200, max(args.max_pdu - 48, 1)),
            verification_time=args.verification_time,
            activation_time=args.activation_time,
        ),
        security_keys=security_keys,
        sign_pushes=args.sign_pushes,
        push_destination=args.push_destination,
    )
    for index in args.silent:
        simulator.set_faults(index, Faults(silent=True))
    return simulator


async def _serve(simulator: Simulator, duration: float | None) -> None:
    async with simulator:
        targets = simulator.targets
        shown = targets if len(targets) <= 10 else [*targets[:5], *targets[-2:]]
        for target in shown:
            address = (
                f"physical address {target.physical_address}"
                if target.physical_address is not None
                else f"server {target.server}"
            )
            print(f"meter {target.index}: {target.url} {address}", flush=True)
        if len(targets) > len(shown):
            print(f"... {len(targets)} meters", flush=True)
        print("serving; Ctrl-C stops", flush=True)
        if duration is None:
            await asyncio.Event().wait()
        else:
            await asyncio.sleep(duration)


def _command_simulate(args: argparse.Namespace) -> int:
    try:
        simulator = simulator_from_arguments(args)
        if args.export_certificates:
            for path in export_certificates(simulator, args.export_certificates):
                print(f"wrote {path}", flush=True)
    except (ValueError, OSError) as exc:
        print(f"asyncdlms simulate: {exc}", file=sys.stderr)
        return 2
    try:
        with contextlib.suppress(KeyboardInterrupt):
            run_loop(_serve(simulator, args.duration))
    except OSError as exc:
        print(f"asyncdlms simulate: {exc}", file=sys.stderr)
        return 1
    return 0
