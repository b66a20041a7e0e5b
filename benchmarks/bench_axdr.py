"""A-XDR decoding of a profile-generic buffer, asyncdlms against gurux-dlms.

The buffer is what a meter sends for attribute 2 of a load profile: an array of 1000
structures of 4 columns (date-time, double-long-unsigned x2, long), with the capture time
encoded both ways meters do: as octet-string(12) and with the date-time tag (0x19).
Interleaved repeats, best CPU time, ratio measured in the same run.

    python benchmarks/bench_axdr.py
"""

from __future__ import annotations

import struct

from harness import best_cpu_time, best_time, report

from asyncdlms import axdr

ROWS = 1000


def profile_buffer(rows: int = ROWS, date_time_tag: bool = False) -> bytes:
    """An encoded array of ``rows`` rows {date-time, dlu, dlu, long}, 15 minutes apart."""
    out = bytearray(b"\x01" + axdr.encode_length(rows))
    for i in range(rows):
        minutes = i * 15
        clock = struct.pack(
            ">HBBBBBBBhB",
            2024,
            1,
            1 + minutes // 1440,
            0xFF,
            minutes // 60 % 24,
            minutes % 60,
            0,
            0,
            -60,
            0,
        )
        out += (b"\x02\x04\x19" if date_time_tag else b"\x02\x04\x09\x0c") + clock
        out += b"\x06" + struct.pack(">I", 100_000 + i * 13)
        out += b"\x06" + struct.pack(">I", 50_000 + i * 7)
        out += b"\x10" + struct.pack(">h", i % 300 - 150)
    return bytes(out)


def read_profile_path() -> None:
    """What ``Client.read_profile`` does with the bytes (decode, then rows with their
    timestamps: ``parse_buffer``) against gurux-dlms's ``getData`` + ``updateValue`` of a
    GXDLMSProfileGeneric (rows with GXDateTime timestamps)."""
    from asyncdlms.cosem.profile import CaptureObject, parse_buffer
    from asyncdlms.obis import Obis

    columns = [CaptureObject(8, Obis("0.0.1.0.0.255"), 2, 0)] + [
        CaptureObject(3, Obis(f"1.0.{kind}.8.0.255"), 2, 0) for kind in (1, 2, 3)
    ]
    try:
        from gurux_dlms import GXByteBuffer, GXDLMSClient, GXDLMSSettings
        from gurux_dlms.internal._GXCommon import _GXCommon
        from gurux_dlms.internal._GXDataInfo import _GXDataInfo
        from gurux_dlms.objects import (
            GXDLMSCaptureObject,
            GXDLMSClock,
            GXDLMSProfileGeneric,
            GXDLMSRegister,
        )
    except ImportError:
        return
    for tag, label in ((False, "octet-string(12)"), (True, "date-time tag 0x19")):
        data = profile_buffer(date_time_tag=tag)

        def ours(data: bytes = data) -> object:
            return parse_buffer(axdr.decode(data), columns)

        def theirs(data: bytes = data) -> object:
            client = GXDLMSClient(True)
            profile = GXDLMSProfileGeneric("1.0.99.1.0.255")
            objects = [GXDLMSClock("0.0.1.0.0.255")] + [
                GXDLMSRegister(f"1.0.{kind}.8.0.255") for kind in (1, 2, 3)
            ]
            for item in objects:
                profile.captureObjects.append((item, GXDLMSCaptureObject(2, 0)))
            settings = GXDLMSSettings(False, None)
            value = _GXCommon.getData(settings, GXByteBuffer(data), _GXDataInfo())
            client.updateValue(profile, 2, value)
            return profile.buffer

        assert len(ours()) == ROWS and len(theirs()) == ROWS  # type: ignore[arg-type]
        mine = best = float("inf")
        for _ in range(3):  # interleaved
            mine = min(mine, best_cpu_time(ours, repeat=3))
            best = min(best, best_cpu_time(theirs, repeat=1))
        report(f"read_profile path, {label}", mine, best, ROWS, "rows")


def main() -> None:
    import os

    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    for tag, label in ((False, "octet-string(12)"), (True, "date-time tag 0x19")):
        data = profile_buffer(date_time_tag=tag)
        try:
            from gurux_dlms import GXByteBuffer, GXDLMSSettings
            from gurux_dlms.internal._GXCommon import _GXCommon
            from gurux_dlms.internal._GXDataInfo import _GXDataInfo
        except ImportError:
            gurux_decode = None
        else:
            settings = GXDLMSSettings(False, None)

            def gurux_decode(settings: object = settings, data: bytes = data) -> object:
                return _GXCommon.getData(settings, GXByteBuffer(data), _GXDataInfo())

            assert len(gurux_decode()) == ROWS  # type: ignore[arg-type]
        ours = theirs = float("inf")
        for _ in range(3):  # interleaved
            ours = min(ours, best_cpu_time(lambda data=data: axdr.decode(data), repeat=5))
            if gurux_decode is not None:
                theirs = min(theirs, best_cpu_time(gurux_decode, repeat=2))
        print(f"profile-generic buffer: {ROWS} rows x 4 columns, capture time as {label}, "
              f"{len(data)} bytes")  # fmt: skip
        report("decode (A-XDR values)", ours, theirs if gurux_decode else None, ROWS, "rows")
    read_profile_path()
    data = profile_buffer()
    ours_with_clock = best_time(
        lambda: [row[0].to_date_time() for row in axdr.decode(data)], repeat=15
    )
    ours_encode = best_time(lambda: axdr.encode(axdr.decode(data)), repeat=15)
    report("decode + DateTime of every row", ours_with_clock, None, ROWS, "rows")
    report("decode + encode again", ours_encode, None, ROWS, "rows")


if __name__ == "__main__":
    main()
