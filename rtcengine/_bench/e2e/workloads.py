"""The end-to-end workloads of issue 6, engine-agnostic.

Each workload has a worker half (a coroutine the offerer and the answerer
processes run, see :func:`run_workload`) and a parent half (a
:class:`WorkloadSpec`: parameters for quick and full runs, and
:meth:`WorkloadSpec.metrics`, which turns the two workers' reports into figures).

The workers use only the W3C webrtc-pc surface aiortc also has; the Protocol
classes below list every attribute, method and event touched, which is what an
engine must provide to be benchmarked:

- ``RTCPeerConnection(configuration=RTCConfiguration(iceServers=[]))``,
  ``createDataChannel(label, ordered=, maxRetransmits=)``, ``createOffer()``,
  ``createAnswer()``, ``setLocalDescription(desc)``, ``setRemoteDescription(desc)``,
  ``localDescription`` (``.sdp``, ``.type``), ``iceGatheringState``,
  ``connectionState``, ``close()``; events ``icegatheringstatechange``,
  ``connectionstatechange``, ``datachannel`` (handler gets the channel).
- ``RTCSessionDescription(sdp=, type=)``.
- ``RTCDataChannel``: ``readyState``, ``send(bytes)``, ``bufferedAmount``,
  ``bufferedAmountLowThreshold`` (settable); events ``open``, ``message``
  (handler gets the data), ``bufferedamountlow``.

Handlers are plain functions registered with ``on(event, handler)`` (aiortc's
emitter style); the ``message`` handler must be attachable inside the
``datachannel`` handler before the first message is delivered.
"""

from __future__ import annotations

import asyncio
import resource
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

Params = dict[str, Any]
Report = dict[str, Any]

OFFERER = "offerer"
ANSWERER = "answerer"
ROLES = (OFFERER, ANSWERER)

KIB = 1024
MB = 1_000_000  # MB/s and CPU s per MB are decimal megabytes


# --- the API surface the workers use ---------------------------------------------------


class DataChannel(Protocol):
    """What the workloads use of an ``RTCDataChannel``."""

    bufferedAmountLowThreshold: int

    @property
    def readyState(self) -> str: ...

    @property
    def bufferedAmount(self) -> int: ...

    def send(self, data: bytes) -> None: ...

    def on(self, event: str, f: Callable[..., Any]) -> Any: ...


class SessionDescription(Protocol):
    @property
    def sdp(self) -> str: ...

    @property
    def type(self) -> str: ...


class PeerConnection(Protocol):
    """What the workloads use of an ``RTCPeerConnection``."""

    @property
    def localDescription(self) -> SessionDescription | None: ...

    @property
    def iceGatheringState(self) -> str: ...

    @property
    def connectionState(self) -> str: ...

    def createDataChannel(self, label: str, **options: Any) -> DataChannel: ...

    async def createOffer(self) -> SessionDescription: ...

    async def createAnswer(self) -> SessionDescription: ...

    async def setLocalDescription(self, description: SessionDescription) -> None: ...

    async def setRemoteDescription(self, description: SessionDescription) -> None: ...

    async def close(self) -> None: ...

    def on(self, event: str, f: Callable[..., Any]) -> Any: ...


@dataclass(frozen=True)
class Engine:
    """An engine's classes, loaded by the worker (see ``peer.load_engine``)."""

    name: str
    peer_connection: Callable[..., Any]
    session_description: Callable[..., Any]
    configuration: Callable[..., Any] | None

    def new_peer_connection(self) -> PeerConnection:
        # No ICE servers: host candidates only (aiortc would otherwise add a
        # public STUN server and look it up).
        if self.configuration is not None:
            pc: PeerConnection = self.peer_connection(
                configuration=self.configuration(iceServers=[])
            )
        else:
            pc = self.peer_connection()
        return pc

    def description(self, sdp: str, type: str) -> SessionDescription:
        desc: SessionDescription = self.session_description(sdp=sdp, type=type)
        return desc


class Link(Protocol):
    """The worker's path to the other worker (relayed by the parent)."""

    async def signal(self, data: dict[str, Any]) -> None: ...

    async def expect(self, kind: str, timeout: float) -> dict[str, Any]: ...


