"""Fuzzer findings stay fixed: every input under tests/data/fuzz_regressions/<target>/
goes through ``fuzz/fuzz_<target>.py``'s ``TestOneInput`` in the normal build.

Each file there is an input an atheris run (fuzz/run.py, fuzz/ci.sh) once
crashed or failed on, minimised; docs/hardening.md names the bug and the fix.
The targets' own seed vectors run through them too, so a target broken by an
API change fails here, not only in the sanitizer pass.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]
FUZZ = ROOT / "fuzz"
REGRESSIONS = Path(__file__).resolve().parent / "data" / "fuzz_regressions"

TARGETS = sorted(p.stem.removeprefix("fuzz_") for p in FUZZ.glob("fuzz_*.py"))
CASES = sorted(
    (d.name, f)
    for d in REGRESSIONS.iterdir()
    if d.is_dir()
    for f in d.iterdir()
    if f.is_file() and not f.name.startswith(".")
) if REGRESSIONS.is_dir() else []


def target(name: str) -> ModuleType:
    return importlib.import_module(f"fuzz.fuzz_{name}")


def test_every_regression_directory_names_a_target() -> None:
    assert REGRESSIONS.is_dir()
    dirs = {d.name for d in REGRESSIONS.iterdir() if d.is_dir()}
    assert dirs <= set(TARGETS), f"no fuzz target for {sorted(dirs - set(TARGETS))}"


@pytest.mark.parametrize(
    ("name", "path"), CASES, ids=[f"{n}/{p.name}" for n, p in CASES]
)
def test_regression_input(name: str, path: Path) -> None:
    target(name).TestOneInput(path.read_bytes())


@pytest.mark.parametrize("name", TARGETS)
def test_target_runs_its_seeds(name: str) -> None:
    mod = target(name)
    seeds = list(mod.seeds())
    assert seeds, f"fuzz_{name} has no seed inputs"
    for seed in seeds:
        mod.TestOneInput(seed)
