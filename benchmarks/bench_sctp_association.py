"""SCTP association in memory: rtcengine's sans-IO Association vs aiortc's RTCSctpTransport."""

from benchmarks.cases import make_tests

test_rtcengine, test_baseline = make_tests("sctp_association")
