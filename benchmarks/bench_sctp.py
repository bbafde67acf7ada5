"""SCTP packets and chunks: rtcengine vs aiortc.rtcsctptransport."""

from benchmarks.cases import make_tests

test_rtcengine, test_baseline = make_tests("sctp")
