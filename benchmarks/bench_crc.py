"""CRC-32c: rtcengine vs google-crc32c (aiortc's SCTP checksum)."""

from benchmarks.cases import make_tests

test_rtcengine, test_baseline = make_tests("crc")
