"""SRTP/SRTCP: rtcengine vs pylibsrtp (libsrtp), every DTLS-SRTP profile."""

from benchmarks.cases import make_tests

test_rtcengine, test_baseline = make_tests("srtp")
