"""Python values for the DLMS data types.

Decoded values keep their DLMS type, so that ``axdr.encode(axdr.decode(b)) == b``: each
typed wrapper is a subclass of the plain Python type it holds (``Unsigned(5) == 5``,
``OctetString(b"..")`` is ``bytes``, ``Structure`` is a ``tuple``), so the values are as easy to
use as plain ones, and plain values are accepted when encoding (see :func:`asyncdlms.axdr.encode`
for the type each plain value gets).

============================== ======================= =========================
DLMS type                      Python class            plain value accepted
============================== ======================= =========================
null-data                      ``None``                ``None``
array                          :class:`Array`          ``list``
structure                      :class:`Structure`      ``tuple``
boolean                        ``bool``                ``bool``
bit-string                     :class:`BitString`
double-long                    :class:`DoubleLong`     ``int`` (in int32 range)
double-long-unsigned           :class:`DoubleLongUnsigned`
octet-string                   :class:`OctetString`    ``bytes``, ``bytearray``
visible-string                 :class:`VisibleString`  ``str`` (ASCII only)
utf8-string                    :class:`Utf8String`     ``str`` (not ASCII)
bcd                            :class:`Bcd`
integer                        :class:`Integer`
long                           :class:`Long`
unsigned                       :class:`Unsigned`
long-unsigned                  :class:`LongUnsigned`
compact-array                  :class:`CompactArray`
long64                         :class:`Long64`         ``int`` (beyond int32)
long64-unsigned                :class:`Long64Unsigned` ``int`` (beyond int64)
enum                           :class:`Enum`
float32                        :class:`Float32`
float64                        :class:`Float64`        ``float``
date-time, date, time          :class:`~asyncdlms.types.clock.DateTime`, ``Date``, ``Time``
delta-integer ...             :class:`DeltaInteger` ...
dont-care                      :data:`DONT_CARE`
============================== ======================= =========================
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, Union

from ..errors import EncodeError
from .tags import DataType

if TYPE_CHECKING:
    from typing import Self

    from .clock import Date, DateTime, Time

__all__ = [
    "DONT_CARE",
    "Array",
    "Bcd",
    "BitString",
    "CompactArray",
    "DeltaDoubleLong",
    "DeltaDoubleLongUnsigned",
    "DeltaInteger",
    "DeltaLong",
    "DeltaLongUnsigned",
    "DeltaUnsigned",
    "DlmsValue",
    "DontCare",
    "DoubleLong",
    "DoubleLongUnsigned",
    "Enum",
    "Float32",
    "Float64",
    "Integer",
    "Long",
    "Long64",
    "Long64Unsigned",
    "LongUnsigned",
    "OctetString",
    "Structure",
    "TypeDescription",
    "TypedInteger",
    "Unsigned",
    "Utf8String",
    "VisibleString",
]


# ---------------------------------------------------------------------------------------------
# Integers of every width


class TypedInteger(int):
    """An ``int`` that remembers its DLMS integer type (width and signedness).

    Constructing one checks the range: ``Unsigned(256)`` raises :class:`EncodeError`.
    Arithmetic gives plain ``int`` results.
    """

    __slots__ = ()
    data_type: ClassVar[DataType]
    struct_format: ClassVar[str]
    minimum: ClassVar[int]
    maximum: ClassVar[int]

    def __new__(cls, value: int = 0) -> Self:
        number = int.__new__(cls, value)
        if not cls.minimum <= number <= cls.maximum:
            raise EncodeError(
                f"{int(number)} is out of range for {cls.data_type.name.lower().replace('_', '-')} "
                f"({cls.minimum}..{cls.maximum})"
            )
        return number

    def __repr__(self) -> str:
        return f"{type(self).__name__}({int(self)})"

    __str__ = int.__repr__


def _integer_type(name: str, data_type: DataType, fmt: str, doc: str) -> type[TypedInteger]:
    size = struct.calcsize(fmt)
    signed = fmt.islower()
    minimum = -(1 << (8 * size - 1)) if signed else 0
    maximum = (1 << (8 * size - 1)) - 1 if signed else (1 << (8 * size)) - 1
    namespace = {
        "__slots__": (),
        "__doc__": doc,
        "__module__": __name__,
        "__qualname__": name,
        "data_type": data_type,
        "struct_format": ">" + fmt,
        "minimum": minimum,
        "maximum": maximum,
    }
    return type(name, (TypedInteger,), namespace)


if TYPE_CHECKING:
    # Spelt out for type checkers; at run time the classes are made by _integer_type.
    class Integer(TypedInteger): ...

    class Long(TypedInteger): ...

    class DoubleLong(TypedInteger): ...

    class Long64(TypedInteger): ...

    class Unsigned(TypedInteger): ...

    class LongUnsigned(TypedInteger): ...

    class DoubleLongUnsigned(TypedInteger): ...

    class Long64Unsigned(TypedInteger): ...

    class Enum(TypedInteger): ...

    class Bcd(TypedInteger): ...

    class DeltaInteger(TypedInteger): ...

    class DeltaLong(TypedInteger): ...

    class DeltaDoubleLong(TypedInteger): ...

    class DeltaUnsigned(TypedInteger): ...

    class DeltaLongUnsigned(TypedInteger): ...

    class DeltaDoubleLongUnsigned(TypedInteger): ...

else:
    Integer = _integer_type("Integer", DataType.INTEGER, "b", "DLMS integer: Integer8.")
    Long = _integer_type("Long", DataType.LONG, "h", "DLMS long: Integer16.")
    DoubleLong = _integer_type("DoubleLong", DataType.DOUBLE_LONG, "i", "DLMS double-long.")
    Long64 = _integer_type("Long64", DataType.LONG64, "q", "DLMS long64: Integer64.")
    Unsigned = _integer_type("Unsigned", DataType.UNSIGNED, "B", "DLMS unsigned: Unsigned8.")
    LongUnsigned = _integer_type(
        "LongUnsigned", DataType.LONG_UNSIGNED, "H", "DLMS long-unsigned: Unsigned16."
    )
    DoubleLongUnsigned = _integer_type(
        "DoubleLongUnsigned", DataType.DOUBLE_LONG_UNSIGNED, "I", "DLMS double-long-unsigned."
    )
    Long64Unsigned = _integer_type(
        "Long64Unsigned", DataType.LONG64_UNSIGNED, "Q", "DLMS long64-unsigned."
    )
    Enum = _integer_type("Enum", DataType.ENUM, "B", "DLMS enum: one byte, 0..255.")
    Bcd = _integer_type(
        "Bcd", DataType.BCD, "B", "DLMS bcd: one byte holding two BCD digits, kept raw (0..255)."
    )
    DeltaInteger = _integer_type("DeltaInteger", DataType.DELTA_INTEGER, "b", "delta-integer.")
    DeltaLong = _integer_type("DeltaLong", DataType.DELTA_LONG, "h", "delta-long.")
    DeltaDoubleLong = _integer_type(
        "DeltaDoubleLong", DataType.DELTA_DOUBLE_LONG, "i", "delta-double-long."
    )
    DeltaUnsigned = _integer_type("DeltaUnsigned", DataType.DELTA_UNSIGNED, "B", "delta-unsigned.")
    DeltaLongUnsigned = _integer_type(
        "DeltaLongUnsigned", DataType.DELTA_LONG_UNSIGNED, "H", "delta-long-unsigned."
    )
    DeltaDoubleLongUnsigned = _integer_type(
        "DeltaDoubleLongUnsigned",
        DataType.DELTA_DOUBLE_LONG_UNSIGNED,
        "I",
        "delta-double-long-unsigned.",
    )

INTEGER_TYPES: dict[DataType, type[TypedInteger]] = {
    cls.data_type: cls
    for cls in (
        Integer,
        Long,
        DoubleLong,
        Long64,
        Unsigned,
        LongUnsigned,
        DoubleLongUnsigned,
        Long64Unsigned,
        Enum,
        Bcd,
        DeltaInteger,
        DeltaLong,
        DeltaDoubleLong,
        DeltaUnsigned,
        DeltaLongUnsigned,
        DeltaDoubleLongUnsigned,
    )
}


# ---------------------------------------------------------------------------------------------
# Floating point


class Float32(float):
    """DLMS float32 (IEEE 754 single precision).

    A NaN keeps its exact four bytes (``raw``), since converting a single-precision NaN to a
    Python float may change its payload.
    """

    __slots__ = ("raw",)
    data_type: ClassVar[DataType] = DataType.FLOAT32
    raw: bytes | None

    def __new__(cls, value: float = 0.0, raw: bytes | None = None) -> Self:
        number = float.__new__(cls, value)
        if raw is None and not math.isnan(number) and not math.isinf(number):
            try:
                struct.pack(">f", number)
            except OverflowError:
                raise EncodeError(f"{number!r} is out of range for float32") from None
        number.raw = raw
        return number

    def __repr__(self) -> str:
        return f"Float32({float(self)!r})"

    def __reduce__(self) -> tuple[type[Float32], tuple[float, bytes | None]]:
        return (Float32, (float(self), self.raw))


class Float64(float):
    """DLMS float64 (IEEE 754 double precision)."""

    __slots__ = ()
    data_type: ClassVar[DataType] = DataType.FLOAT64

    def __repr__(self) -> str:
        return f"Float64({float(self)!r})"


# ---------------------------------------------------------------------------------------------
# Strings


class OctetString(bytes):
    """DLMS octet-string. COSEM date-times travel as 12-byte octet strings: see
    :meth:`to_date_time`."""

    __slots__ = ()
    data_type: ClassVar[DataType] = DataType.OCTET_STRING

    def __repr__(self) -> str:
        return f"OctetString(bytes.fromhex({self.hex()!r}))"

    def to_date_time(self) -> DateTime:
        """Interpret the 12 bytes as a COSEM date-time."""
        from .clock import DateTime

        return DateTime.from_bytes(self)

    def to_date(self) -> Date:
        """Interpret the 5 bytes as a COSEM date."""
        from .clock import Date

        return Date.from_bytes(self)

    def to_time(self) -> Time:
        """Interpret the 4 bytes as a COSEM time."""
        from .clock import Time

        return Time.from_bytes(self)


class VisibleString(str):
    """DLMS visible-string. Bytes are mapped one to one (Latin-1), so any byte survives."""

    __slots__ = ()
    data_type: ClassVar[DataType] = DataType.VISIBLE_STRING

    def __repr__(self) -> str:
        return f"VisibleString({str.__repr__(self)})"


class Utf8String(str):
    """DLMS utf8-string. Invalid UTF-8 from a meter is kept (surrogate escapes)."""

    __slots__ = ()
    data_type: ClassVar[DataType] = DataType.UTF8_STRING

    def __repr__(self) -> str:
        return f"Utf8String({str.__repr__(self)})"


@dataclass(frozen=True, slots=True)
class BitString:
    """DLMS bit-string: ``length`` bits, most significant bit of ``data[0]`` first.

    ``BitString.from_bits("1011")`` builds one from text; ``str(b)`` gives the bits back.
    Unused bits of the last byte are kept as they were received.
    """

    data: bytes
    length: int
    data_type: ClassVar[DataType] = DataType.BIT_STRING

    def __post_init__(self) -> None:
        if self.length < 0 or len(self.data) != (self.length + 7) // 8:
            raise EncodeError(
                f"a bit-string of {self.length} bits needs {(max(self.length, 0) + 7) // 8} "
                f"bytes, got {len(self.data)}"
            )

    @classmethod
    def from_bits(cls, bits: str) -> BitString:
        """Build from a string of ``0`` and ``1`` characters, first bit first."""
        if bits.strip("01"):
            raise EncodeError(f"a bit string holds only '0' and '1', got {bits!r}")
        length = len(bits)
        padded = bits + "0" * (-length % 8)
        data = int(padded, 2).to_bytes(len(padded) // 8, "big") if padded else b""
        return cls(data, length)

    @classmethod
    def from_bools(cls, bools: list[bool] | tuple[bool, ...]) -> BitString:
        """Build from a sequence of booleans, first bit first."""
        return cls.from_bits("".join("1" if b else "0" for b in bools))

    def to_bools(self) -> list[bool]:
        """The bits as booleans, first bit first."""
        return [c == "1" for c in str(self)]

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> bool:
        if not -self.length <= index < self.length:
            raise IndexError("bit index out of range")
        index %= self.length
        return bool(self.data[index >> 3] & (0x80 >> (index & 7)))

    def __str__(self) -> str:
        if not self.data:
            return ""
        return format(int.from_bytes(self.data, "big"), f"0{len(self.data) * 8}b")[: self.length]


class DontCare:
    """DLMS dont-care (tag 255, no content). Use the singleton :data:`DONT_CARE`."""

    __slots__ = ()
    data_type: ClassVar[DataType] = DataType.DONT_CARE
    _instance: ClassVar[DontCare | None] = None

    def __new__(cls) -> DontCare:
        if cls._instance is None:
            cls._instance = object.__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "DONT_CARE"


DONT_CARE = DontCare()


# ---------------------------------------------------------------------------------------------
# Constructed types


class Array(tuple["DlmsValue", ...]):
    """DLMS array: a sequence of values of one type. A plain ``list`` encodes as an array."""

    __slots__ = ()
    data_type: ClassVar[DataType] = DataType.ARRAY

    def __repr__(self) -> str:
        return f"Array({list(self)!r})"


class Structure(tuple["DlmsValue", ...]):
    """DLMS structure: a sequence of values of any types. A plain ``tuple`` encodes as one."""

    __slots__ = ()
    data_type: ClassVar[DataType] = DataType.STRUCTURE

    def __repr__(self) -> str:
        return f"Structure({list(self)!r})"


@dataclass(frozen=True, slots=True)
class TypeDescription:
    """The type of the elements of a compact-array (Blue Book ``TypeDescription``).

    ``TypeDescription(DataType.LONG_UNSIGNED)`` for a simple type,
    ``TypeDescription.array(3, td)`` for an array of ``number_of_elements`` values of ``td``,
    ``TypeDescription.structure(td1, td2, ...)`` for a structure.
    """

    data_type: DataType
    elements: tuple[TypeDescription, ...] = ()
    number_of_elements: int = 0

    def __post_init__(self) -> None:
        if self.data_type is DataType.ARRAY:
            if len(self.elements) != 1 or not 0 <= self.number_of_elements <= 0xFFFF:
                raise EncodeError("an array type description has one element type and 0..65535")
        elif self.data_type is not DataType.STRUCTURE and self.elements:
            raise EncodeError(
                f"a {self.data_type.name.lower()} type description has no element types"
            )

    @classmethod
    def array(cls, number_of_elements: int, element: TypeDescription) -> TypeDescription:
        """An array of ``number_of_elements`` values described by ``element``."""
        return cls(DataType.ARRAY, (element,), number_of_elements)

    @classmethod
    def structure(cls, *elements: TypeDescription) -> TypeDescription:
        """A structure of the given member types."""
        return cls(DataType.STRUCTURE, tuple(elements))


@dataclass(frozen=True, slots=True)
class CompactArray:
    """DLMS compact-array: elements of one type sent without per-element tags.

    ``elements`` are the decoded elements (``Structure`` for a structure description,
    ``Array`` for an array description, typed values otherwise).
    """

    type_description: TypeDescription
    elements: tuple[DlmsValue, ...] = field(default=())
    data_type: ClassVar[DataType] = DataType.COMPACT_ARRAY


DlmsValue = Union[
    None,
    bool,
    int,
    float,
    str,
    bytes,
    BitString,
    "DateTime",
    "Date",
    "Time",
    Array,
    Structure,
    CompactArray,
    DontCare,
    list["DlmsValue"],
    tuple["DlmsValue", ...],
]
"""Any value :func:`asyncdlms.axdr.encode` takes and :func:`asyncdlms.axdr.decode` returns."""
