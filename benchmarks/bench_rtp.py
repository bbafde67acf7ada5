"""RTP (RFC 3550 + RFC 8285): rtcengine vs aiortc RtpPacket."""

from benchmarks.cases import make_tests

test_rtcengine, test_baseline = make_tests("rtp")
