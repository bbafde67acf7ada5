"""Turn the workloads of ``rtcengine._bench`` into pytest-benchmark tests.

Each ``benchmarks/bench_<concern>.py`` calls :func:`make_tests` so pytest-benchmark
times the very same callables as ``rtcengine bench``; ours and the baseline share
a benchmark group, so ``--benchmark-compare``/group tables show them side by side.
"""

from __future__ import annotations

from typing import Any

import pytest

from rtcengine._bench import Case, load_cases


def make_tests(concern: str) -> tuple[Any, Any]:
    cases = load_cases([concern])
    ids = [c.name for c in cases]

    @pytest.mark.parametrize("case", cases, ids=ids)
    def test_rtcengine(benchmark: Any, case: Case) -> None:
        benchmark.group = case.name
        benchmark.extra_info["ops_per_call"] = case.ops_per_call
        benchmark(case.ours)

    with_base = [c for c in cases if c.baseline is not None]

    @pytest.mark.parametrize("case", with_base, ids=[c.name for c in with_base])
    def test_baseline(benchmark: Any, case: Case) -> None:
        benchmark.group = case.name
        benchmark.extra_info["baseline"] = case.baseline_name
        assert case.baseline is not None
        benchmark(case.baseline)

    return test_rtcengine, test_baseline
