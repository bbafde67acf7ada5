"""RTCPeerConnection (W3C webrtc-pc §4) with aiortc's Python shape.

The W3C machinery lives here: the operations chain (§4.4.1.2), the
signaling state machine with pranswer and rollback (§4.3.1), implicit
rollback for perfect negotiation (§4.4.1.6), the negotiation-needed flag
(§4.7), the gathering, ICE and connection states computed from the
transports (§4.3.2, §4.3.3), configuration (§4.4.1.1) and the events.
Offers and answers come from :mod:`rtcengine.jsep` (RFC 8829, max-bundle:
one ICE+DTLS transport for everything we accept); the transports are the
ORTC objects (:mod:`rtcengine.rtcicetransport`,
:mod:`rtcengine.rtcdtlstransport`, :mod:`rtcengine.rtcsctptransport`),
driven through the small :class:`TransportSet` interface.

aiortc compatibility: ``setLocalDescription`` resolves once ICE gathering
is complete, so ``localDescription.sdp`` carries every candidate
(non-trickle, what aiortc code expects), and ``icecandidate`` events are
fired as well (after ``setLocalDescription`` resolves) for trickle code.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import string
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from rtcengine import jsep
from rtcengine.events import EventEmitter
from rtcengine.exceptions import (
    InvalidModificationError,
    InvalidStateError,
    OperationError,
)
from rtcengine.ice.candidate import Candidate
from rtcengine.ice.candidate import ParseError as CandidateParseError
from rtcengine.rtccertificate import default_certificate
from rtcengine.rtcconfiguration import RTCConfiguration, validate_configuration
from rtcengine.rtcsessiondescription import RTCSessionDescription
from rtcengine.sdp import Fingerprint, SessionDescription

__all__ = [
    "RTCPeerConnection",
    "RTCPeerConnectionIceEvent",
    "TransportSet",
]

logger = logging.getLogger(__name__)

T = TypeVar("T")

# RFC 8839 §5.4: ice-ufrag 4+ ice-chars (24 bits of randomness at least),
# ice-pwd 22+ (128 bits).  Chromium uses 4 and 24 characters.
_ICE_CHARS = string.ascii_letters + string.digits + "+/"
ICE_UFRAG_LENGTH = 8
ICE_PWD_LENGTH = 24

# webrtc-pc §4.3.1 RTCSignalingState
STABLE = "stable"
HAVE_LOCAL_OFFER = "have-local-offer"
HAVE_REMOTE_OFFER = "have-remote-offer"
HAVE_LOCAL_PRANSWER = "have-local-pranswer"
HAVE_REMOTE_PRANSWER = "have-remote-pranswer"
CLOSED = "closed"

# RFC 8829 §5.5/§5.6 (and webrtc-pc §4.4.1.5): which description types each
# signaling state accepts, locally and remotely, and where each goes.
LOCAL_TRANSITIONS: Mapping[tuple[str, str], str] = {
    (STABLE, "offer"): HAVE_LOCAL_OFFER,
    (HAVE_LOCAL_OFFER, "offer"): HAVE_LOCAL_OFFER,
    (HAVE_REMOTE_OFFER, "answer"): STABLE,
    (HAVE_REMOTE_OFFER, "pranswer"): HAVE_LOCAL_PRANSWER,
    (HAVE_LOCAL_PRANSWER, "pranswer"): HAVE_LOCAL_PRANSWER,
    (HAVE_LOCAL_PRANSWER, "answer"): STABLE,
    (HAVE_LOCAL_OFFER, "rollback"): STABLE,
    (HAVE_REMOTE_OFFER, "rollback"): STABLE,
}
REMOTE_TRANSITIONS: Mapping[tuple[str, str], str] = {
    (STABLE, "offer"): HAVE_REMOTE_OFFER,
    (HAVE_REMOTE_OFFER, "offer"): HAVE_REMOTE_OFFER,
    (HAVE_LOCAL_OFFER, "answer"): STABLE,
    (HAVE_LOCAL_OFFER, "pranswer"): HAVE_REMOTE_PRANSWER,
    (HAVE_REMOTE_PRANSWER, "pranswer"): HAVE_REMOTE_PRANSWER,
    (HAVE_REMOTE_PRANSWER, "answer"): STABLE,
    (HAVE_LOCAL_OFFER, "rollback"): STABLE,
    (HAVE_REMOTE_OFFER, "rollback"): STABLE,
}


def _random_ice_string(length: int) -> str:
    return "".join(secrets.choice(_ICE_CHARS) for _ in range(length))


class RTCPeerConnectionIceEvent:
    """webrtc-pc §4.8.2: the ``icecandidate`` event.  ``candidate`` is an
    RTCIceCandidate (with ``sdpMid``/``sdpMLineIndex``), or None at the end
    of gathering.  aiortc-style handlers receive this object."""

    __slots__ = ("candidate", "url")

    def __init__(self, candidate: Candidate | None, url: str | None = None) -> None:
        self.candidate = candidate
        self.url = url

    def __repr__(self) -> str:
        return f"RTCPeerConnectionIceEvent(candidate={self.candidate!r})"


class TransportSet(Protocol):
    """What the peer connection needs from its (bundled) ICE + DTLS + SCTP
    transports.  The real one wraps the ORTC objects; unit tests of the
    state machine use a fake."""

    ice_gatherer: Any
    ice_transport: Any
    dtls_transport: Any

    @property
    def gathering_state(self) -> str: ...  # "new" | "gathering" | "complete"
    @property
    def ice_state(self) -> str: ...  # RTCIceTransportState
    @property
    def dtls_state(self) -> str: ...  # RTCDtlsTransportState

    def local_candidates(self) -> list[Candidate]: ...
    async def gather(self) -> None: ...
    def set_ice_role(self, controlling: bool) -> None: ...
    async def add_remote_candidate(self, candidate: Candidate | None) -> None: ...
    async def connect(
        self, remote: jsep.RemoteTransportParameters, dtls_role: str
    ) -> None: ...
    def restart_ice(self) -> tuple[str, str]: ...
    def ensure_sctp(self) -> Any: ...
    def create_data_channel(self, label: str, **options: Any) -> Any: ...
    def start_sctp(self, remote: jsep.RemoteSctpParameters) -> None: ...
    async def close(self) -> None: ...


TransportFactory = Callable[["RTCPeerConnection", str, str], TransportSet]


@dataclass
class _Description:
    """A set description: the API object and the parsed model (which gains
    candidates as they are gathered)."""

    type: str
    parsed: SessionDescription

    def wrap(self) -> RTCSessionDescription:
        return RTCSessionDescription(sdp=self.parsed.to_sdp(), type=self.type)


def _connection_state(closed: bool, ice: list[str], dtls: list[str]) -> str:
    """webrtc-pc §4.3.3 RTCPeerConnectionState from the transports' states."""
    if closed:
        return "closed"
    if "failed" in ice or "failed" in dtls:
        return "failed"
    if "disconnected" in ice:
        return "disconnected"
    if all(s in ("new", "closed") for s in ice + dtls):
        return "new"
    if all(s in ("connected", "completed", "closed") for s in ice) and all(
        s in ("connected", "closed") for s in dtls
    ):
        return "connected"
    return "connecting"


