"""Property test: random operation sequences (datagrams, signed checks with
random attributes, responses, timers, candidates, restarts) never make the
agent raise (the atheris target fuzz/fuzz_ice.py runs the same interpreter)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from fuzz.fuzz_ice import run, seeds


def test_seeds_run() -> None:
    for seed in seeds():
        run(seed)


@given(st.binary(max_size=400))
def test_random_sequences(data: bytes) -> None:
    run(data)


@given(
    st.lists(
        st.tuples(st.integers(0, 255), st.binary(max_size=40)),
        max_size=30,
    ),
    st.integers(0, 3),
)
def test_structured_sequences(ops: list[tuple[int, bytes]], mode: int) -> None:
    data = bytes([mode]) + b"".join(bytes([op, len(chunk)]) + chunk for op, chunk in ops)
    run(data)
