"""What :func:`connect` builds: a :class:`~asyncdlms.aio.client.Client` with its session,
link and settings from keywords and small settings objects (see the function's
documentation), and the object it returns, awaitable or used as an async context manager.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Generator
from types import TracebackType
from typing import Any

from ..apdu.acse import MechanismName
from ..hdlc import HdlcConnection
from ..link import Link
from ..security.ciphering import SecurityPolicy
from ..security.hls import Secret
from ..session.client import ClientSession
from ..session.settings import ClientSecurity, ClientSettings, security_policy
from ..wrapper import WrapperConnection
from .client import AUTHENTICATION_NAMES, Client
from .link_settings import LinkSettings
from .url import Scheme, Target, parse_target

__all__ = ["connect", "short_security"]


class _Connecting:
    """What :func:`connect` returns: await it, or use it as an async context manager."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def __await__(self) -> Generator[Any, None, Client]:
        return self.client.open().__await__()

    async def __aenter__(self) -> Client:
        return await self.client.open()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.client.close()


def _hex_or_bytes(value: bytes | str, what: str) -> bytes:
    if isinstance(value, str):
        try:
            return bytes.fromhex(value)
        except ValueError:
            raise ValueError(f"{what} is not hexadecimal") from None
    return bytes(value)


def _key(value: bytes | str | Secret, what: str) -> Secret:
    """A key given as bytes, hex or Secret (the error never shows the value)."""
    return value if isinstance(value, Secret) else Secret(_hex_or_bytes(value, what))


def connect(
    url: str | Target,
    *,
    client: int = 16,
    server: int = 1,
    auth: str | MechanismName | None = None,
    password: bytes | str | Secret | None = None,
    security: str | SecurityPolicy | ClientSecurity | None = None,
    system_title: bytes | str | None = None,
    block_cipher_key: bytes | str | Secret | None = None,
    authentication_key: bytes | str | Secret | None = None,
    timeout: float = 10.0,
    settings: ClientSettings | None = None,
    link: LinkSettings | None = None,
    keep_alive: float | None = None,
    reconnect: bool = False,
    trace: bool | Callable[[str, bytes, float], None] = False,
) -> _Connecting:
    """Open an association with the meter at ``url``; use as ``async with`` or ``await``.

    - ``client``: the client SAP (16 public, often 17 reading, 18 management, 1 for some
      meters); ``server``: the server's logical address (1: the management logical device).
      A wrong client address gives an authentication error; a wrong server address, silence.
      HDLC's physical address is in ``link``.
    - ``auth``: ``none`` (default), ``low`` (LLS, ``password``), ``md5``, ``sha1``,
      ``sha256`` or ``high`` (HLS, the secret in ``password``), ``gmac`` (HLS-GMAC, needs the
      ciphering keys), ``ecdsa`` (HLS-ECDSA, needs a whole :class:`ClientSecurity` with its
      ``suite`` and ``key_store``). ``sha256`` also needs our ``system_title``, sent as
      calling-AP-title with or without ciphering.
    - ``security``: the ciphering of every xDLMS APDU: ``none``, ``auth`` (authentication
      only), ``enc`` (encryption only) or ``ae`` (authenticated encryption), with our
      ``system_title`` (8 bytes; bytes or hex), the ``block_cipher_key`` (global unicast
      encryption key) and the ``authentication_key`` (16 bytes each; bytes, hex or
      :class:`Secret`; never printed): the short way for security suite 0. Or a whole
      :class:`~asyncdlms.session.ClientSecurity` (suites 1 and 2, the broadcast key, a
      dedicated key, where invocation counters are kept, reading the meter's frame counter
      first, ...), which then holds the system title and keys.
    - ``timeout``: seconds for the association and for each call (a call can pass its own).
    - ``settings``: the rest of the session, a :class:`~asyncdlms.session.ClientSettings`
      (short-name referencing: ``ClientSettings.for_referencing("sn")``, GET with-list chunk
      size, PDU sizes, the meter's clock ``deviation_sign``...). ``auth``, ``password``,
      ``security`` and ``system_title`` fill in its fields; a field given both ways is an error.
    - ``link``: the HDLC link and the IEC 62056-21 opening: a :class:`LinkSettings` (the
      physical address, HDLC parameters, retransmissions, inactivity, ``iec``).
    - ``keep_alive``: seconds of idleness after which a cheap GET keeps the association
      alive (set it below the meter's inactivity timeout: HDLC setup's default is 120 s,
      TCP's 180 s); ``reconnect``: after the association was lost (dropped link, meter
      restart, inactivity), associate again on the next call (a call in flight when it was
      lost still fails: only the caller knows whether it may be repeated).
    - ``trace``: ``True`` logs every chunk in hex on the ``asyncdlms.trace`` logger (DEBUG),
      with the password and keys masked; or pass your own hook.
    """
    target = parse_target(url)
    link = link or LinkSettings()
    session_settings = _session_settings(
        settings or ClientSettings(),
        auth=auth,
        password=password,
        security=security,
        system_title=system_title,
        block_cipher_key=block_cipher_key,
        authentication_key=authentication_key,
    )
    active_security = session_settings.security
    sessions = _Sessions(target, link, client, server, session_settings)

    secret = session_settings.secret
    secrets = [secret.value] if secret and session_settings.mechanism is MechanismName.LOW else []
    if active_security is not None:  # never in a trace, should they ever reach the wire
        for key in (active_security.block_cipher_key, active_security.authentication_key):
            if key is not None:
                secrets.append(key.value)
        if active_security.broadcast_key is not None:
            secrets.append(active_security.broadcast_key.value)

    meter = Client(
        target,
        sessions(),
        timeout=timeout,
        trace=trace,
        iec=link.iec,
        secrets=secrets,
        public_session=sessions.public if active_security is not None else None,
        session_factory=sessions,
        keep_alive=keep_alive,
        reconnect=reconnect,
    )
    return _Connecting(meter)


