"""UDP loopback: our batched endpoint vs asyncio DatagramProtocol and blocking sockets."""

from benchmarks.cases import make_tests

test_rtcengine, test_baseline = make_tests("udp")
