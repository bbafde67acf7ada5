"""Package-level promises: no pure-Python fallback, the sans-IO rule, typing files."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import rtcengine

PKG = Path(rtcengine.__file__).resolve().parent
CORE = PKG / "_core"


def test_import_without_extensions_says_how_to_build(tmp_path: Path) -> None:
    # DESIGN.md rule 6: a checkout without the compiled core must not import quietly.
    shutil.copytree(PKG, tmp_path / "rtcengine", ignore=shutil.ignore_patterns("*.so", "*.pyd"))
    proc = subprocess.run(
        [sys.executable, "-S", "-c", "import rtcengine"],    # -S: no editable finder
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode != 0
    assert "compiled core (rtcengine._core) is not built" in proc.stderr
    assert "build_ext --inplace" in proc.stderr


# The one module allowed to wrap socket syscalls (DESIGN.md rule 1).
IO_MODULES = {"udp"}
FORBIDDEN = [
    re.compile(r"^\s*(import|from)\s+(asyncio|socket|time|selectors|threading)\b", re.M),
    re.compile(r"\b(time\.(time|monotonic|perf_counter)|clock_gettime|gettimeofday)\s*\("),
]


def core_sources() -> list[Path]:
    return sorted(p for p in CORE.glob("*.py*") if p.suffix in (".pyx", ".pxd", ".py"))


def test_core_is_sans_io() -> None:
    offenders = []
    for src in core_sources():
        if src.stem in IO_MODULES:
            continue
        text = src.read_text(encoding="utf-8")
        for pattern in FORBIDDEN:
            for m in pattern.finditer(text):
                offenders.append(f"{src.name}: {m.group(0).strip()}")
    assert not offenders, "the _core must take time and I/O from its driver: " + ", ".join(
        offenders
    )


def test_every_core_module_has_a_stub_and_a_test() -> None:
    tests = Path(__file__).resolve().parent / "core"
    missing = []
    for pyx in CORE.glob("*.pyx"):
        if not pyx.with_suffix(".pyi").exists():
            missing.append(f"{pyx.stem}.pyi")
        if pyx.stem != "buffer" and not (tests / f"test_{pyx.stem}.py").exists():
            missing.append(f"tests/core/test_{pyx.stem}.py")
    assert not missing, f"missing: {missing}"
    assert (PKG / "py.typed").exists()


def test_openssl_declared_once() -> None:
    # DESIGN.md rule 4: one extern block for OpenSSL.
    others = [
        p.name
        for p in CORE.glob("*.p*")
        if p.name != "openssl.pxd" and re.search(r'cdef extern from "openssl/', p.read_text())
    ]
    assert not others, f"OpenSSL declared outside openssl.pxd: {others}"


def test_package_code_does_not_import_the_test_tree() -> None:
    # An installed wheel has no tests/ package (the RTCP bench once imported it).
    offenders = [
        f"{p.relative_to(PKG.parent)}:{i}"
        for p in PKG.rglob("*.py")
        for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if re.match(r"\s*(from|import)\s+tests\b", line)
    ]
    assert not offenders, offenders
