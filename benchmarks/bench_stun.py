"""STUN: rtcengine vs aioice (aiortc's STUN)."""

from benchmarks.cases import make_tests

test_rtcengine, test_baseline = make_tests("stun")
