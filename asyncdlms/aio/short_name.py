"""Short-name (SN) referencing for the awaitable client (a mixin of Client).

An SN association (``connect(..., settings=ClientSettings.for_referencing("sn"))``:
application context short-name, the SN conformance read/write/unconfirmed-write/
parameterized-access) reads and writes 16-bit short names instead of class/OBIS/attribute:

>>> short_names = ClientSettings.for_referencing("sn")
>>> async with asyncdlms.connect(url, settings=short_names) as meter:
...     name = await meter.read(0x0108)                    # one variable
...     values = await meter.read([0x0108, 0x0110])        # several, in one ReadRequest
...     await meter.write(0x0208, Unsigned(7))
...     energy = await meter.get(3, "1.0.1.8.0.255", 2)    # by OBIS, mapped to its short name

Addressing by class/OBIS/attribute (``get``, ``get_many``, ``set``, ``action`` and every typed
read built on them: ``read_register``, ``read_clock``, ``read_profile``...) is mapped to
short names from the association's object list (Association SN attribute 2), read once,
lazily, on the first such call, and kept for the life of the client
(:meth:`ShortNameMethods.short_names`). Attribute ``n`` is at ``base_name + 8·(n − 1)``; a
method at the class's first-method offset (Blue Book), invoked by a ReadRequest with
parameterized access (it returns data) or, when the meter did not grant
parameterized-access, by a WriteRequest. Selective access (profile ranges) is parameterized
access with the same selector and parameters.

Failures are :class:`~asyncdlms.errors.ShortNameError` (a
:class:`~asyncdlms.errors.DataAccessError`) naming the short name, the object when known,
and the data-access-result.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any, Protocol, overload

from ..apdu.descriptors import SelectiveAccessDescriptor
from ..apdu.enums import DataAccessResult
from ..apdu.initiate import Conformance
from ..apdu.short_name import VariableName
from ..cosem.association import ObjectList, ObjectListEntry
from ..cosem.short_names import (
    ASSOCIATION_SN_BASE_NAME,
    ShortNameMap,
    format_short_name,
    short_name_map,
)
from ..errors import DataAccessError, ShortNameError
from ..obis import ObisLike
from ..session.client import ClientSession
from ..session.settings import REFERENCING_NAMES, SN_CONFORMANCE

__all__ = ["REFERENCING_NAMES", "SN_CONFORMANCE", "ShortNameMethods"]  # the first two re-exported

_OBJECT_LIST = ASSOCIATION_SN_BASE_NAME + 8  # Association SN attribute 2


class _Host(Protocol):
    session: ClientSession

    async def _request(self, submit: Callable[[float], int], timeout: float | None) -> Any: ...


def _host(instance: object) -> _Host:
    """The mixin's host (the Client) seen as the request interface it provides."""
    return instance  # type: ignore[return-value]