class WorkloadError(Exception):
    """A workload step failed; the message says which and why."""


# --- process figures ---------------------------------------------------------------------


def cpu_seconds() -> float:
    """User + system CPU time of this process so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_mib() -> float:
    """Peak resident set size of this process (``ru_maxrss``), in MiB."""
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports KiB, macOS bytes.
    return maxrss / (1 << 20) if sys.platform == "darwin" else maxrss / 1024


# --- connection set-up -------------------------------------------------------------------


async def _step(what: str, awaitable: Awaitable[Any], timeout: float) -> Any:
    """Await one API step with a deadline; a timeout names the step."""
    try:
        return await asyncio.wait_for(awaitable, timeout)
    except TimeoutError:
        raise WorkloadError(f"{what}: no result after {timeout:g} s") from None


async def _gathering_complete(pc: PeerConnection, timeout: float) -> None:
    """Wait for ``iceGatheringState == "complete"`` (aiortc is already there
    when ``setLocalDescription`` returns; an engine that trickles is not)."""
    if pc.iceGatheringState == "complete":
        return
    complete = asyncio.Event()

    def on_change() -> None:
        if pc.iceGatheringState == "complete":
            complete.set()

    pc.on("icegatheringstatechange", on_change)
    on_change()
    await _step("ICE gathering", complete.wait(), timeout)


def _watch_failure(pc: PeerConnection) -> asyncio.Event:
    """An event set when ``connectionState`` becomes ``failed``."""
    failed = asyncio.Event()

    def on_change() -> None:
        if pc.connectionState == "failed":
            failed.set()

    pc.on("connectionstatechange", on_change)
    return failed


async def _until_open(
    channel: DataChannel, failed: asyncio.Event, timeout: float, who: str
) -> None:
    """Wait for the channel's ``open`` event (or ``readyState`` already open)."""
    opened = asyncio.Event()

    def on_open() -> None:
        opened.set()

    channel.on("open", on_open)
    if channel.readyState == "open":
        return
    waits = {asyncio.ensure_future(opened.wait()), asyncio.ensure_future(failed.wait())}
    try:
        await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in waits:
            task.cancel()
    if opened.is_set():
        return
    if failed.is_set():
        raise WorkloadError(f"{who}: connectionState became 'failed' before the channel opened")
    raise WorkloadError(f"{who}: data channel not open after {timeout:g} s")


@dataclass
class Connection:
    pc: PeerConnection
    channel: DataChannel
    # createOffer → channel open on this side, in ms (offerer only).
    connect_ms: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


async def connect_offerer(
    engine: Engine, link: Link, channel_options: dict[str, Any], timeout: float
) -> Connection:
    """Create the channel, offer (non-trickle), apply the answer, wait for ``open``.

    The clock starts at ``createOffer()`` and stops at the channel's ``open``
    event: gathering, both signaling hops over loopback TCP, ICE, DTLS, the SCTP
    association and the channel's DCEP open are all inside."""
    pc = engine.new_peer_connection()
    failed = _watch_failure(pc)
    channel = pc.createDataChannel("bench", **channel_options)
    opened = asyncio.Event()
    channel.on("open", opened.set)
    t0 = time.perf_counter()
    offer = await _step("createOffer", pc.createOffer(), timeout)
    await _step("setLocalDescription(offer)", pc.setLocalDescription(offer), timeout)
    await _gathering_complete(pc, timeout)
    local = pc.localDescription
    if local is None:
        raise WorkloadError("localDescription is None after setLocalDescription(offer)")
    t_offer = time.perf_counter()
    await link.signal({"kind": "offer", "sdp": local.sdp, "type": local.type})
    answer = await link.expect("answer", timeout)
    t_answer = time.perf_counter()
    await _step(
        "setRemoteDescription(answer)",
        pc.setRemoteDescription(engine.description(answer["sdp"], answer["type"])),
        timeout,
    )
    if not opened.is_set():
        await _until_open(channel, failed, timeout, "offerer")
    t_open = time.perf_counter()
    # Where the time went: offer ready (gathered), the answerer's turn
    # (including both signaling hops), then ICE + DTLS + SCTP until open.
    phases = {
        "offer_ms": (t_offer - t0) * 1000,
        "answer_ms": (t_answer - t_offer) * 1000,
        "transport_ms": (t_open - t_answer) * 1000,
    }
    return Connection(pc, channel, (t_open - t0) * 1000, extra=phases)