def _ice_connection_state(closed: bool, ice: list[str]) -> str:
    """webrtc-pc §4.3.2 RTCIceConnectionState from the ICE transports' states."""
    if closed:
        return "closed"
    if "failed" in ice:
        return "failed"
    if "disconnected" in ice:
        return "disconnected"
    if all(s in ("new", "closed") for s in ice):
        return "new"
    if any(s in ("new", "checking") for s in ice):
        return "checking"
    if all(s in ("completed", "closed") for s in ice):
        return "completed"
    return "connected"


def _ice_gathering_state(states: list[str]) -> str:
    """webrtc-pc §4.3.2 RTCIceGatheringState from the transports' states."""
    if "gathering" in states:
        return "gathering"
    if states and all(s == "complete" for s in states):
        return "complete"
    return "new"


class RTCPeerConnection(EventEmitter):
    """A connection between this engine and a remote peer (webrtc-pc §4.4).

    Events (``pc.on(name, f)`` / ``@pc.on(name)``, coroutine handlers
    allowed): ``negotiationneeded``, ``icecandidate`` (an
    :class:`RTCPeerConnectionIceEvent`), ``icegatheringstatechange``,
    ``iceconnectionstatechange``, ``connectionstatechange``,
    ``signalingstatechange``, ``datachannel`` (an RTCDataChannel) and
    ``track`` (no media yet: never fires).
    """

    # Tests replace this with a fake; None means the ORTC transports.
    transport_factory: TransportFactory | None = None

    def __init__(self, configuration: RTCConfiguration | None = None) -> None:
        super().__init__()
        config = validate_configuration(configuration or RTCConfiguration())
        if config.certificates:
            self._certificates = list(config.certificates)
        else:
            # webrtc-pc §4.4.1.1: no certificates configured -> the process's
            # shared default one (generated on first use, renewed before expiry).
            self._certificates = [default_certificate()]
        self._config = config
        self._closed = False
        self._close_task: asyncio.Future[None] | None = None
        self._signaling_state = STABLE
        self._ice_gathering_state = "new"
        self._ice_connection_state = "new"
        self._connection_state = "new"
        # webrtc-pc §4.4.1 internal slots.
        self._current_local: _Description | None = None
        self._pending_local: _Description | None = None
        self._current_remote: _Description | None = None
        self._pending_remote: _Description | None = None
        self._last_offer = ""
        self._last_answer = ""
        # The model behind the last createOffer()/createAnswer() SDP: a
        # setLocalDescription of that very SDP takes it instead of parsing
        # our own text again (used once).
        self._built: tuple[str, SessionDescription] | None = None
        self._operations: deque[tuple[Callable[[], Awaitable[Any]], asyncio.Future[Any]]] = (
            deque()
        )
        self._update_nn_on_empty_chain = False
        self._negotiation_needed = False
        self._ice_credentials_to_replace: set[tuple[str, str]] = set()
        # RFC 8829 §5.2.1 o= line.
        self._session_id = jsep.new_session_id()
        self._session_version = -1
        # Our ICE credentials (the gatherer's): new ones after restartIce().
        self._ice_ufrag = _random_ice_string(ICE_UFRAG_LENGTH)
        self._ice_pwd = _random_ice_string(ICE_PWD_LENGTH)
        self._restarted_for: frozenset[tuple[str, str]] | None = None
        self._transports: TransportSet | None = None
        self._ice_role_set = False
        self._dtls_role: str | None = None
        self._connect_task: asyncio.Task[None] | None = None
        self._connected_remote: tuple[str, str] | None = None
        # SCTP / data channels.
        self._sctp: Any = None
        self._datachannel_requested = False
        self._datachannel_mid: str | None = None
        self._remote_sctp: jsep.RemoteSctpParameters | None = None
        self._channels: list[Any] = []
        self._channels_opened = 0
        self._channels_closed = 0
        # icecandidate events held back while setLocalDescription runs.
        self._held_candidates: list[Candidate | None] | None = None
        self._end_of_candidates_sent = False
        self._timers: set[asyncio.Handle] = set()
        if config.iceCandidatePoolSize > 0:
            self._prefetch_candidates()

    # ------------------------------------------------------------ attributes

    @property
    def signalingState(self) -> str:  # noqa: N802
        """webrtc-pc §4.3.1: stable, have-local-offer, have-remote-offer,
        have-local-pranswer, have-remote-pranswer or closed."""
        return self._signaling_state

    @property
    def iceGatheringState(self) -> str:  # noqa: N802
        """webrtc-pc §4.3.2: new, gathering or complete."""
        return self._ice_gathering_state

    @property
    def iceConnectionState(self) -> str:  # noqa: N802
        """webrtc-pc §4.3.2: new, checking, connected, completed,
        disconnected, failed or closed."""
        return self._ice_connection_state

    @property
    def connectionState(self) -> str:  # noqa: N802
        """webrtc-pc §4.3.3: new, connecting, connected, disconnected,
        failed or closed."""
        return self._connection_state

    @property
    def localDescription(self) -> RTCSessionDescription | None:  # noqa: N802
        """pendingLocalDescription if there is one, else currentLocalDescription."""
        desc = self._pending_local or self._current_local
        return None if desc is None else desc.wrap()

    @property
    def currentLocalDescription(self) -> RTCSessionDescription | None:  # noqa: N802
        return None if self._current_local is None else self._current_local.wrap()

    @property
    def pendingLocalDescription(self) -> RTCSessionDescription | None:  # noqa: N802
        return None if self._pending_local is None else self._pending_local.wrap()

    @property
    def remoteDescription(self) -> RTCSessionDescription | None:  # noqa: N802
        """pendingRemoteDescription if there is one, else currentRemoteDescription."""
        desc = self._pending_remote or self._current_remote
        return None if desc is None else desc.wrap()

    @property
    def currentRemoteDescription(self) -> RTCSessionDescription | None:  # noqa: N802
        return None if self._current_remote is None else self._current_remote.wrap()

    @property
    def pendingRemoteDescription(self) -> RTCSessionDescription | None:  # noqa: N802
        return None if self._pending_remote is None else self._pending_remote.wrap()

    @property
    def canTrickleIceCandidates(self) -> bool | None:  # noqa: N802
        """webrtc-pc §4.4.1: None until a remote description is set, then
        whether it advertises ``a=ice-options:trickle`` (RFC 8840 §4.1.1)."""
        desc = self._pending_remote or self._current_remote
        if desc is None:
            return None
        parsed = desc.parsed
        return "trickle" in parsed.ice_options or any(
            "trickle" in m.ice_options for m in parsed.media
        )

    @property
    def sctp(self) -> Any:
        """webrtc-pc §6.1.1: the RTCSctpTransport once data channels are
        negotiated, else None."""
        if self._datachannel_mid is None:
            return None
        return self._sctp

    # ------------------------------------------------------------ config

    def getConfiguration(self) -> RTCConfiguration:  # noqa: N802
        """webrtc-pc §4.4.1: the configuration in use (certificates included)."""
        config = validate_configuration(self._config)
        config.certificates = list(self._certificates)
        return config

    def setConfiguration(self, configuration: RTCConfiguration) -> None:  # noqa: N802
        """webrtc-pc §4.4.1.1 "set a configuration": certificates, bundle and
        RTCP-mux policies cannot change (InvalidModificationError), nor the
        candidate pool size once a local description is set; ICE servers and
        the transport policy apply to the next gathering (restartIce)."""
        self._assert_not_closed()
        new = validate_configuration(configuration)
        old = self._config
        if new.certificates is not None and new.certificates != self._certificates:
            raise InvalidModificationError("certificates cannot be changed (webrtc-pc §4.4.1.1)")
        if new.bundlePolicy != old.bundlePolicy:
            raise InvalidModificationError(
                f"bundlePolicy cannot be changed from {old.bundlePolicy.value!r}"  # type: ignore[union-attr]
            )
        if new.rtcpMuxPolicy != old.rtcpMuxPolicy:
            raise InvalidModificationError("rtcpMuxPolicy cannot be changed")
        if new.iceCandidatePoolSize != old.iceCandidatePoolSize and (
            self._current_local is not None or self._pending_local is not None
        ):
            raise InvalidModificationError(
                "iceCandidatePoolSize cannot be changed after setLocalDescription"
            )
        new.certificates = None if old.certificates is None else list(old.certificates)
        self._config = new

    # ------------------------------------------------------------ events helpers

    def _queue(self, callback: Callable[[], None]) -> None:
        """Queue a task (HTML event loop sense): run soon on the asyncio loop."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            callback()
            return
        handle: asyncio.Handle

        def run() -> None:
            self._timers.discard(handle)
            callback()

        handle = loop.call_soon(run)
        self._timers.add(handle)

    def _set_signaling_state(self, state: str) -> None:
        if state != self._signaling_state:
            logger.debug("signalingState %s -> %s", self._signaling_state, state)
            self._signaling_state = state
            self.emit("signalingstatechange")

    def _update_states(self) -> None:
        """Recompute §4.3.2/§4.3.3 states from the transports; fire events."""
        t = self._transports
        ice = [] if t is None else [t.ice_state]
        dtls = [] if t is None else [t.dtls_state]
        gathering = [] if t is None else [t.gathering_state]
        new_gathering = _ice_gathering_state(gathering)
        if new_gathering != self._ice_gathering_state:
            self._ice_gathering_state = new_gathering
            self.emit("icegatheringstatechange")
        new_ice = _ice_connection_state(self._closed, ice)
        if new_ice != self._ice_connection_state:
            logger.debug("iceConnectionState %s -> %s", self._ice_connection_state, new_ice)
            self._ice_connection_state = new_ice
            self.emit("iceconnectionstatechange")
        new_conn = _connection_state(self._closed, ice, dtls)
        if new_conn != self._connection_state:
            logger.debug("connectionState %s -> %s", self._connection_state, new_conn)
            self._connection_state = new_conn
            self.emit("connectionstatechange")
        # aiortc: when the remote closes DTLS, the peer connection closes.
        if (
            t is not None
            and not self._closed
            and t.dtls_state == "closed"
            and self._connect_task is not None
            and self._close_task is None
        ):
            self._close_task = asyncio.ensure_future(self.close())

    # Called by the transport set.
    def _on_transport_state(self) -> None:
        if not self._closed:
            self._update_states()

    def _on_local_candidate(self, candidate: Candidate | None) -> None:
        """A gathered candidate (None: gathering complete) from the transports:
        put it in the local description (RFC 8840 §4.1.2: localDescription
        reflects gathered candidates) and fire ``icecandidate``."""
        if self._closed:
            return
        desc = self._pending_local or self._current_local
        if desc is not None:
            self._add_candidate_to(desc.parsed, candidate)
        if candidate is not None:
            mid, index = self._tag_of(desc.parsed if desc else None)
            candidate = candidate.copy()
            candidate.sdpMid = mid
            candidate.sdpMLineIndex = index
        if self._held_candidates is not None:
            self._held_candidates.append(candidate)
        else:
            self._fire_icecandidate(candidate)

    def _fire_icecandidate(self, candidate: Candidate | None) -> None:
        if candidate is None:
            if self._end_of_candidates_sent:
                return
            self._end_of_candidates_sent = True
        self.emit("icecandidate", RTCPeerConnectionIceEvent(candidate))

    @staticmethod
    def _tag_of(parsed: SessionDescription | None) -> tuple[str | None, int | None]:
        if parsed is None:
            return None, None
        for i, m in enumerate(parsed.media):
            if not m.rejected:
                return m.mid, i
        return None, None

    @staticmethod
    def _add_candidate_to(parsed: SessionDescription, candidate: Candidate | None) -> None:
        for m in parsed.media:
            if m.rejected or m.bundle_only:
                continue
            if candidate is None:
                m.end_of_candidates = True
            elif candidate not in m.candidates:
                m.add_candidate(candidate)

    # ------------------------------------------------------------ operations chain

    def _assert_not_closed(self) -> None:
        if self._closed:
            raise InvalidStateError("RTCPeerConnection is closed")

    async def _chain(self, operation: Callable[[], Awaitable[T]]) -> T:
        """webrtc-pc §4.4.1.2 "chain an operation": operations run one at a
        time, in the order they were called."""
        self._assert_not_closed()
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._operations.append((operation, future))
        if len(self._operations) == 1:
            self._run_operation()
        return await future

    def _run_operation(self) -> None:
        operation, future = self._operations[0]

        async def run() -> None:
            try:
                result = await operation()
            except BaseException as exc:  # noqa: BLE001 - relayed to the caller
                outcome: tuple[bool, Any] = (False, exc)
            else:
                outcome = (True, result)
            self._operation_done(future, outcome)

        asyncio.ensure_future(run())

    def _operation_done(self, future: asyncio.Future[Any], outcome: tuple[bool, Any]) -> None:
        ok, value = outcome
        if not future.done():
            if self._closed and ok:
                # §4.4.1.2: a closed connection does not settle the promise;
                # Python callers would hang, so they get InvalidStateError.
                future.set_exception(InvalidStateError("RTCPeerConnection was closed"))
            elif ok:
                future.set_result(value)
            else:
                future.set_exception(value)
        if self._closed:
            for _, pending in self._operations:
                if not pending.done():
                    pending.set_exception(InvalidStateError("RTCPeerConnection was closed"))
            self._operations.clear()
            return
        self._operations.popleft()
        if self._operations:
            self._run_operation()
            return
        if not self._update_nn_on_empty_chain:
            return
        self._update_nn_on_empty_chain = False
        self._update_negotiation_needed()

    # ------------------------------------------------------------ negotiation-needed (§4.7)

    def _is_negotiation_needed(self) -> bool:
        """webrtc-pc §4.7.2 "check if negotiation is needed"."""
        if self._ice_credentials_to_replace:
            return True
        if self._datachannel_requested:
            current = self._current_local
            if current is None or not any(
                m.is_datachannel() and not m.rejected for m in current.parsed.media
            ):
                return True
        return False

    def _update_negotiation_needed(self) -> None:
        """webrtc-pc §4.7.3 "update the negotiation-needed flag"."""
        if self._operations:
            self._update_nn_on_empty_chain = True
            return

        def task() -> None:
            if self._closed:
                return
            if self._operations:
                self._update_nn_on_empty_chain = True
                return
            if self._signaling_state != STABLE:
                return
            if not self._is_negotiation_needed():
                self._negotiation_needed = False
                return
            if self._negotiation_needed:
                return
            self._negotiation_needed = True
            self.emit("negotiationneeded")

        self._queue(task)

    # ------------------------------------------------------------ transports

    def _fingerprints(self) -> list[Fingerprint]:
        out = []
        for cert in self._certificates:
            for fp in cert.getFingerprints():
                out.append(Fingerprint(fp.algorithm, fp.value))
        return out

    def _local_transport(self, ufrag: str, pwd: str, *, candidates: bool) -> jsep.LocalTransport:
        transport = jsep.LocalTransport(
            ice_ufrag=ufrag, ice_pwd=pwd, fingerprints=self._fingerprints()
        )
        t = self._transports
        if candidates and t is not None and (ufrag, pwd) == (self._ice_ufrag, self._ice_pwd):
            transport.candidates = t.local_candidates()
            transport.end_of_candidates = t.gathering_state == "complete"
        return transport

    def _ensure_transports(self) -> TransportSet:
        if self._transports is None:
            factory = type(self).transport_factory
            if factory is None:
                from rtcengine._pc_transports import create_transport_set

                factory = create_transport_set
            self._transports = factory(self, self._ice_ufrag, self._ice_pwd)
            self._update_states()
        return self._transports

    def _ensure_sctp(self) -> Any:
        if self._sctp is None:
            self._sctp = self._ensure_transports().ensure_sctp()
        return self._sctp

    def _prefetch_candidates(self) -> None:
        """iceCandidatePoolSize > 0 (webrtc-pc §4.4.1.1): gather before
        setLocalDescription."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return
        transports = self._ensure_transports()
        task = asyncio.ensure_future(transports.gather())
        task.add_done_callback(lambda t: t.cancelled() or t.exception())

    # ------------------------------------------------------------ offer / answer

    def _next_version(self, new: SessionDescription) -> int:
        previous = self._pending_local or self._current_local
        if previous is None:
            self._session_version = 0
        else:
            self._session_version = jsep.next_session_version(previous.parsed, new)
        return self._session_version

    def _wants_datachannel(self) -> bool:
        return self._datachannel_requested or self._datachannel_mid is not None

    def _offer_ice_credentials(self) -> tuple[str, str]:
        """Our credentials for an offer; new ones when restartIce() asked
        (RFC 8829 §5.2.1 / RFC 8445 §9).  The ICE transport restarts here:
        the selected pair keeps carrying data (and consent) on the old
        credentials until the new generation selects a pair."""
        replace = frozenset(self._ice_credentials_to_replace)
        if (
            replace
            and (self._ice_ufrag, self._ice_pwd) in replace
            and self._restarted_for != replace
            and self._transports is not None
        ):
            self._restarted_for = replace
            self._ice_ufrag, self._ice_pwd = self._transports.restart_ice()
            self._end_of_candidates_sent = False
            self._connected_remote = None
        return (self._ice_ufrag, self._ice_pwd)

    def _build_offer(self) -> SessionDescription:
        ufrag, pwd = self._offer_ice_credentials()
        # RFC 8829 §5.2.2: m-sections keep their order and mids.
        previous = self._pending_local or self._current_local or self._current_remote
        previous_desc = None if previous is None else previous.parsed
        # RFC 8842 §5.2: keep the DTLS role once negotiated.
        setup = "actpass"
        if self._dtls_role is not None:
            setup = "active" if self._dtls_role == "client" else "passive"
        offer = jsep.create_offer(
            self._local_transport(ufrag, pwd, candidates=True),
            self._session_id,
            0,
            datachannel=self._wants_datachannel(),
            previous=previous_desc,
            setup=setup,
        )
        offer.origin.session_version = self._next_version(offer)
        return offer

    def _build_answer(self) -> SessionDescription:
        remote = self._pending_remote
        assert remote is not None
        setup = None
        if self._dtls_role is not None:
            setup = "active" if self._dtls_role == "client" else "passive"
        answer = jsep.create_answer(
            remote.parsed,
            self._local_transport(self._ice_ufrag, self._ice_pwd, candidates=True),
            self._session_id,
            0,
            setup=setup,
        )
        answer.origin.session_version = self._next_version(answer)
        return answer

    async def createOffer(self) -> RTCSessionDescription:  # noqa: N802
        """webrtc-pc §4.4.1.4 createOffer: an offer for the data channels
        (and rejected sections for media the remote offered before)."""
        self._assert_not_closed()

        async def op() -> RTCSessionDescription:
            self._assert_not_closed()
            if self._signaling_state not in (STABLE, HAVE_LOCAL_OFFER):
                raise InvalidStateError(
                    f"cannot create an offer in signaling state {self._signaling_state!r}"
                )
            offer = self._build_offer()
            sdp = offer.to_sdp()
            self._last_offer = sdp
            self._built = (sdp, offer)
            return RTCSessionDescription(sdp=sdp, type="offer")

        return await self._chain(op)

    async def createAnswer(self) -> RTCSessionDescription:  # noqa: N802
        """webrtc-pc §4.4.1.4 createAnswer: answer the remote offer."""
        self._assert_not_closed()

        async def op() -> RTCSessionDescription:
            self._assert_not_closed()
            if self._signaling_state not in (HAVE_REMOTE_OFFER, HAVE_LOCAL_PRANSWER):
                raise InvalidStateError(
                    f"cannot create an answer in signaling state {self._signaling_state!r}"
                )
            answer = self._build_answer()
            sdp = answer.to_sdp()
            self._last_answer = sdp
            self._built = (sdp, answer)
            return RTCSessionDescription(sdp=sdp, type="answer")

        return await self._chain(op)

    # ------------------------------------------------------------ set descriptions

    @staticmethod
    def _coerce(description: Any, what: str) -> RTCSessionDescription:
        if isinstance(description, RTCSessionDescription):
            return description
        if isinstance(description, Mapping):
            return RTCSessionDescription.from_init(dict(description))
        if hasattr(description, "type") and hasattr(description, "sdp"):
            # Another engine's RTCSessionDescription (aiortc's, say).
            return RTCSessionDescription(sdp=description.sdp, type=description.type)
        raise TypeError(f"{what} takes an RTCSessionDescription or a dict, got {description!r}")

    async def setLocalDescription(  # noqa: N802
        self, sessionDescription: RTCSessionDescription | Mapping[str, Any] | None = None  # noqa: N803
    ) -> None:
        """webrtc-pc §4.4.1.6 setLocalDescription, with the implicit form
        (no argument, or no sdp: create the offer or answer).  Resolves once
        ICE gathering is complete, so ``localDescription`` has every
        candidate (aiortc behaviour); ``icecandidate`` events follow."""
        self._assert_not_closed()
        desc = None if sessionDescription is None else self._coerce(
            sessionDescription, "setLocalDescription"
        )

        async def op() -> None:
            self._assert_not_closed()
            self._held_candidates = []
            sdp_type = None if desc is None else desc.type
            sdp = "" if desc is None else desc.sdp
            if sdp_type is None:
                # §4.4.1.6: implicit type from the signaling state.
                if self._signaling_state in (STABLE, HAVE_LOCAL_OFFER, HAVE_REMOTE_PRANSWER):
                    sdp_type = "offer"
                else:
                    sdp_type = "answer"
            if sdp_type == "rollback":
                self._rollback(local=True)
                return
            if (self._signaling_state, sdp_type) not in LOCAL_TRANSITIONS:
                raise InvalidStateError(
                    f"cannot set a local {sdp_type} in signaling state {self._signaling_state!r}"
                )
            if sdp_type == "offer":
                if sdp and sdp != self._last_offer:
                    raise InvalidModificationError(
                        "the SDP is not the last offer createOffer() returned "
                        "(webrtc-pc §4.4.1.6: SDP munging is not allowed)"
                    )
                if not sdp:
                    built = self._build_offer()
                    sdp = built.to_sdp()
                    self._last_offer = sdp
                    self._built = (sdp, built)
            else:
                if sdp and sdp != self._last_answer:
                    raise InvalidModificationError(
                        "the SDP is not the last answer createAnswer() returned "
                        "(webrtc-pc §4.4.1.6: SDP munging is not allowed)"
                    )
                if not sdp:
                    built = self._build_answer()
                    sdp = built.to_sdp()
                    self._last_answer = sdp
                    self._built = (sdp, built)
            model, self._built = self._built, None
            # The model that produced exactly this SDP, else the SDP parsed.
            parsed = model[1] if model is not None and model[0] == sdp else (
                jsep.parse_description(sdp))
            await self._set_local(parsed, sdp_type)

        try:
            await self._chain(op)
        finally:
            held, self._held_candidates = self._held_candidates, None
            if held and not self._closed:
                # Fire after the caller resumes (webrtc-pc queues these as tasks).

                def fire() -> None:
                    for c in held:
                        self._fire_icecandidate(c)

                self._queue(fire)

    async def _set_local(self, parsed: SessionDescription, sdp_type: str) -> None:
        """webrtc-pc §4.4.1.5 "set the session description", local."""
        parsed.type = sdp_type
        transports = self._ensure_transports()
        # RFC 8445 §6.1.1: the offerer is controlling (unless it is lite).
        if sdp_type == "offer" and not self._ice_role_set:
            transports.set_ice_role(True)
            self._ice_role_set = True
        self._note_datachannel(parsed)
        if sdp_type in ("answer", "pranswer"):
            self._dtls_role = self._local_answer_role(parsed)
        # Install the description, then gather (candidates are added to it).
        new = _Description(sdp_type, parsed)
        if sdp_type == "offer":
            self._pending_local = new
        elif sdp_type == "pranswer":
            self._pending_local = new
        else:
            self._current_local = new
            self._pending_local = None
            if self._pending_remote is not None:
                self._current_remote = self._pending_remote
            self._pending_remote = None
        for c in transports.local_candidates():
            self._add_candidate_to(parsed, c)
        if transports.gathering_state == "complete":
            self._add_candidate_to(parsed, None)
        self._set_signaling_state(LOCAL_TRANSITIONS[(self._signaling_state, sdp_type)])
        # §4.4.1.5: a local description with credentials that are not being
        # replaced ends the pending ICE restart.
        creds = {(m.ice_ufrag, m.ice_pwd) for m in parsed.media if not m.rejected}
        if creds and not creds & self._ice_credentials_to_replace:
            self._ice_credentials_to_replace.clear()
        if self._signaling_state == STABLE:
            self._after_stable()
        await transports.gather()
        if self._closed:
            return
        self._maybe_connect()

    def _local_answer_role(self, parsed: SessionDescription) -> str | None:
        for m in parsed.media:
            if not m.rejected:
                setup = m.setup or parsed.setup
                if setup in ("active", "passive"):
                    return "client" if setup == "active" else "server"
        return self._dtls_role

    async def setRemoteDescription(  # noqa: N802
        self, sessionDescription: RTCSessionDescription | Mapping[str, Any]  # noqa: N803
    ) -> None:
        """webrtc-pc §4.4.1.6 setRemoteDescription.  A remote offer in
        have-local-offer rolls the local offer back first (implicit
        rollback, perfect negotiation).  Malformed SDP rejects with an
        OperationError naming the line (:class:`rtcengine.jsep.SdpSyntaxError`);
        inconsistent SDP with InvalidAccessError."""
        self._assert_not_closed()
        desc = self._coerce(sessionDescription, "setRemoteDescription")

        async def op() -> None:
            self._assert_not_closed()
            if desc.type == "rollback":
                self._rollback(local=False)
                return
            parsed = jsep.parse_description(desc.sdp)
            if desc.type == "offer" and self._signaling_state == HAVE_LOCAL_OFFER:
                # webrtc-pc §4.4.1.6 step: implicit rollback (perfect negotiation).
                self._rollback(local=True)
            if (self._signaling_state, desc.type) not in REMOTE_TRANSITIONS:
                raise InvalidStateError(
                    f"cannot set a remote {desc.type} in signaling state "
                    f"{self._signaling_state!r}"
                )
            local = self._pending_local.parsed if self._pending_local is not None else None
            jsep.validate_remote_description(parsed, desc.type, local)
            await self._set_remote(parsed, desc.type)

        await self._chain(op)

    async def _set_remote(self, parsed: SessionDescription, sdp_type: str) -> None:
        """webrtc-pc §4.4.1.5 "set the session description", remote."""
        parsed.type = sdp_type
        params = jsep.remote_parameters(parsed)
        transports = self._ensure_transports()
        if sdp_type == "offer" and not self._ice_role_set:
            # RFC 8445 §6.1.1: the answerer is controlled, unless the offerer is lite.
            transports.set_ice_role(params.ice_lite)
            self._ice_role_set = True
        if params.sctp is not None:
            self._remote_sctp = params.sctp
            self._ensure_sctp()
        if sdp_type in ("answer", "pranswer"):
            role = self._remote_answer_role(parsed)
            if role is not None:
                self._dtls_role = role
            self._note_datachannel(parsed)
        new = _Description(sdp_type, parsed)
        if sdp_type in ("offer", "pranswer"):
            self._pending_remote = new
        else:
            self._current_remote = new
            self._pending_remote = None
            if self._pending_local is not None:
                self._current_local = self._pending_local
            self._pending_local = None
        self._set_signaling_state(REMOTE_TRANSITIONS[(self._signaling_state, sdp_type)])
        if self._signaling_state == STABLE:
            self._after_stable()
        transport = self._remote_transport(params)
        if transport is not None:
            for c in transport.candidates:
                await transports.add_remote_candidate(c)
            if transport.end_of_candidates:
                await transports.add_remote_candidate(None)
        self._maybe_connect()

    def _remote_answer_role(self, parsed: SessionDescription) -> str | None:
        for m in parsed.media:
            if not m.rejected:
                setup = m.setup or parsed.setup
                if setup == "active":
                    return "server"
                if setup == "passive":
                    return "client"
        return None

    def _remote_transport(
        self, params: jsep.RemoteParameters
    ) -> jsep.RemoteTransportParameters | None:
        """Max-bundle: the transport carrying the data section, else the first."""
        if self._remote_sctp is not None:
            found = params.transport_for(self._remote_sctp.mid)
            if found is not None:
                return found
        return params.transports[0] if params.transports else None

    def _note_datachannel(self, parsed: SessionDescription) -> None:
        for m in parsed.media:
            if m.is_datachannel() and not m.rejected and m.mid is not None:
                self._datachannel_mid = m.mid
                return

    def _after_stable(self) -> None:
        """Back in stable: update the negotiation-needed flag (§4.7.3); if it
        was already set and still is, fire the event again."""
        was = self._negotiation_needed
        self._negotiation_needed = False
        if was and self._is_negotiation_needed():
            self._negotiation_needed = False
        self._update_negotiation_needed()

    def _rollback(self, *, local: bool) -> None:
        """webrtc-pc §4.4.1.5 rollback (RFC 8829 §4.1.10.2): drop the pending
        descriptions, back to stable."""
        state = self._signaling_state
        key = (state, "rollback")
        if key not in (LOCAL_TRANSITIONS if local else REMOTE_TRANSITIONS):
            raise InvalidStateError(f"cannot roll back in signaling state {state!r}")
        self._pending_local = None
        self._pending_remote = None
        if self._current_local is None and self._current_remote is None:
            # Nothing negotiated yet: the ICE role is decided again (RFC 8445 §6.1.1).
            self._ice_role_set = False
        self._set_signaling_state(STABLE)
        self._after_stable()

    # ------------------------------------------------------------ connecting

    def _maybe_connect(self) -> None:
        """Start (or restart) ICE, then DTLS, then SCTP once both sides'
        transport parameters and the DTLS role are known."""
        if self._closed or self._transports is None or self._dtls_role is None:
            return
        remote_desc = self._pending_remote or self._current_remote
        local_desc = self._pending_local or self._current_local
        if remote_desc is None or local_desc is None:
            return
        params = jsep.remote_parameters(remote_desc.parsed)
        transport = self._remote_transport(params)
        if transport is None or transport.ice_ufrag is None or transport.ice_pwd is None:
            return
        key = (transport.ice_ufrag, transport.ice_pwd)
        if self._connected_remote == key:
            self._maybe_start_sctp()
            return
        self._connected_remote = key
        transports = self._transports
        role = self._dtls_role

        async def connect() -> None:
            try:
                await transports.connect(transport, role)
            except Exception as exc:  # noqa: BLE001 - reported as state
                logger.debug("connect failed: %r", exc)
                self._update_states()
                return
            self._maybe_start_sctp()

        self._connect_task = asyncio.ensure_future(connect())

    def _maybe_start_sctp(self) -> None:
        if self._transports is None or self._sctp is None:
            return
        if self._remote_sctp is None or self._datachannel_mid is None:
            return
        self._transports.start_sctp(self._remote_sctp)

    # ------------------------------------------------------------ candidates

    async def addIceCandidate(  # noqa: N802
        self, candidate: Candidate | Mapping[str, Any] | None = None
    ) -> None:
        """webrtc-pc §4.4.1.6 addIceCandidate: an RTCIceCandidate, an
        RTCIceCandidateInit dict (``candidate``, ``sdpMid``,
        ``sdpMLineIndex``, ``usernameFragment``), or None / an empty
        ``candidate`` for end-of-candidates."""
        self._assert_not_closed()
        cand, mid, index, ufrag = self._candidate_init(candidate)

        async def op() -> None:
            self._assert_not_closed()
            remote = self._pending_remote or self._current_remote
            if remote is None:
                raise InvalidStateError(
                    "addIceCandidate before setRemoteDescription (webrtc-pc §4.4.1.6)"
                )
            media = remote.parsed.media
            target = None
            if mid is not None:
                target = next((m for m in media if m.mid == mid), None)
                if target is None:
                    raise OperationError(f"no m-section with mid {mid!r} for this candidate")
            elif index is not None:
                if not 0 <= index < len(media):
                    raise OperationError(
                        f"sdpMLineIndex {index} is out of range ({len(media)} m-sections)"
                    )
                target = media[index]
            params = jsep.remote_parameters(remote.parsed)
            current_ufrag = None
            transport = self._remote_transport(params)
            if transport is not None:
                current_ufrag = transport.ice_ufrag
            if ufrag is not None and current_ufrag is not None and ufrag != current_ufrag:
                raise OperationError(
                    f"candidate usernameFragment {ufrag!r} does not match the remote "
                    f"ice-ufrag {current_ufrag!r}"
                )
            transports = self._ensure_transports()
            if cand is None:
                for m in media:
                    if target is None or m is target:
                        m.end_of_candidates = True
                await transports.add_remote_candidate(None)
                return
            if target is not None and target.rejected:
                return  # RFC 8829 §5.8: candidates for a rejected section are ignored
            if target is not None and cand not in target.candidates:
                target.add_candidate(cand)
            if cand.component == 1:
                await transports.add_remote_candidate(cand)

        await self._chain(op)

    @staticmethod
    def _candidate_init(
        candidate: Any,
    ) -> tuple[Candidate | None, str | None, int | None, str | None]:
        """(parsed candidate or None for end-of-candidates, sdpMid,
        sdpMLineIndex, usernameFragment); TypeError when neither sdpMid nor
        sdpMLineIndex is given (webrtc-pc §4.4.1.6)."""
        if candidate is None:
            return None, None, None, None
        if isinstance(candidate, Mapping):
            text = candidate.get("candidate", "") or ""
            mid = candidate.get("sdpMid")
            index = candidate.get("sdpMLineIndex")
            ufrag = candidate.get("usernameFragment")
        elif isinstance(candidate, Candidate):
            text = candidate.candidate
            mid, index, ufrag = candidate.sdpMid, candidate.sdpMLineIndex, None
        elif hasattr(candidate, "candidate") and isinstance(candidate.candidate, str):
            text = candidate.candidate
            mid = getattr(candidate, "sdpMid", None)
            index = getattr(candidate, "sdpMLineIndex", None)
            ufrag = getattr(candidate, "usernameFragment", None)
        elif hasattr(candidate, "foundation") and hasattr(candidate, "ip"):
            # An aiortc RTCIceCandidate: rebuild its candidate-attribute.
            c = Candidate(
                candidate.component, candidate.foundation, candidate.ip, candidate.port,
                candidate.priority, candidate.protocol, candidate.type,
                relatedAddress=candidate.relatedAddress, relatedPort=candidate.relatedPort,
                tcpType=getattr(candidate, "tcpType", None),
            )
            text = c.candidate
            mid, index, ufrag = candidate.sdpMid, candidate.sdpMLineIndex, None
        else:
            raise TypeError(f"addIceCandidate takes an RTCIceCandidate, a dict or None, "
                            f"got {candidate!r}")
        if not text:
            if mid is None and index is None:
                return None, None, None, ufrag
            return None, mid, index, ufrag
        if mid is None and index is None:
            raise TypeError("the candidate needs sdpMid or sdpMLineIndex (webrtc-pc §4.4.1.6)")
        try:
            parsed = Candidate.from_sdp(text)
        except CandidateParseError as exc:
            raise OperationError(f"cannot parse the candidate {text!r}: {exc}") from None
        parsed.sdpMid = mid
        parsed.sdpMLineIndex = index
        if ufrag is None:
            ufrag = parsed.usernameFragment
        return parsed, mid, index, ufrag

    def restartIce(self) -> None:  # noqa: N802
        """webrtc-pc §4.4.1.6 restartIce: the next offer has new ICE
        credentials (RFC 8445 §9); negotiation is needed."""
        if self._closed:
            return
        for desc in (self._current_local, self._pending_local):
            if desc is not None:
                for m in desc.parsed.media:
                    if m.ice_ufrag and m.ice_pwd:
                        self._ice_credentials_to_replace.add((m.ice_ufrag, m.ice_pwd))
        if not self._ice_credentials_to_replace:
            self._ice_credentials_to_replace.add((self._ice_ufrag, self._ice_pwd))
        self._update_negotiation_needed()

    # ------------------------------------------------------------ data channels

    def createDataChannel(  # noqa: N802
        self,
        label: str,
        maxPacketLifeTime: int | None = None,  # noqa: N803
        maxRetransmits: int | None = None,  # noqa: N803
        ordered: bool = True,
        protocol: str = "",
        negotiated: bool = False,
        id: int | None = None,  # noqa: A002
    ) -> Any:
        """webrtc-pc §6.1 createDataChannel.  TypeError (also a ValueError,
        what aiortc raised) for both maxPacketLifeTime and maxRetransmits, a
        negotiated channel without an id, an id of 65535 or more, a label or
        protocol over 65535 bytes; OperationError for an id in use."""
        self._assert_not_closed()
        if len(label.encode()) > 65535:
            raise DataChannelOptionError("label is longer than 65535 bytes")
        if len(protocol.encode()) > 65535:
            raise DataChannelOptionError("protocol is longer than 65535 bytes")
        if negotiated and id is None:
            raise DataChannelOptionError("a negotiated data channel needs an id")
        if not negotiated:
            id = None  # §6.1: the id is chosen by the DTLS role
        if id is not None and not 0 <= id < 65535:
            raise DataChannelOptionError(f"data channel id must be 0..65534, got {id}")
        if maxPacketLifeTime is not None and maxRetransmits is not None:
            raise DataChannelOptionError(
                "cannot specify both maxPacketLifeTime and maxRetransmits"
            )
        for name, value in (("maxPacketLifeTime", maxPacketLifeTime),
                            ("maxRetransmits", maxRetransmits)):
            if value is not None and not 0 <= value <= 65535:
                raise DataChannelOptionError(f"{name} must be 0..65535, got {value}")
        self._ensure_sctp()
        assert self._transports is not None
        channel = self._transports.create_data_channel(
            label, ordered=ordered, maxPacketLifeTime=maxPacketLifeTime,
            maxRetransmits=maxRetransmits, protocol=protocol, negotiated=negotiated, id=id,
        )
        self._track_channel(channel)
        first = not self._datachannel_requested
        self._datachannel_requested = True
        if first:
            self._update_negotiation_needed()
        return channel

    def _on_remote_datachannel(self, channel: Any) -> None:
        if not self._closed:
            self._track_channel(channel)
            self.emit("datachannel", channel)

    def _track_channel(self, channel: Any) -> None:
        """Count opened/closed channels (RTCPeerConnectionStats)."""
        self._channels.append(channel)

        def opened() -> None:
            self._channels_opened += 1

        def closed() -> None:
            if channel in self._channels:
                self._channels.remove(channel)
            self._channels_closed += 1

        channel.on("open", opened)
        channel.on("close", closed)

    def _channel_counts(self) -> tuple[int, int]:
        return self._channels_opened, self._channels_closed

    # ------------------------------------------------------------ stats

    async def getStats(self) -> Any:  # noqa: N802
        """webrtc-pc §8.2 getStats: an RTCStatsReport (a dict by id) of W3C
        webrtc-stats objects (peer-connection, transport, candidate-pair,
        local-candidate, remote-candidate, certificate, data-channel)."""
        self._assert_not_closed()
        from rtcengine.stats import collect

        return collect(self)

    # ------------------------------------------------------------ media (not yet)

    def getTransceivers(self) -> list[Any]:  # noqa: N802
        return []

    def getSenders(self) -> list[Any]:  # noqa: N802
        return []

    def getReceivers(self) -> list[Any]:  # noqa: N802
        return []

    # ------------------------------------------------------------ close

    async def close(self) -> None:
        """webrtc-pc §4.4.1.6 close: stop every transport, release sockets
        and timers; idempotent; works in every state.  Fires
        signalingstatechange, iceconnectionstatechange and
        connectionstatechange to "closed" (aiortc does; the spec fires
        none), then drops every listener."""
        if self._closed:
            if self._close_task is not None and not self._close_task.done():
                current = asyncio.current_task()
                if current is not self._close_task:
                    await asyncio.shield(self._close_task)
            return
        self._closed = True
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        if self._close_task is None or self._close_task.done():
            self._close_task = done
        for handle in self._timers:
            handle.cancel()
        self._timers.clear()
        self._negotiation_needed = False
        for _, pending in self._operations:
            if not pending.done():
                pending.set_exception(InvalidStateError("RTCPeerConnection was closed"))
        self._set_signaling_state(CLOSED)
        try:
            if self._transports is not None:
                await self._transports.close()
        finally:
            if self._connect_task is not None and not self._connect_task.done():
                self._connect_task.cancel()
                await asyncio.gather(self._connect_task, return_exceptions=True)
            self._update_states()
            self.remove_all_listeners()
            if not done.done():
                done.set_result(None)


class DataChannelOptionError(TypeError, ValueError):
    """Bad createDataChannel options: a TypeError (webrtc-pc §6.1) and a
    ValueError (what aiortc raised)."""