class _Sessions:
    """The sessions of one :func:`connect`: the client's (the first, and one per
    reconnection) and, with security, the public one on which the frame counter is read. An
    object, not closures: every client keeps it for its life, and closures over
    ``connect``'s locals are a function and a cell per variable, GC-tracked objects that a
    full collection walks for every open association."""

    __slots__ = ("_client", "_link", "_server", "_settings", "_target")

    def __init__(
        self,
        target: Target,
        link: LinkSettings,
        client: int,
        server: int,
        settings: ClientSettings,
    ) -> None:
        self._target = target
        self._link = link
        self._client = client
        self._server = server
        self._settings = settings

    def __call__(self) -> ClientSession:
        return ClientSession(self._make_link(self._client), self._settings)

    def public(self) -> ClientSession:
        security = self._settings.security
        assert security is not None
        referencing = "ln" if self._settings.logical_name_referencing else "sn"
        public = ClientSettings.for_referencing(referencing)
        return ClientSession(self._make_link(security.public_client), public)

    def _make_link(self, client_address: int) -> Link:
        scheme = self._target.scheme
        if scheme.uses_hdlc:
            settings = self._link.hdlc_settings(client=client_address, server=self._server)
            return HdlcConnection(settings)
        if scheme is Scheme.UDP:
            return WrapperConnection(client_address, self._server, "udp")
        return WrapperConnection(client_address, self._server, "tcp")


