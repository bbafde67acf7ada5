"""Load the test vectors carried in tests/data/vectors (see its README)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

VECTORS = Path(__file__).resolve().parent / "data" / "vectors"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "vectors"


def load(relpath: str) -> Any:
    """Parse a JSON vector file, e.g. ``load("stun/rfc5769.json")``."""
    with open(VECTORS / relpath, encoding="utf-8") as f:
        return json.load(f)


def path(relpath: str) -> Path:
    return VECTORS / relpath
