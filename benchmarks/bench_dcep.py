"""DCEP messages: rtcengine (aiortc has no standalone DCEP parser)."""

from benchmarks.cases import make_tests

test_rtcengine, test_baseline = make_tests("dcep")
