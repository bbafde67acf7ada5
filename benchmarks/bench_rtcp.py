"""RTCP: rtcengine vs aiortc (compound parse, NACK build), plus TWCC and C-level walks."""

from benchmarks.cases import make_tests

test_rtcengine, test_baseline = make_tests("rtcp")
