"""The truncated-file generators' shared part: SIZE copies of the real capture's traffic (each
copy on loopback addresses of its own, 127.1.x.y, and later in time), then the first half of
one more packet: the cut falls inside a record, after every complete copy."""
import struct
from hostile import TEMPLATE_PCAP, read_pcap


def copies(n):
    """(sec, usec, frame) of n copies of the real capture, then the cut packet's whole frame."""
    _, packets = read_pcap(TEMPLATE_PCAP)
    span = packets[-1][0] - packets[0][0] + 10
    for copy in range(n + 1):
        address = bytes([127, 1, (copy >> 8) & 255, copy & 255])
        for sec, usec, frame in packets:
            frame = bytearray(frame)
            if frame[12:14] == b"\x08\x00":
                frame[26:30] = address
                frame[30:34] = address
            yield sec + copy * span, usec, bytes(frame), copy == n
            if copy == n:
                return


def pcap_records(n):
    """The pcap's bytes in pieces: header, whole records, and last the half record."""
    yield struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1), False
    for sec, usec, frame, cut in copies(n):
        record = struct.pack("<IIII", sec, usec, len(frame), len(frame)) + frame
        yield (record[:len(record) // 2], True) if cut else (record, False)
