"""The README's promises: its example runs as written."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def block(marker: str) -> str:
    text = README.read_text(encoding="utf-8")
    m = re.search(rf"<!-- {marker} -->\s*```\w+\n(.*?)```", text, re.S)
    assert m, f"README has no block after <!-- {marker} -->"
    return m.group(1)


@pytest.mark.skipif(not README.exists(), reason="needs the source tree")
def test_readme_example_runs() -> None:
    # The aiortc-style data-channel example: it must print the echoed message.
    proc = subprocess.run(
        [sys.executable, "-c", block("example")], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "echo: hello"