async def connect_answerer(
    engine: Engine,
    link: Link,
    timeout: float,
    on_channel: Callable[[DataChannel], None] | None = None,
) -> Connection:
    """Answer the next offer; ``on_channel`` runs inside the ``datachannel``
    handler, so a ``message`` handler it attaches sees every message."""
    offer = await link.expect("offer", timeout)
    t0 = time.perf_counter()
    pc = engine.new_peer_connection()
    failed = _watch_failure(pc)
    channels: list[DataChannel] = []
    arrived = asyncio.Event()

    def on_datachannel(channel: DataChannel) -> None:
        if on_channel is not None:
            on_channel(channel)
        channels.append(channel)
        arrived.set()

    pc.on("datachannel", on_datachannel)
    await _step(
        "setRemoteDescription(offer)",
        pc.setRemoteDescription(engine.description(offer["sdp"], offer["type"])),
        timeout,
    )
    answer = await _step("createAnswer", pc.createAnswer(), timeout)
    await _step("setLocalDescription(answer)", pc.setLocalDescription(answer), timeout)
    await _gathering_complete(pc, timeout)
    local = pc.localDescription
    if local is None:
        raise WorkloadError("localDescription is None after setLocalDescription(answer)")
    await link.signal({"kind": "answer", "sdp": local.sdp, "type": local.type})
    waits = {asyncio.ensure_future(arrived.wait()), asyncio.ensure_future(failed.wait())}
    try:
        await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in waits:
            task.cancel()
    if not channels:
        if failed.is_set():
            raise WorkloadError("answerer: connectionState became 'failed' before 'datachannel'")
        raise WorkloadError(f"answerer: no 'datachannel' event after {timeout:g} s")
    channel = channels[0]
    await _until_open(channel, failed, timeout, "answerer")
    return Connection(pc, channel, extra={"open_ms": (time.perf_counter() - t0) * 1000})


async def close_quietly(pc: PeerConnection | None, timeout: float = 5.0) -> None:
    """Close a peer connection, bounded in time; errors here are not results."""
    if pc is None:
        return
    try:
        await asyncio.wait_for(pc.close(), timeout)
    except Exception:  # noqa: BLE001 - closing is best effort at the end of a run
        pass


# --- worker halves -----------------------------------------------------------------------


async def connect_workload(
    engine: Engine, role: str, params: Params, link: Link, keep: list[PeerConnection]
) -> Report:
    """``warmup`` + ``runs`` connections, each with new peer connections on both sides.

    Between runs both sides close their peer connection (offerer: ``next``;
    answerer: ``closed``) so connections never overlap."""
    timeout = float(params["timeout_s"])
    runs = int(params["runs"]) + int(params["warmup"])
    times: list[float] = []
    phases: dict[str, list[float]] = {}
    opens: list[float] = []
    for _ in range(runs):
        if role == OFFERER:
            conn = await connect_offerer(engine, link, {}, timeout)
            assert conn.connect_ms is not None
            times.append(conn.connect_ms)
            for key, value in conn.extra.items():
                phases.setdefault(key, []).append(float(value))
            await link.signal({"kind": "next"})
            await close_quietly(conn.pc)
            await link.expect("closed", timeout)
        else:
            conn = await connect_answerer(engine, link, timeout)
            opens.append(float(conn.extra["open_ms"]))
            await link.expect("next", timeout)
            await close_quietly(conn.pc)
            await link.signal({"kind": "closed"})
    warmup = int(params["warmup"])
    if role == OFFERER:
        return {
            "connect_ms": times[warmup:],
            "warmup_ms": times[:warmup],
            # Median of each phase over the timed runs.
            "phases_ms": {k: statistics.median(v[warmup:]) for k, v in phases.items()},
        }
    return {"answer_to_open_ms": opens[warmup:]}


