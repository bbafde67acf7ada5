"""ICE (RFC 8445): candidates, a sans-IO agent and its asyncio driver.

``candidate``: the candidate-attribute grammar (RFC 8839 §5.1), priorities and
foundations.  ``agent``: the sans-IO agent (checklists, nomination, trickle,
consent freshness, restart, ICE-lite).  ``driver``: the asyncio driver that owns
sockets, clock and timers.  ``relay``: the TURN client interface.  ``mdns``: the
mDNS codec for ``.local`` candidates.
"""

from rtcengine.ice.agent import GatheringState, IceAgent, IceState
from rtcengine.ice.candidate import (
    Candidate,
    ParseError,
    candidate_foundation,
    candidate_priority,
)
from rtcengine.ice.config import IceConfig, IceServer

__all__ = [
    "Candidate",
    "GatheringState",
    "IceAgent",
    "IceState",
    "IceConfig",
    "IceServer",
    "ParseError",
    "candidate_foundation",
    "candidate_priority",
]
