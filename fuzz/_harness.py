"""Shared plumbing for the atheris targets in fuzz/.

A target module defines ``TestOneInput(data: bytes) -> None`` that feeds ``data``
to one parser and lets only that parser's ``ParseError`` through silently; any
other exception or a crash is a finding.  ``seeds()`` returns the vectors the
corpus starts from.  Run one with ``python fuzz/run.py NAME --seconds 60``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def main(test_one_input: Callable[[bytes], None], seeds: Iterable[bytes], argv: list[str]) -> None:
    import atheris

    corpus = Path(argv[0]).with_name("corpus") / Path(argv[0]).stem
    corpus.mkdir(parents=True, exist_ok=True)
    for i, seed in enumerate(seeds):
        (corpus / f"seed-{i}").write_bytes(seed)
    atheris.Setup([argv[0], str(corpus), *argv[1:]], test_one_input)
    atheris.Fuzz()
