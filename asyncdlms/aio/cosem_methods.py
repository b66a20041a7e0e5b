"""COSEM-aware reads and writes on top of the client's GET/SET/ACTION (a mixin of Client).

They turn raw values into typed ones with :mod:`asyncdlms.cosem`: a register into a
:class:`~asyncdlms.cosem.Quantity` with its unit, the clock into a ``datetime``, a profile
buffer into rows keyed by capture object with timestamps (derived where the meter sends
null-data, QUIRKS.md behaviour 9), the association's object list into typed entries.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, Protocol

from ..apdu.descriptors import SelectiveAccessDescriptor
from ..cosem.association import ObjectList, parse_object_list
from ..cosem.clock import clock_datetime, clock_time_value
from ..cosem.profile import (
    ProfileGenericSettings,
    ProfileRow,
    entry_selection,
    parse_capture_objects,
    parse_sort_method,
    range_selection,
)
from ..cosem.units import Quantity, ScalerUnit, register_quantity
from ..obis import Obis, ObisLike
from ..security.hls import Secret
from ..security.keys import (
    GLOBAL_KEY_TRANSFER_METHOD,
    SECURITY_SETUP_CLASS_ID,
    KeyId,
    global_key_transfer_parameters,
)
from ..types.clock import DateTime, DeviationSign

__all__ = ["CosemMethods"]

CLOCK = Obis("0.0.1.0.0.255")
SECURITY_SETUP = Obis("0.0.43.0.0.255")
CURRENT_ASSOCIATION = Obis("0.0.40.0.0.255")


class _Requests(Protocol):
    async def get(
        self,
        class_id: int,
        obis: ObisLike,
        attribute: int,
        *,
        selective_access: SelectiveAccessDescriptor | None = None,
        timeout: float | None = None,
    ) -> Any: ...

    async def get_many(self, items: Any, *, timeout: float | None = None) -> list[Any]: ...

    async def set(
        self,
        class_id: int,
        obis: ObisLike,
        attribute: int,
        value: Any,
        *,
        timeout: float | None = None,
    ) -> None: ...

    async def action(
        self,
        class_id: int,
        obis: ObisLike,
        method: int,
        parameters: Any = None,
        *,
        timeout: float | None = None,
    ) -> Any: ...


class CosemMethods:
    """Typed reads of common interface classes; mixed into :class:`~asyncdlms.Client`.

    ``deviation_sign`` is the meter's convention for the clock deviation (QUIRKS.md 4:
    some meters send it inverted); every date-time conversion uses it.
    """

    deviation_sign: DeviationSign = DeviationSign.STANDARD

    async def read_register(
        self, obis: ObisLike, *, class_id: int = 3, timeout: float | None = None
    ) -> Quantity:
        """Value × 10^scaler with the unit of a Register (3), Extended (4) or Demand (5)
        register: one GET with-list for attributes 2 and 3 (single GETs where refused)."""
        value, scaler_unit = await _requests(self).get_many(
            [(class_id, obis, 2), (class_id, obis, 3)], timeout=timeout
        )
        for item in (value, scaler_unit):
            if isinstance(item, Exception):
                raise item
        return register_quantity(value, ScalerUnit.from_value(scaler_unit))

    async def read_clock(
        self, *, obis: ObisLike = CLOCK, timeout: float | None = None
    ) -> dt.datetime | None:
        """The meter's time (Clock attribute 2), aware when the meter gives its deviation."""
        value = await _requests(self).get(8, obis, 2, timeout=timeout)
        return clock_datetime(value, deviation_sign=self.deviation_sign)

    async def set_clock(
        self,
        value: dt.datetime | DateTime,
        *,
        obis: ObisLike = CLOCK,
        timeout: float | None = None,
    ) -> None:
        """Set the meter's time (Clock attribute 2) from an aware ``datetime`` or a
        :class:`DateTime`."""
        octets = clock_time_value(value, deviation_sign=self.deviation_sign)
        await _requests(self).set(8, obis, 2, octets, timeout=timeout)

    async def read_profile_settings(
        self, obis: ObisLike, *, timeout: float | None = None
    ) -> ProfileGenericSettings:
        """Capture objects, capture period and sort method of a Profile generic (7)."""
        capture_objects, period, sort_method = await _requests(self).get_many(
            [(7, obis, 3), (7, obis, 4), (7, obis, 5)], timeout=timeout
        )
        if isinstance(capture_objects, Exception):
            raise capture_objects
        return ProfileGenericSettings(
            capture_objects=parse_capture_objects(capture_objects),
            capture_period=0 if isinstance(period, Exception) else int(period),
            sort_method=1 if isinstance(sort_method, Exception) else parse_sort_method(sort_method),
        )

    async def read_profile(
        self,
        obis: ObisLike,
        *,
        start: dt.datetime | DateTime | None = None,
        end: dt.datetime | DateTime | None = None,
        entries: tuple[int, int] | None = None,
        scaler_units: dict[Any, ScalerUnit] | None = None,
        settings: ProfileGenericSettings | None = None,
        timeout: float | None = None,
    ) -> tuple[ProfileRow, ...]:
        """Rows of a Profile generic (7) buffer keyed by capture object, with timestamps.

        ``start``/``end`` select by range on the clock column (selector 1); ``entries``
        ``(first, last)`` by entry (selector 2, 1-based; last 0 = to the end); neither reads
        the whole buffer. The capture objects, period and sort method are read first unless
        ``settings`` gives them; ``scaler_units`` scales register columns.
        """
        requests = _requests(self)
        if settings is None:
            settings = await self.read_profile_settings(obis, timeout=timeout)
        selection: SelectiveAccessDescriptor | None = None
        if start is not None or end is not None:
            if start is None or end is None:
                raise ValueError("read_profile needs both start and end (or neither)")
            selection = range_selection(start, end, deviation_sign=self.deviation_sign)
        elif entries is not None:
            selection = entry_selection(*entries)
        buffer = await requests.get(7, obis, 2, selective_access=selection, timeout=timeout)
        return settings.parse(buffer, scaler_units=scaler_units, deviation_sign=self.deviation_sign)

    async def transfer_global_keys(
        self,
        master_key: Secret | bytes,
        keys: Mapping[KeyId, Secret | bytes],
        *,
        obis: ObisLike = SECURITY_SETUP,
        timeout: float | None = None,
    ) -> None:
        """Install new global keys in the meter: security setup (64) ``global_key_transfer``
        (method 2) with each key wrapped by the master key (KEK, RFC 3394). The meter uses
        them from its next APDU on: associate again with the new keys afterwards (the keys
        of this association's ciphering context are not changed)."""
        parameters = global_key_transfer_parameters(master_key, keys)
        await _requests(self).action(
            SECURITY_SETUP_CLASS_ID, obis, GLOBAL_KEY_TRANSFER_METHOD, parameters,
            timeout=timeout,
        )  # fmt: skip

    async def read_object_list(
        self, *, obis: ObisLike = CURRENT_ASSOCIATION, timeout: float | None = None
    ) -> ObjectList:
        """The objects this association may see (Association LN attribute 2), parsed
        tolerantly (QUIRKS.md 9: entries that cannot be read are counted in ``skipped``)."""
        value = await _requests(self).get(15, obis, 2, timeout=timeout)
        return parse_object_list(value)


def _requests(instance: object) -> _Requests:
    """The mixin's host (the Client) seen as the request interface it provides."""
    return instance  # type: ignore[return-value]
