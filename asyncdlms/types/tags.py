"""The tags of the DLMS ``Data`` CHOICE (IEC 62056-6-2, the Blue Book's data types)."""

from __future__ import annotations

from enum import IntEnum

__all__ = ["DataType"]


class DataType(IntEnum):
    """The tag byte that precedes every A-XDR encoded ``Data`` value."""

    null_data = 0
    array = 1
    structure = 2
    boolean = 3
    bit_string = 4
    double_long = 5
    double_long_unsigned = 6
    octet_string = 9
    visible_string = 10
    utf8_string = 12
    bcd = 13
    integer = 15
    long = 16
    unsigned = 17
    long_unsigned = 18
    compact_array = 19
    long64 = 20
    long64_unsigned = 21
    enum = 22
    float32 = 23
    float64 = 24
    date_time = 25
    date = 26
    time = 27
    delta_integer = 28
    delta_long = 29
    delta_double_long = 30
    delta_unsigned = 31
    delta_long_unsigned = 32
    delta_double_long_unsigned = 33
    dont_care = 255