class ShortNameMethods:
    """SN services and the class/OBIS → short-name mapping; mixed into
    :class:`~asyncdlms.Client` (see the module documentation)."""

    _short_name_map: ShortNameMap | None = None
    _short_name_lock: asyncio.Lock | None = None

    @property
    def short_name_referencing(self) -> bool:
        """Whether this association uses short names (SN) rather than logical names."""
        host: _Host = self  # type: ignore[assignment]  # (_host without the call: asked per request)
        return not host.session.settings.logical_name_referencing

    def _require_sn(self, what: str) -> None:
        if not self.short_name_referencing:
            raise ValueError(
                f"{what} needs a short-name association: connect(..., "
                "settings=ClientSettings.for_referencing('sn')) (this one uses logical names: "
                "use get/set/action)"
            )

    def _named(self, short_name: int, error: DataAccessError) -> ShortNameError:
        if isinstance(error, ShortNameError):
            return error
        names = self._short_name_map
        where = names.describe(short_name) if names is not None else format_short_name(short_name)
        result = error.result
        if isinstance(result, DataAccessResult):
            answer = f"data-access-result {result.standard_name} ({int(result)})"
        else:
            answer = str(error)
        return ShortNameError(
            f"short name {where}: the meter answered {answer}", result, short_name
        )

    # -- the SN services ---------------------------------------------------------------------

    @overload
    async def read(
        self,
        short_name: int,
        *,
        selector: int | None = None,
        parameter: Any = None,
        timeout: float | None = None,
    ) -> Any: ...

    @overload
    async def read(
        self,
        short_name: Sequence[int],
        *,
        selector: None = None,
        parameter: None = None,
        timeout: float | None = None,
    ) -> list[Any]: ...

    async def read(
        self,
        short_name: int | Sequence[int],
        *,
        selector: int | None = None,
        parameter: Any = None,
        timeout: float | None = None,
    ) -> Any:
        """SN ReadRequest (variable-name). One short name: its value (a failure raises
        :class:`ShortNameError`). ``selector`` and ``parameter`` make it a parameterized
        access (selective access, or a method that returns data).

        Several short names: one ReadRequest (multiple-references, in chunks, single reads
        where the meter refuses); a list with one entry per name, its value or its
        :class:`ShortNameError` (returned, not raised)."""
        self._require_sn("read(short_name)")
        host = _host(self)
        if isinstance(short_name, int):
            name = short_name
            try:
                return await host._request(
                    lambda now: host.session.read(
                        name, selector=selector, parameter=parameter, now=now
                    ),
                    timeout,
                )
            except DataAccessError as exc:
                raise self._named(name, exc) from None
        if selector is not None:
            raise ValueError("selector applies to one short name; read them one at a time")
        names = list(short_name)
        if not names:
            return []
        specs = [VariableName(n) for n in names]
        results = await host._request(lambda now: host.session.read_list(specs, now=now), timeout)
        return [
            self._named(n, r) if isinstance(r, DataAccessError) else r
            for n, r in zip(names, results, strict=True)
        ]

    async def write(self, short_name: int, value: Any, *, timeout: float | None = None) -> None:
        """SN WriteRequest of one variable (an A-XDR value: typed or plain); a refusal raises
        :class:`ShortNameError`."""
        self._require_sn("write(short_name)")
        host = _host(self)
        try:
            await host._request(lambda now: host.session.write(short_name, value, now=now), timeout)
        except DataAccessError as exc:
            raise self._named(short_name, exc) from None

    async def unconfirmed_write(
        self, short_name: int, value: Any, *, timeout: float | None = None
    ) -> None:
        """SN UnconfirmedWriteRequest: sent, no answer comes (nor any error: read the value
        back to know it was written)."""
        self._require_sn("unconfirmed_write(short_name)")
        host = _host(self)
        await host._request(
            lambda now: host.session.unconfirmed_write(short_name, value, now=now), timeout
        )

    async def invoke(
        self, short_name: int, parameters: Any = None, *, timeout: float | None = None
    ) -> Any:
        """Invoke the method at ``short_name``: a ReadRequest with parameterized access
        (selector 0, ``parameters`` as its parameter) that returns the method's data, or,
        when the meter did not grant parameterized-access, a WriteRequest of the parameters
        (then ``None``)."""
        self._require_sn("invoke(short_name)")
        negotiated = _host(self).session.negotiated
        if negotiated is not None and not negotiated.conformance & Conformance.PARAMETERIZED_ACCESS:
            await self.write(short_name, parameters, timeout=timeout)
            return None
        return await self.read(short_name, selector=0, parameter=parameters, timeout=timeout)

    # -- the object list ---------------------------------------------------------------------

    async def read_short_name_object_list(self, *, timeout: float | None = None) -> ShortNameMap:
        """Read the association's object list (Association SN attribute 2, short name
        0xFA08): base name, class id, version and logical name of every object. It also
        refreshes the map :meth:`short_names` keeps."""
        self._require_sn("read_short_name_object_list()")
        names = short_name_map(await self.read(_OBJECT_LIST, timeout=timeout))
        self._short_name_map = names
        return names

    async def short_names(self, *, timeout: float | None = None) -> ShortNameMap:
        """The association's object list as a short-name map: read on the first call (by
        whichever task comes first; the others wait for it), then kept."""
        if self._short_name_map is not None:
            return self._short_name_map
        if self._short_name_lock is None:
            self._short_name_lock = asyncio.Lock()
        async with self._short_name_lock:
            if self._short_name_map is None:
                await self.read_short_name_object_list(timeout=timeout)
            assert self._short_name_map is not None
            return self._short_name_map

    async def read_object_list(
        self, *, obis: ObisLike = "0.0.40.0.0.255", timeout: float | None = None
    ) -> ObjectList:
        """The association's objects. With logical names, Association LN attribute 2
        parsed tolerantly; with short names, the Association SN object list as the same
        typed entries (class, version, logical name; SN lists carry no access rights: see
        :meth:`read_short_name_object_list` for the base names)."""
        if not self.short_name_referencing:
            read: Any = super().read_object_list  # type: ignore[misc]
            result: ObjectList = await read(obis=obis, timeout=timeout)
            return result
        names = await self.read_short_name_object_list(timeout=timeout)
        return ObjectList(
            tuple(
                ObjectListEntry(
                    item.class_id, item.version, item.logical_name, access_rights_present=False
                )
                for item in names
            ),
            names.skipped,
        )

    # -- class/OBIS addressing on an SN association (Client's hooks) ------------------------

    async def _sn_get(
        self,
        class_id: int,
        obis: ObisLike,
        attribute: int,
        selective_access: SelectiveAccessDescriptor | None,
        timeout: float | None,
    ) -> Any:
        name = (await self.short_names(timeout=timeout)).attribute(class_id, obis, attribute)
        if selective_access is None:
            return await self.read(name, timeout=timeout)
        return await self.read(
            name,
            selector=selective_access.access_selector,
            parameter=selective_access.access_parameters,
            timeout=timeout,
        )

    async def _sn_get_many(
        self, items: Sequence[tuple[int, ObisLike, int]], timeout: float | None
    ) -> list[Any]:
        names = await self.short_names(timeout=timeout)
        results: list[Any] = [None] * len(items)
        wanted: list[tuple[int, int]] = []  # (position, short name)
        for position, (class_id, obis, attribute) in enumerate(items):
            try:
                wanted.append((position, names.attribute(class_id, obis, attribute)))
            except ShortNameError as exc:
                results[position] = exc
        values = await self.read([name for _, name in wanted], timeout=timeout)
        for (position, _), value in zip(wanted, values, strict=True):
            results[position] = value
        return results

    async def _sn_set(
        self, class_id: int, obis: ObisLike, attribute: int, value: Any, timeout: float | None
    ) -> None:
        name = (await self.short_names(timeout=timeout)).attribute(class_id, obis, attribute)
        await self.write(name, value, timeout=timeout)

    async def _sn_set_many(
        self, items: Sequence[tuple[int, ObisLike, int, Any]], timeout: float | None
    ) -> list[Any]:
        """One WriteRequest for the attributes (in chunks that fit the meter's PDU, single
        writes where the meter refuses the list); one entry per item: ``None`` or its
        :class:`ShortNameError` (an attribute the object list does not have included)."""
        names = await self.short_names(timeout=timeout)
        results: list[Any] = [None] * len(items)
        wanted: list[tuple[int, int, Any]] = []  # (position, short name, value)
        for position, (class_id, obis, attribute, value) in enumerate(items):
            try:
                wanted.append((position, names.attribute(class_id, obis, attribute), value))
            except ShortNameError as exc:
                results[position] = exc
        if not wanted:
            return results
        host = _host(self)
        pairs = [(name, value) for _, name, value in wanted]
        written = await host._request(lambda now: host.session.write_list(pairs, now=now), timeout)
        for (position, name, _), error in zip(wanted, written, strict=True):
            results[position] = None if error is None else self._named(name, error)
        return results

    async def _sn_action(
        self, class_id: int, obis: ObisLike, method: int, parameters: Any, timeout: float | None
    ) -> Any:
        name = (await self.short_names(timeout=timeout)).method(class_id, obis, method)
        return await self.invoke(name, parameters, timeout=timeout)
