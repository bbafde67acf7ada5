"""rtcengine <-> aiortc: the issue-6 data-channel matrix (tests/pc_matrix.py)
with each engine offering."""

from __future__ import annotations

import pytest

from tests.pc_matrix import (  # noqa: F401 - collected by pytest
    BULK_BYTES,
    bulk_each_way,
    test_close_channel_from_either_side,
    test_close_peer_connection_answerer,
    test_close_peer_connection_offerer,
    test_messages_both_ways,
    test_reliability_options_cross,
    test_renegotiation_adds_a_channel,
    test_stats_counters_move,
)

pytest.importorskip("aiortc")
pytestmark = pytest.mark.interop


@pytest.fixture(params=[("rtcengine", "aiortc"), ("aiortc", "rtcengine")],
                ids=["rtcengine-offers", "aiortc-offers"])
def pair(request: pytest.FixtureRequest) -> tuple[str, str]:
    value: tuple[str, str] = request.param
    return value


def test_bulk_1mb_each_way(pair: tuple[str, str]) -> None:
    bulk_each_way(pair, 1000 * 1000)


@pytest.mark.slow
def test_bulk_10mb_each_way(pair: tuple[str, str]) -> None:
    # aiortc moves ~1-16 MB/s here depending on load (its SCTP stack is pure Python).
    bulk_each_way(pair, BULK_BYTES, timeout=300)
