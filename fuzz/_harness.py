"""Shared plumbing for the atheris targets in fuzz/.

A target module defines ``TestOneInput(data: bytes) -> None`` that feeds ``data``
to one parser and lets only that parser's ``ParseError`` through silently; any
other exception or a crash is a finding.  ``seeds()`` returns the vectors the
corpus starts from.  Run one with ``python fuzz/run.py NAME --seconds 60``.

Coverage: a clang build (``-fsanitize=fuzzer-no-link``) gives libFuzzer the C
edges of the Cython core; the pure-Python code under ``rtcengine/`` (SDP, ICE,
TURN, the targets' own glue) is instrumented here with atheris' bytecode
instrumentation, so both count in ``cov:``/``ft:``.
"""

from __future__ import annotations

import gc
import os
import sys
import types
from collections.abc import Callable, Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def _instrument_python(package_dir: Path) -> int:
    """Instrument every Python function already loaded from ``package_dir``.

    ``atheris.instrument_all()`` would also instrument the standard library and
    the fuzzer's own helpers (slow, and noise in the coverage figures); this
    keeps it to the package under test.
    """
    import atheris

    prefix = str(package_dir) + os.sep
    count = 0
    for obj in gc.get_objects():
        if not isinstance(obj, types.FunctionType):
            continue
        code = obj.__code__
        if not code.co_filename.startswith(prefix):
            continue
        try:
            atheris.instrument_func(obj)
        except Exception as e:  # noqa: BLE001 - report and keep fuzzing the rest
            sys.stderr.write(f"INFO: not instrumented {obj.__qualname__}: {e}\n")
        else:
            count += 1
    return count


def main(test_one_input: Callable[[bytes], None], seeds: Iterable[bytes], argv: list[str]) -> None:
    import atheris

    import rtcengine

    package = Path(rtcengine.__file__).resolve().parent
    if package != ROOT / "rtcengine":
        sys.exit(f"fuzzing {package}, not this tree's {ROOT / 'rtcengine'}: check sys.path")
    n = _instrument_python(package)
    sys.stderr.write(f"INFO: rtcengine from {package}; {n} Python functions instrumented\n")

    args = list(argv[1:])
    if not any(not a.startswith("-") for a in args):
        # No inputs named: fuzz from the target's corpus directory, seeded with
        # its vectors.  (Named files are run once each, libFuzzer's replay mode.)
        base = os.environ.get("RTCENGINE_FUZZ_CORPUS") or Path(argv[0]).with_name("corpus")
        corpus = Path(base) / Path(argv[0]).stem
        corpus.mkdir(parents=True, exist_ok=True)
        for i, seed in enumerate(seeds):
            (corpus / f"seed-{i}").write_bytes(seed)
        args.append(str(corpus))
    atheris.Setup([argv[0], *args], test_one_input)
    atheris.Fuzz()
