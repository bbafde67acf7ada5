"""ICE: binding requests answered by an agent, rtcengine vs aioice."""

from benchmarks.cases import make_tests

test_rtcengine, test_baseline = make_tests("ice")
