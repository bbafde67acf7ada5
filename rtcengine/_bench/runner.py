"""Time :class:`Case` objects side by side and render the results."""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

from rtcengine._bench import Case


@dataclass
class Result:
    name: str
    ours_ops: float
    baseline_ops: float | None
    baseline_name: str
    ratio: float | None
    target_ratio: float | None
    ours_mb_s: float | None
    note: str

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def calibrate(fn: Callable[[], object], seconds: float) -> int:
    """How many calls of ``fn`` take about ``seconds``."""
    n = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        dt = time.perf_counter() - t0
        if dt >= seconds / 5 or n >= 1 << 24:
            break
        n *= 2
    return max(1, int(n * (seconds / max(dt, 1e-9))))


def sample(fn: Callable[[], object], loops: int, ops_per_call: int) -> float:
    """One timing sample of ``loops`` calls, in ops/s."""
    t0 = time.perf_counter()
    for _ in range(loops):
        fn()
    return loops * ops_per_call / (time.perf_counter() - t0)


def run_case(case: Case, seconds: float = 0.2, repeats: int = 5) -> Result:
    """Time ours and the baseline in alternating samples (ours, baseline, ours, ...)
    so load on a shared machine hits both alike; report medians and their ratio."""
    ours_loops = calibrate(case.ours, seconds)
    base_loops = calibrate(case.baseline, seconds) if case.baseline is not None else 0
    ours_samples: list[float] = []
    base_samples: list[float] = []
    gc_was = gc.isenabled()
    gc.disable()
    try:
        for _ in range(repeats):
            ours_samples.append(sample(case.ours, ours_loops, case.ops_per_call))
            if case.baseline is not None:
                base_samples.append(sample(case.baseline, base_loops, case.baseline_ops_per_call))
    finally:
        if gc_was:
            gc.enable()
    ours = statistics.median(ours_samples)
    base = statistics.median(base_samples) if base_samples else None
    mb_s = ours * case.bytes_per_op / 1e6 if case.bytes_per_op else None
    return Result(
        name=case.name,
        ours_ops=ours,
        baseline_ops=base,
        baseline_name=case.baseline_name,
        ratio=(ours / base) if base else None,
        target_ratio=case.target_ratio,
        ours_mb_s=mb_s,
        note=case.note,
    )


def human(ops: float | None) -> str:
    if ops is None:
        return "—"
    for unit, div in (("M", 1e6), ("k", 1e3)):
        if ops >= div:
            return f"{ops / div:.2f} {unit}"
    return f"{ops:.0f}"


def render_table(results: list[Result]) -> str:
    """A Markdown table: what, ours ops/s, baseline ops/s, ratio, target."""
    lines = [
        "| workload | rtcengine ops/s | baseline | baseline ops/s | ratio | target |",
        "|---|---:|---|---:|---:|---:|",
    ]
    for r in results:
        ratio = f"{r.ratio:.1f}×" if r.ratio else "—"
        target = f"≥ {r.target_ratio:g}×" if r.target_ratio else ""
        if r.ratio and r.target_ratio:
            target += " ✓" if r.ratio >= r.target_ratio else " ✗"
        name = r.name + (f" ({r.ours_mb_s:.0f} MB/s)" if r.ours_mb_s else "")
        if r.note:
            name += f" — {r.note}"
        lines.append(
            f"| {name} | {human(r.ours_ops)} | {r.baseline_name or '—'} | "
            f"{human(r.baseline_ops)} | {ratio} | {target} |"
        )
    return "\n".join(lines)
