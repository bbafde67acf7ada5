"""rtcengine <-> rtcengine over loopback: the issue-6 data-channel matrix
with each side offering (tests/pc_matrix.py)."""

from __future__ import annotations

import pytest

from tests.pc_matrix import (  # noqa: F401 - collected by pytest
    test_bulk_10mb_each_way,
    test_close_channel_from_either_side,
    test_close_peer_connection_answerer,
    test_close_peer_connection_offerer,
    test_messages_both_ways,
    test_reliability_options_cross,
    test_renegotiation_adds_a_channel,
    test_stats_counters_move,
)


@pytest.fixture(params=[("rtcengine", "rtcengine")], ids=["self"])
def pair(request: pytest.FixtureRequest) -> tuple[str, str]:
    value: tuple[str, str] = request.param
    return value
