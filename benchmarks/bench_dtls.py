"""DTLS: rtcengine vs pyOpenSSL as aiortc drives it (records and handshakes)."""

from benchmarks.cases import make_tests

test_rtcengine, test_baseline = make_tests("dtls")
