"""RTCIceGatherer and RTCIceTransport: the ORTC-style ICE objects an
RTCPeerConnection sits on (W3C webrtc-pc §5.6, ORTC §3-4), with aiortc's
Python shape (``aiortc.rtcicetransport``).

Both wrap one :class:`rtcengine.ice.driver.IceDriver` (sockets, clock, the
connection's single timer) around the sans-IO :class:`IceAgent`.  The
gatherer gathers candidates and owns the local credentials; the transport
takes the remote credentials and candidates and runs connectivity checks.

Differences from aiortc, on purpose:

* ``RTCIceGatherer`` emits ``icecandidate`` per local candidate and ``None``
  at the end (Trickle ICE, RFC 8838 §4), which the peer connection forwards.
* Gatherer states are webrtc-pc's: ``new`` -> ``gathering`` -> ``complete``
  (aiortc says ``completed``).
* Transport states are webrtc-pc §5.6's ``RTCIceTransportState``, driven by
  the agent: ``checking`` -> ``connected`` -> ``completed``, then
  ``disconnected``/``failed`` from consent freshness (RFC 7675).
* ``iceServers=None`` means no server (webrtc-pc's default ``[]``).
* ``role`` has a setter (aiortc code that writes
  ``transport._connection.ice_controlling`` keeps working too).
* A gatherer garbage-collected without ``close()`` releases its sockets
  (its driver's callbacks reach it weakly, and a ``weakref.finalize``
  abandons the driver): the loop, which holds the driver, keeps nothing
  above it alive.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from rtcengine.events import EventEmitter
from rtcengine.exceptions import InvalidStateError
from rtcengine.ice.agent import GatheringState, IceState
from rtcengine.ice.candidate import Candidate
from rtcengine.ice.checklist import CandidatePair
from rtcengine.ice.config import IceConfig, IceServer
from rtcengine.ice.driver import IceDriver

__all__ = [
    "RTCIceCandidate",
    "RTCIceCandidatePair",
    "RTCIceGatherer",
    "RTCIceParameters",
    "RTCIceTransport",
]

logger = logging.getLogger(__name__)


def _weak_callback(method: Callable[..., None]) -> Callable[..., None]:
    """``method`` (bound) as a driver callback that does not keep its object
    alive: the loop holds the driver, and through a strong callback it
    would hold the transports and the peer connection too."""
    ref = weakref.WeakMethod(method)

    def call(*args: Any) -> None:
        bound = ref()
        if bound is not None:
            bound(*args)

    return call


class RTCIceCandidate(Candidate):
    """webrtc-pc §4.8.1 RTCIceCandidate with aiortc's field names
    (``component``, ``foundation``, ``ip``, ``port``, ``priority``,
    ``protocol``, ``type``, ``relatedAddress``, ``relatedPort``, ``sdpMid``,
    ``sdpMLineIndex``, ``tcpType``)."""

    __slots__ = ()


def _rtc_candidate(c: Candidate) -> RTCIceCandidate:
    return RTCIceCandidate(
        component=c.component,
        foundation=c.foundation,
        ip=c.ip,
        port=c.port,
        priority=c.priority,
        protocol=c.protocol,
        type=c.type,
        relatedAddress=c.relatedAddress,
        relatedPort=c.relatedPort,
        sdpMid=c.sdpMid,
        sdpMLineIndex=c.sdpMLineIndex,
        extensions=list(c.extensions),
    )


def _engine_candidate(c: Any) -> Candidate:
    """Our candidate from ours or any object with aiortc's fields (aiortc's
    RTCIceCandidate dataclass included)."""
    if isinstance(c, Candidate):
        return c.copy()
    out = Candidate(
        component=c.component,
        foundation=c.foundation,
        ip=c.ip,
        port=c.port,
        priority=c.priority,
        protocol=str(c.protocol).lower(),
        type=c.type,
        relatedAddress=c.relatedAddress,
        relatedPort=c.relatedPort,
        sdpMid=getattr(c, "sdpMid", None),
        sdpMLineIndex=getattr(c, "sdpMLineIndex", None),
    )
    tcp_type = getattr(c, "tcpType", None)
    if tcp_type is not None:
        out.tcpType = tcp_type
    return out


@dataclass
class RTCIceParameters:
    """webrtc-pc §5.6.2 / ORTC RTCIceParameters."""

    usernameFragment: str | None = None
    "ICE username fragment (RFC 8839 ice-ufrag)."
    password: str | None = None
    "ICE password (RFC 8839 ice-pwd)."
    iceLite: bool = False
    "The agent is ICE-lite (RFC 8445 §2.5)."


@dataclass
class RTCIceCandidatePair:
    """webrtc-pc §5.6.4 RTCIceCandidatePair: the selected local and remote candidates."""

    local: RTCIceCandidate
    remote: RTCIceCandidate


def _ice_servers(servers: Sequence[Any] | None) -> list[IceServer]:
    out = []
    for s in servers or ():
        urls = s.urls
        out.append(IceServer(urls if isinstance(urls, str) else list(urls),
                             getattr(s, "username", None), getattr(s, "credential", None)))
    return out


class RTCIceGatherer(EventEmitter):
    """Gathers host, server-reflexive and relayed candidates (ORTC §3).

    Events: ``statechange``; ``icecandidate`` with an :class:`RTCIceCandidate`
    per local candidate, then ``None`` once gathering is complete (RFC 8838
    §4 end-of-candidates; again after an ICE restart).

    ``iceServers`` holds RTCIceServer-like objects (``urls``, ``username``,
    ``credential``); every URL is used.  ``iceTransportPolicy`` is ``"all"``
    or ``"relay"`` (or the enum).  ``config`` passes every other ICE knob
    (:class:`~rtcengine.ice.config.IceConfig`: interfaces, port range,
    mDNS host hiding, ...); ``agent_options`` reach the
    :class:`~rtcengine.ice.agent.IceAgent` (consent timers, pacing).
    """

    def __init__(
        self,
        iceServers: Sequence[Any] | None = None,  # noqa: N803
        iceTransportPolicy: Any = "all",  # noqa: N803
        local_username: str | None = None,
        local_password: str | None = None,
        *,
        config: IceConfig | None = None,
        **agent_options: Any,
    ) -> None:
        super().__init__()
        cfg = IceConfig() if config is None else config
        if iceServers is not None:
            cfg.iceServers = _ice_servers(iceServers)
        policy = getattr(iceTransportPolicy, "value", iceTransportPolicy)
        if policy not in ("all", "relay"):
            raise TypeError(f"iceTransportPolicy must be 'all' or 'relay', got {policy!r}")
        if config is None or policy != "all":
            cfg.iceTransportPolicy = policy
        if local_username is not None:
            agent_options["ufrag"] = local_username
        if local_password is not None:
            agent_options["pwd"] = local_password
        # The role is decided later (RTCIceTransport.role), controlled until then.
        self._driver = IceDriver(False, cfg, **agent_options)
        self._driver.on_candidate = _weak_callback(self._on_candidate)
        self._driver.on_gathering_state_change = _weak_callback(self._on_gathering_state)
        # Dropped without close(): release the sockets and the timer.  (Not
        # at interpreter exit: the loop is gone by then.)
        self._finalizer = weakref.finalize(self, self._driver.abandon)
        self._finalizer.atexit = False
        self._state = "new"
        self._candidates: list[RTCIceCandidate] = []

    @property
    def state(self) -> str:
        """webrtc-pc RTCIceGathererState: ``new``, ``gathering``, ``complete``
        (ORTC adds ``closed``)."""
        return self._state

    async def gather(self) -> None:
        """Gather candidates; returns when gathering is complete.  Candidates
        are announced with ``icecandidate`` as they are found."""
        if self._state == "closed":
            raise InvalidStateError("RTCIceGatherer is closed")
        await self._driver.gather()

    def getLocalCandidates(self) -> list[RTCIceCandidate]:  # noqa: N802
        """The local candidates gathered so far (as signalled: mDNS names when
        host addresses are hidden)."""
        return list(self._candidates)

    def getLocalParameters(self) -> RTCIceParameters:  # noqa: N802
        """The current local ICE credentials (new ones after a restart)."""
        return RTCIceParameters(
            usernameFragment=self._driver.local_username,
            password=self._driver.local_password,
            iceLite=self._driver.config.ice_lite,
        )

    async def close(self) -> None:
        """Release the sockets (ORTC RTCIceGatherer.close)."""
        if self._state != "closed":
            await self._driver.close()
            self._set_state("closed")

    # ------------------------------------------------------------ driver callbacks

    def _on_candidate(self, candidate: Candidate | None) -> None:
        if candidate is None:
            self.emit("icecandidate", None)
            return
        rtc = _rtc_candidate(candidate)
        # After an ICE restart the same candidates are signalled again.
        if rtc not in self._candidates:
            self._candidates.append(rtc)
        self.emit("icecandidate", rtc)

    def _on_gathering_state(self, state: GatheringState) -> None:
        # webrtc-pc §5.6 RTCIceGathererState follows the agent.
        if self._state != "closed":
            self._set_state(state.value)

    def _set_state(self, state: str) -> None:
        if state != self._state:
            self._state = state
            self.emit("statechange")


class _ConnectionShim:
    """aiortc code sets ``ice_transport._connection.ice_controlling``; this
    maps it onto :attr:`RTCIceTransport.role`."""

    __slots__ = ("_transport",)

    def __init__(self, transport: RTCIceTransport) -> None:
        self._transport = transport

    @property
    def ice_controlling(self) -> bool:
        return self._transport.role == "controlling"

    @ice_controlling.setter
    def ice_controlling(self, value: bool) -> None:
        self._transport.role = "controlling" if value else "controlled"


class RTCIceTransport(EventEmitter):
    """One ICE transport (webrtc-pc §5.6, ORTC §4) over a gatherer.

    Events: ``statechange``, ``gatheringstatechange``,
    ``selectedcandidatepairchange``.
    """

    def __init__(self, gatherer: RTCIceGatherer) -> None:
        super().__init__()
        self._gatherer = gatherer
        self._driver = gatherer._driver
        self._driver.on_state_change = _weak_callback(self._on_state)
        self._driver.on_selected_pair = _weak_callback(self._on_selected_pair)
        gatherer.on("statechange", lambda: self.emit("gatheringstatechange"))
        self._state = "new"
        self._started = False
        self._remote: RTCIceParameters | None = None
        self._waiters: list[asyncio.Future[None]] = []
        #: aiortc's peer connection marks a role decided by signalling.
        self._role_set = False
        self._connection = _ConnectionShim(self)

    # ------------------------------------------------------------ attributes

    @property
    def iceGatherer(self) -> RTCIceGatherer:  # noqa: N802
        return self._gatherer

    @property
    def role(self) -> str:
        """webrtc-pc RTCIceRole: ``controlling`` or ``controlled``."""
        return "controlling" if self._driver.agent.controlling else "controlled"

    @role.setter
    def role(self, value: str) -> None:
        # RFC 8445 §6.1.1: the offerer (or the full agent facing a lite one)
        # is controlling; conflicts are repaired by the agent (§7.3.1.1).
        if value not in ("controlling", "controlled"):
            raise TypeError(f"role must be 'controlling' or 'controlled', got {value!r}")
        if self._state == "closed":
            raise InvalidStateError("RTCIceTransport is closed")
        self._driver.set_role(value == "controlling")

    @property
    def component(self) -> str:
        """webrtc-pc RTCIceComponent: always ``rtp`` (rtcp-mux, RFC 8843)."""
        return "rtp"

    @property
    def state(self) -> str:
        """webrtc-pc §5.6 RTCIceTransportState."""
        return self._state

    @property
    def gatheringState(self) -> str:  # noqa: N802
        return self._gatherer.state

    def getLocalCandidates(self) -> list[RTCIceCandidate]:  # noqa: N802
        return self._gatherer.getLocalCandidates()

    def getLocalParameters(self) -> RTCIceParameters:  # noqa: N802
        return self._gatherer.getLocalParameters()

    def getRemoteParameters(self) -> RTCIceParameters | None:  # noqa: N802
        return self._remote

    def getRemoteCandidates(self) -> list[RTCIceCandidate]:  # noqa: N802
        """Remote candidates of the current generation (signalled and
        peer-reflexive ones learned from checks)."""
        return [_rtc_candidate(c) for c in self._driver.agent.remote_candidates]

    def getSelectedCandidatePair(self) -> RTCIceCandidatePair | None:  # noqa: N802
        pair = self._driver.selected_pair
        if pair is None:
            return None
        return self._pair(pair)

    def _pair(self, pair: CandidatePair) -> RTCIceCandidatePair:
        local = pair.local.candidate
        for signalled in self._gatherer._candidates:
            # Report a local candidate as it was signalled (mDNS name if hidden).
            if (signalled.port == local.port and signalled.type == local.type
                    and signalled.foundation == local.foundation):
                return RTCIceCandidatePair(signalled, _rtc_candidate(pair.remote))
        return RTCIceCandidatePair(_rtc_candidate(local), _rtc_candidate(pair.remote))

    # ------------------------------------------------------------ operations

    async def addRemoteCandidate(self, candidate: Any | None) -> None:  # noqa: N802
        """Add a remote candidate (:class:`RTCIceCandidate` or anything with
        aiortc's candidate fields); ``None`` signals end-of-candidates
        (RFC 8838 §13).  ``.local`` names are resolved with mDNS."""
        if self._state == "closed":
            return
        if candidate is None:
            self._driver.add_remote_candidate(None)
            return
        self._driver.add_remote_candidate(_engine_candidate(candidate))

    async def start(self, remoteParameters: RTCIceParameters) -> None:  # noqa: N803
        """Start connectivity checks with the remote credentials; returns once
        the transport is ``connected``/``completed``, or ``failed``/``closed``
        (as aiortc, failure is a state, not an exception: check ``state``).

        Calling it again with new remote credentials is the remote half of an
        ICE restart (RFC 8445 §9); with the same ones it waits like the first
        call."""
        if self._state == "closed":
            raise InvalidStateError("RTCIceTransport is closed")
        if remoteParameters.usernameFragment is None or remoteParameters.password is None:
            raise TypeError("remote ICE parameters need usernameFragment and password")
        driver = self._driver
        agent = driver.agent
        if (
            agent.remote_username != remoteParameters.usernameFragment
            or self._remote is None
            or self._remote.password != remoteParameters.password
        ):
            self._remote = RTCIceParameters(
                remoteParameters.usernameFragment, remoteParameters.password,
                remoteParameters.iceLite)
            driver.set_remote_credentials(
                remoteParameters.usernameFragment, remoteParameters.password,
                remoteParameters.iceLite)
        if not self._started:
            self._started = True
            if driver._loop is None:
                driver._loop = asyncio.get_running_loop()
        await self._wait_for(("connected", "completed", "failed", "closed"))

    def restart(self) -> None:
        """The local half of an ICE restart (RFC 8445 §9): new local
        credentials (read them with ``getLocalParameters()``); the selected
        pair keeps carrying data until the new generation selects one."""
        if self._state == "closed":
            raise InvalidStateError("RTCIceTransport is closed")
        self._driver.restart()

    async def stop(self) -> None:
        """Irreversibly stop the transport and release its sockets."""
        if self._state == "closed":
            return
        await self._driver.close()
        self._gatherer._set_state("closed")
        self._set_state("closed")

    # ------------------------------------------------------------ internals

    def _on_state(self, state: IceState) -> None:
        self._set_state(state.value)

    def _on_selected_pair(self, pair: CandidatePair) -> None:
        self.emit("selectedcandidatepairchange")

    def _set_state(self, state: str) -> None:
        if state == self._state or self._state == "closed":
            return
        logger.debug("RTCIceTransport(%s) %s -> %s", self.role, self._state, state)
        self._state = state
        waiters, self._waiters = self._waiters, []
        for fut in waiters:
            if not fut.done():
                fut.set_result(None)
        self.emit("statechange")

    async def _wait_for(self, states: tuple[str, ...]) -> str:
        """Wait until the state is one of ``states``; return it."""
        while self._state not in states:
            fut = asyncio.get_running_loop().create_future()
            self._waiters.append(fut)
            await fut
        return self._state

    def _get_stats(self) -> dict[str, object]:
        """The agent's counters and W3C candidate-pair stats (for getStats)."""
        return self._driver.get_stats()
