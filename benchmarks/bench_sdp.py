"""SDP: rtcengine.sdp vs aiortc.sdp on a Chromium offer."""

from benchmarks.cases import make_tests

test_rtcengine, test_baseline = make_tests("sdp")
