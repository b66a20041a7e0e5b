"""A-XDR decoding of a profile-generic buffer, asyncdlms against gurux-dlms.

The buffer is what a meter sends for attribute 2 of a load profile: an array of 1000
structures of 4 columns (date-time as octet-string(12), double-long-unsigned x2, long).

    python benchmarks/bench_axdr.py
"""

from __future__ import annotations

import struct

from harness import best_time, report

from asyncdlms import axdr

ROWS = 1000


def profile_buffer(rows: int = ROWS) -> bytes:
    """An encoded array of ``rows`` rows {date-time, dlu, dlu, long}, 15 minutes apart."""
    out = bytearray(b"\x01" + axdr.encode_length(rows))
    for i in range(rows):
        minutes = i * 15
        clock = struct.pack(
            ">HBBBBBBBhB", 2024, 1, 1 + minutes // 1440, 0xFF, minutes // 60 % 24, minutes % 60,
            0, 0, -60, 0,
        )
        out += b"\x02\x04\x09\x0c" + clock
        out += b"\x06" + struct.pack(">I", 100_000 + i * 13)
        out += b"\x06" + struct.pack(">I", 50_000 + i * 7)
        out += b"\x10" + struct.pack(">h", i % 300 - 150)
    return bytes(out)


def main() -> None:
    data = profile_buffer()
    ours = best_time(lambda: axdr.decode(data), repeat=15)
    ours_with_clock = best_time(
        lambda: [row[0].to_date_time() for row in axdr.decode(data)], repeat=15
    )
    ours_encode = best_time(lambda: axdr.encode(axdr.decode(data)), repeat=15)
    try:
        from gurux_dlms import GXByteBuffer, GXDLMSSettings
        from gurux_dlms.internal._GXCommon import _GXCommon
        from gurux_dlms.internal._GXDataInfo import _GXDataInfo
    except ImportError:
        theirs = None
    else:
        settings = GXDLMSSettings(False, None)

        def gurux_decode() -> object:
            return _GXCommon.getData(settings, GXByteBuffer(data), _GXDataInfo())

        rows = gurux_decode()
        assert len(rows) == ROWS  # type: ignore[arg-type]
        theirs = best_time(gurux_decode, repeat=7)
    print(f"profile-generic buffer: {ROWS} rows x 4 columns, {len(data)} bytes")
    report("decode (A-XDR values)", ours, theirs, ROWS, "rows")
    report("decode + DateTime of every row", ours_with_clock, None, ROWS, "rows")
    report("decode + encode again", ours_encode, None, ROWS, "rows")


if __name__ == "__main__":
    main()