def short_security(
    security: str | SecurityPolicy | None,
    *,
    system_title: bytes | str | None,
    block_cipher_key: bytes | str | Secret | None,
    authentication_key: bytes | str | Secret | None,
    **fields: Any,
) -> ClientSecurity | None:
    """The :class:`ClientSecurity` of :func:`connect`'s short way to ciphering (security suite
    0): the policy name ``security`` with our ``system_title`` and the two keys, and any
    other ``fields`` of :class:`ClientSecurity`. ``None`` when there is no policy and no key
    (no ciphering); a :class:`ValueError` names what is missing."""
    policy = security_policy(security)
    if policy is None and block_cipher_key is None and authentication_key is None:
        return None
    keys = {
        "system_title": system_title,
        "block_cipher_key": block_cipher_key,
        "authentication_key": authentication_key,
    }
    missing = [name for name, value in keys.items() if value is None]
    if missing:
        why = f"security={security!r}" if policy is not None else "ciphering (or HLS-GMAC)"
        raise ValueError(f"{why} needs {', '.join(missing)}")
    assert system_title is not None
    assert block_cipher_key is not None and authentication_key is not None
    return ClientSecurity(
        _hex_or_bytes(system_title, "system_title"),
        _key(block_cipher_key, "block_cipher_key"),
        _key(authentication_key, "authentication_key"),
        policy,
        **fields,
    )


def _session_settings(
    settings: ClientSettings,
    *,
    auth: str | MechanismName | None,
    password: bytes | str | Secret | None,
    security: str | SecurityPolicy | ClientSecurity | None,
    system_title: bytes | str | None,
    block_cipher_key: bytes | str | Secret | None,
    authentication_key: bytes | str | Secret | None,
) -> ClientSettings:
    """``settings`` with what :func:`connect`'s keywords give (each field one way only)."""
    changes: dict[str, Any] = {}

    def give(field: str, keyword: str, value: Any, default: Any) -> None:
        if getattr(settings, field) != default:
            raise ValueError(
                f"{keyword} is given twice, as a keyword and as settings.{field}: give it one way"
            )
        changes[field] = value

    if auth is not None:
        mechanism = AUTHENTICATION_NAMES.get(auth.lower()) if isinstance(auth, str) else auth
        if mechanism is None:
            raise ValueError(f"unknown auth {auth!r}; use one of {', '.join(AUTHENTICATION_NAMES)}")
        give("mechanism", "auth", mechanism, MechanismName.LOWEST)
    if password is not None:
        secret = password if isinstance(password, Secret) else Secret(password)
        give("secret", "password", secret, None)
    mechanism = changes.get("mechanism", settings.mechanism)
    keys = {
        "system_title": system_title,
        "block_cipher_key": block_cipher_key,
        "authentication_key": authentication_key,
    }
    if isinstance(security, ClientSecurity):
        given = [name for name, value in keys.items() if value is not None]
        if given:
            raise ValueError(
                f"{', '.join(given)} given as keywords and security=ClientSecurity(...): "
                "give them in the ClientSecurity only"
            )
        give("security", "security", security, None)
    elif security is not None or block_cipher_key is not None or authentication_key is not None:
        client_security = short_security(
            security,
            system_title=system_title,
            block_cipher_key=block_cipher_key,
            authentication_key=authentication_key,
        )
        # security="none" without keys next to settings.security is given twice too
        if client_security is not None or settings.security is not None:
            give("security", "security", client_security, None)
    security_given = changes.get("security", settings.security)
    if system_title is not None and security_given is None:
        # without ciphering the system title still goes out as calling-AP-title:
        # HLS-SHA256 hashes it (and a meter may check it)
        title = _hex_or_bytes(system_title, "system_title")
        give("client_system_title", "system_title", title, None)
    gmac = mechanism is MechanismName.HIGH_GMAC
    if gmac and security_given is None and settings.protection is None:
        missing = [name for name, value in keys.items() if value is None]
        raise ValueError(f"HLS-GMAC needs {', '.join(missing) or 'security'}")
    result = dataclasses.replace(settings, **changes) if changes else settings
    if mechanism is MechanismName.HIGH_SHA256 and result.calling_ap_title is None:
        raise ValueError("HLS-SHA256 (auth='sha256') needs our system_title (8 bytes)")
    return result