class _Receiver:
    """Counts what the ``message`` handler delivers, with arrival times."""

    __slots__ = ("messages", "bytes", "first", "last", "first_size", "expected", "complete")

    def __init__(self) -> None:
        self.messages = 0
        self.bytes = 0
        self.first = 0.0
        self.last = 0.0
        self.first_size = 0
        self.expected = -1
        self.complete = asyncio.Event()

    def on_message(self, data: bytes | str) -> None:
        now = time.perf_counter()
        if not self.messages:
            self.first = now
            self.first_size = len(data)
        self.last = now
        self.messages += 1
        self.bytes += len(data)
        if self.messages == self.expected:
            self.complete.set()


async def _send_until(
    channel: DataChannel, params: Params, timeout: float
) -> tuple[int, int, float]:
    """Send ``size``-byte messages for ``seconds`` or ``max_bytes``, keeping
    ``bufferedAmount`` under ``high_water``: when it reaches the mark, wait for
    ``bufferedamountlow`` (``bufferedAmountLowThreshold = low_water``).
    Returns (messages, bytes, seconds spent sending)."""
    size = int(params["size"])
    high = int(params["high_water"])
    low = int(params["low_water"])
    payload = bytes(size)
    low_event = asyncio.Event()

    def on_low() -> None:
        low_event.set()

    channel.bufferedAmountLowThreshold = low
    channel.on("bufferedamountlow", on_low)
    # Yield to the event loop at least this often even if the engine's
    # bufferedAmount never climbs (it may write straight to the socket).
    burst = max(1, (256 * KIB) // size)
    sent = 0
    t0 = time.perf_counter()
    deadline = t0 + float(params["seconds"])
    budget = int(params["max_bytes"])
    while True:
        now = time.perf_counter()
        if now >= deadline or sent * size >= budget:
            break
        n = 0
        send = channel.send
        while n < burst and channel.bufferedAmount < high:
            send(payload)
            n += 1
        sent += n
        if channel.bufferedAmount >= high:
            low_event.clear()
            # bufferedAmount only moves when the loop runs, so if it is above
            # the threshold now, the crossing (and the event) is still ahead.
            if channel.bufferedAmount > low:
                # Waiting past the deadline would only stretch the run.
                wait = min(timeout, max(deadline - time.perf_counter(), 0.0))
                try:
                    await asyncio.wait_for(low_event.wait(), wait)
                except TimeoutError:
                    if time.perf_counter() < deadline:
                        raise WorkloadError(
                            f"no 'bufferedamountlow' after {timeout:g} s (bufferedAmount "
                            f"{channel.bufferedAmount}, threshold {low})"
                        ) from None
        else:
            await asyncio.sleep(0)
    send_s = time.perf_counter() - t0
    # Everything handed to the transport before reporting the count.
    drain_deadline = time.perf_counter() + timeout
    while channel.bufferedAmount > 0:
        if time.perf_counter() > drain_deadline:
            raise WorkloadError(
                f"bufferedAmount still {channel.bufferedAmount} after {timeout:g} s"
            )
        await asyncio.sleep(0.005)
    return sent, sent * size, send_s


async def _receive_until(
    receiver: _Receiver, expected: int, reliable: bool, quiet_s: float, timeout: float
) -> None:
    """Wait for ``expected`` messages; an unreliable channel may lose some, so
    there the wait also ends after ``quiet_s`` without a new message."""
    receiver.expected = expected
    if receiver.messages >= expected:
        return
    deadline = time.perf_counter() + timeout
    if reliable:
        try:
            await asyncio.wait_for(receiver.complete.wait(), timeout)
        except TimeoutError:
            raise WorkloadError(
                f"reliable channel: {receiver.messages} of {expected} messages "
                f"after {timeout:g} s"
            ) from None
        return
    while not receiver.complete.is_set() and time.perf_counter() < deadline:
        seen = receiver.messages
        try:
            await asyncio.wait_for(receiver.complete.wait(), quiet_s)
        except TimeoutError:
            if receiver.messages == seen:
                return


async def stream_workload(
    engine: Engine, role: str, params: Params, link: Link, keep: list[PeerConnection]
) -> Report:
    """The offerer sends ``size``-byte messages on one channel with the given
    ``ordered``/``maxRetransmits``; the answerer counts them at arrival.  The
    peer connection goes into ``keep``: the worker closes it after reporting."""
    timeout = float(params["timeout_s"])
    options: dict[str, Any] = {"ordered": bool(params["ordered"])}
    if params.get("maxRetransmits") is not None:
        options["maxRetransmits"] = int(params["maxRetransmits"])
    reliable = options.get("maxRetransmits") is None
    if role == OFFERER:
        conn = await connect_offerer(engine, link, options, timeout)
        keep.append(conn.pc)
        cpu0 = cpu_seconds()
        sent, sent_bytes, send_s = await _send_until(conn.channel, params, timeout)
        await link.signal({"kind": "sent", "messages": sent, "bytes": sent_bytes})
        # Stay up (retransmitting, answering SACKs) until the receiver is done.
        await link.expect("done", timeout + float(params["seconds"]))
        cpu = cpu_seconds() - cpu0
        return {
            "connect_ms": conn.connect_ms,
            "messages_sent": sent,
            "bytes_sent": sent_bytes,
            "send_s": send_s,
            "cpu_s": cpu,
        }
    receiver = _Receiver()

    def on_channel(channel: DataChannel) -> None:
        channel.on("message", receiver.on_message)

    conn = await connect_answerer(engine, link, timeout, on_channel)
    keep.append(conn.pc)
    cpu0 = cpu_seconds()
    # The parent never sees "sent" before the sender finished: allow for the run.
    sent_msg = await link.expect("sent", timeout + float(params["seconds"]))
    expected = int(sent_msg["messages"])
    await _receive_until(receiver, expected, reliable, float(params["quiet_s"]), timeout)
    cpu = cpu_seconds() - cpu0
    await link.signal({"kind": "done"})
    window = receiver.last - receiver.first
    return {
        "messages_received": receiver.messages,
        "bytes_received": receiver.bytes,
        # Rate over first → last arrival, so the first message only starts the clock.
        "window_s": window,
        "window_bytes": receiver.bytes - receiver.first_size,
        "window_messages": max(0, receiver.messages - 1),
        "messages_sent": expected,
        "cpu_s": cpu,
    }


WorkerFn = Callable[[Engine, str, Params, Link, list[PeerConnection]], Awaitable[Report]]


# --- parent halves -----------------------------------------------------------------------


@dataclass(frozen=True)
class WorkloadSpec:
    """A workload as the parent sees it: what to tell the workers and how to
    read their reports."""

    name: str
    title: str
    kind: str  # "connect" or "stream": which worker half runs
    quick: Params
    full: Params

    def params(self, quick: bool) -> Params:
        return dict(self.quick if quick else self.full)

    def budget_s(self, params: Params) -> float:
        """How long a whole session may take before the parent kills it."""
        startup = 30.0
        if self.kind == "connect":
            runs = int(params["runs"]) + int(params["warmup"])
            # A run is bounded by a handful of timed steps; a healthy one takes ms.
            return startup + min(runs * 3 * float(params["timeout_s"]), 60.0 + runs * 2.0)
        return startup + 3 * float(params["timeout_s"]) + 2 * float(params["seconds"])

    def metrics(self, reports: dict[str, Report]) -> dict[str, float]:
        """Figures from one session's two reports (offerer's and answerer's)."""
        off, ans = reports[OFFERER], reports[ANSWERER]
        figures: dict[str, float] = {
            "rss_offerer_mib": float(off["peak_rss_mib"]),
            "rss_answerer_mib": float(ans["peak_rss_mib"]),
        }
        if self.kind == "connect":
            figures["connect_ms"] = statistics.median(off["connect_ms"])
            return figures
        window = float(ans["window_s"])
        received = int(ans["messages_received"])
        sent = int(off["messages_sent"])
        moved_mb = int(ans["bytes_received"]) / MB
        if window <= 0 or received < 2:
            raise WorkloadError(
                f"receiver got {received} message(s) in {window:.3f} s: nothing to time"
            )
        figures.update(
            mb_s=int(ans["window_bytes"]) / MB / window,
            msgs_s=int(ans["window_messages"]) / window,
            loss=(1.0 - received / sent) if sent else 0.0,
            cpu_s_per_mb=(float(off["cpu_s"]) + float(ans["cpu_s"])) / moved_mb,
            cpu_sender_s=float(off["cpu_s"]),
            cpu_receiver_s=float(ans["cpu_s"]),
            messages_sent=float(sent),
            messages_received=float(received),
        )
        return figures


_STREAM_COMMON: Params = {"timeout_s": 20.0, "quiet_s": 0.5, "max_bytes": 1 << 40}

WORKLOADS: list[WorkloadSpec] = [
    WorkloadSpec(
        name="connect",
        title="connect: createOffer → channel open",
        kind="connect",
        quick={"runs": 5, "warmup": 1, "timeout_s": 15.0},
        full={"runs": 15, "warmup": 1, "timeout_s": 15.0},
    ),
    WorkloadSpec(
        name="bulk",
        title="bulk: 64 KiB messages, reliable ordered",
        kind="stream",
        quick={
            **_STREAM_COMMON,
            "size": 64 * KIB,
            "ordered": True,
            "maxRetransmits": None,
            "seconds": 3.0,
            "max_bytes": 1 << 30,
            "high_water": 1024 * KIB,
            "low_water": 256 * KIB,
        },
        full={
            **_STREAM_COMMON,
            "size": 64 * KIB,
            "ordered": True,
            "maxRetransmits": None,
            "seconds": 8.0,
            "max_bytes": 4 << 30,
            "high_water": 1024 * KIB,
            "low_water": 256 * KIB,
        },
    ),
    WorkloadSpec(
        name="small_reliable",
        title="100 B messages, reliable ordered",
        kind="stream",
        quick={
            **_STREAM_COMMON,
            "size": 100,
            "ordered": True,
            "maxRetransmits": None,
            "seconds": 3.0,
            "high_water": 64 * KIB,
            "low_water": 16 * KIB,
        },
        full={
            **_STREAM_COMMON,
            "size": 100,
            "ordered": True,
            "maxRetransmits": None,
            "seconds": 8.0,
            "high_water": 64 * KIB,
            "low_water": 16 * KIB,
        },
    ),
    WorkloadSpec(
        name="small_unordered",
        title="100 B messages, unordered, maxRetransmits=0",
        kind="stream",
        quick={
            **_STREAM_COMMON,
            "size": 100,
            "ordered": False,
            "maxRetransmits": 0,
            "seconds": 3.0,
            "high_water": 64 * KIB,
            "low_water": 16 * KIB,
        },
        full={
            **_STREAM_COMMON,
            "size": 100,
            "ordered": False,
            "maxRetransmits": 0,
            "seconds": 8.0,
            "high_water": 64 * KIB,
            "low_water": 16 * KIB,
        },
    ),
]

WORKER_FNS: dict[str, WorkerFn] = {"connect": connect_workload, "stream": stream_workload}


def workload(name: str) -> WorkloadSpec:
    for spec in WORKLOADS:
        if spec.name == name:
            return spec
    raise KeyError(f"unknown workload {name!r}; known: {', '.join(w.name for w in WORKLOADS)}")


async def run_workload(
    engine: Engine, role: str, kind: str, params: Params, link: Link, keep: list[PeerConnection]
) -> Report:
    """The worker half of workload ``kind`` for ``role``; peer connections still
    open at the end are left in ``keep`` for the caller to close."""
    if role not in ROLES:
        raise WorkloadError(f"unknown role {role!r}")
    try:
        fn = WORKER_FNS[kind]
    except KeyError:
        raise WorkloadError(f"unknown workload kind {kind!r}") from None
    return await fn(engine, role, params, link, keep)
