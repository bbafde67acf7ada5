"""The vectors carried in tests/data must equal the team's shared set."""

from __future__ import annotations

import pytest

from tests.vectors import SHARED, VECTORS


def shared_files() -> list[str]:
    if not SHARED.is_dir():
        return []
    return sorted(
        str(p.relative_to(SHARED)) for p in SHARED.rglob("*") if p.is_file() and p.name != "README.md"
    )


@pytest.mark.skipif(not SHARED.is_dir(), reason=f"shared vectors not present at {SHARED}")
@pytest.mark.parametrize("rel", shared_files())
def test_copy_matches_shared(rel: str) -> None:
    ours = VECTORS / rel
    assert ours.is_file(), f"{rel} is in ../shared/vectors but not carried into tests/data/vectors"
    assert ours.read_bytes() == (SHARED / rel).read_bytes(), f"{rel} differs from ../shared/vectors"
