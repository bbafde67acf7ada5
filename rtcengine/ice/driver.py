"""The asyncio driver of the ICE agent: the only ICE code with sockets, a clock
and timers.

It gathers host candidates on every usable interface (one batched UDP endpoint,
``rtcengine.udp.BatchDatagramEndpoint``, per address), asks every configured
STUN server for a server-reflexive candidate (the agent runs the STUN
transactions), allocates a relay on every configured TURN server through a
:class:`rtcengine.ice.relay.RelayClient`, resolves remote ``.local`` candidates
(mDNS) and feeds datagrams and timer expiries into the sans-IO
:class:`rtcengine.ice.agent.IceAgent`.

Application data (DTLS, SRTP...) from a validated pair goes to a
:class:`DataSink` when one is set (one call per received burst: the
connection's data path, see ``rtcengine.rtcdtlstransport``), else to
``on_data`` (one call per datagram).  ``send(data)`` / ``send_many(datagrams)``
send on the selected pair.

Timers: the driver keeps ONE loop timer for the whole connection.  Its
deadline is the earliest of the agent's and the sink's (DTLS retransmission,
SCTP timers); it is armed lazily: a later deadline never cancels an earlier
timer (the early wake-up finds nothing due and re-arms), so a busy data path
does not churn the loop's timer heap.

Ownership: the loop holds the driver (the endpoints' reader callbacks, the
timer, the resolver tasks) and nothing above it.  The driver holds its
``sink`` weakly, and the ORTC transports give it callbacks that reach them
weakly (``rtcengine.rtcicetransport``), so a connection the user dropped
without ``close()`` is garbage; its gatherer's finalizer then calls
:meth:`IceDriver.abandon` to release the sockets and the timer (issue 7).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import struct
import time
import weakref
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, Protocol, cast

from rtcengine import udp
from rtcengine.exceptions import InvalidStateError
from rtcengine.ice import mdns, tcp
from rtcengine.ice.agent import (
    DataEvent,
    GatheringState,
    GatheringStateEvent,
    IceAgent,
    IceState,
    LocalCandidateEvent,
    SelectedPairEvent,
    StateEvent,
    Transmit,
)
from rtcengine.ice.candidate import (
    Candidate,
    candidate_foundation,
    candidate_priority,
    tcp_candidate_priority,
)
from rtcengine.ice.checklist import Address, CandidatePair
from rtcengine.ice.config import IceConfig, IceServerUrl, parse_ice_url
from rtcengine.ice.relay import RelayClient, RelayClientFactory, RelayError

logger = logging.getLogger(__name__)

#: Resolves an mDNS name to an IP address (None when nobody answers).
MdnsResolver = Callable[[str], Awaitable[str | None]]

# draft-ietf-mmusic-mdns-ice-candidates §3.2.1: give up on a name after a while.
MDNS_TIMEOUT = 3.0
# Host sockets ask for 4 MiB of kernel buffer each way: a window of data
# (SCTP rwnd, see rtcengine.rtcsctptransport) must fit while the process is
# busy or descheduled, or the kernel drops it.
HOST_SOCKET_BUFFER = udp.DEFAULT_BUFFER
# RFC 6762 §5.2: repeat a one-shot query (1 s, then doubling) while waiting.
MDNS_RETRY = 1.0

_STUN = int(udp.Kind.STUN)
_DTLS = int(udp.Kind.DTLS)
_RTP = int(udp.Kind.RTP)
_RTCP = int(udp.Kind.RTCP)


class DataSink(Protocol):
    """Where application data goes (the connection's data path): bursts in,
    and a share of the driver's single timer."""

    def handle_data_burst(self, datagrams: list[bytes], now: float) -> None:
        """DTLS datagrams (RFC 7983: first byte 20..63) from validated
        remotes, one receive burst."""

    def handle_media_burst(self, datagrams: list[bytes], now: float) -> None:
        """SRTP/SRTCP datagrams (first byte 128..191) of one receive burst."""

    def next_deadline(self) -> float | None:
        """The sink's earliest timer deadline (loop time), or None."""

    def handle_timeout(self, now: float) -> None:
        """The driver's timer fired; run whatever is due (may be nothing)."""


# How long one enumeration of the interfaces serves new gatherings.  Listing
# them (ifaddr, getifaddrs through ctypes) costs about a millisecond, paid by
# every connection's setup otherwise; browsers likewise keep a network list
# and refresh it on change rather than per connection.
INTERFACES_TTL = 2.0

_Interface = tuple[str, "ipaddress.IPv4Address | ipaddress.IPv6Address"]
_interfaces: tuple[float, list[_Interface]] | None = None


def _interfaces_now() -> list[_Interface]:
    """(adapter name, address) of every interface address, enumerated at
    most once per :data:`INTERFACES_TTL`."""
    global _interfaces
    now = time.monotonic()
    cached = _interfaces
    if cached is not None and now - cached[0] < INTERFACES_TTL:
        return cached[1]
    import ifaddr

    found: list[_Interface] = []
    for adapter in ifaddr.get_adapters():
        for ip in adapter.ips:
            if isinstance(ip.ip, tuple):
                found.append(
                    (adapter.nice_name, ipaddress.IPv6Address(ip.ip[0].split("%", 1)[0]))
                )
            else:
                found.append((adapter.nice_name, ipaddress.IPv4Address(ip.ip)))
    _interfaces = (now, found)
    return found


def host_addresses(config: IceConfig) -> list[str]:
    """The interface addresses to gather host candidates on (``ifaddr``),
    IPv6 first (RFC 8421 §4 prefers IPv6), filtered by ``config``."""
    v6: list[str] = []
    v4: list[str] = []
    for name, addr in _interfaces_now():
        if addr.version == 6:
            if not config.use_ipv6:
                continue
            if addr.is_link_local and not config.include_link_local:
                continue  # needs a scope id; browsers skip it too
        elif not config.use_ipv4:
            continue
        if addr.is_loopback and not config.include_loopback:
            continue
        text = str(addr)
        if config.interface_filter is not None and not config.interface_filter(name, text):
            continue
        (v6 if addr.version == 6 else v4).append(text)
    return list(dict.fromkeys(v6 + v4))


class _HostSocket:
    """A host candidate's UDP endpoint; the agent's socket key."""

    __slots__ = ("endpoint", "ip", "port")

    def __init__(self, endpoint: udp.BatchDatagramEndpoint, ip: str, port: int) -> None:
        self.endpoint = endpoint
        self.ip = ip
        self.port = port

    def __repr__(self) -> str:
        return f"<host socket {self.ip}:{self.port}>"


class IceDriver:
    """One ICE transport (webrtc-pc ``RTCIceTransport``) on the asyncio loop."""

    def __init__(
        self,
        controlling: bool,
        config: IceConfig | None = None,
        *,
        mdns_resolver: MdnsResolver | None = None,
        relay_factory: RelayClientFactory | None = None,
        **agent_options: Any,
    ) -> None:
        self.config = config or IceConfig()
        self.agent = IceAgent(
            controlling,
            ice_lite=self.config.ice_lite,
            ice_tcp=self.config.ice_tcp,
            aggressive_nomination=self.config.aggressive_nomination,
            transport_policy=self.config.iceTransportPolicy,
            **agent_options,
        )
        self._resolver = mdns_resolver
        self._relay_factory = relay_factory
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sockets: list[_HostSocket] = []
        # RFC 6544 host TCP candidates (IceConfig.ice_tcp): passive and active.
        self._tcp: list[tcp.TcpEndpoint] = []
        self._relays: list[RelayClient] = []
        self._permissions: set[tuple[int, Address]] = set()
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self._agent_deadline: float | None = None
        self._send_pair: CandidatePair | None = None
        self._mdns: _MdnsService | None = None
        self._resolving = 0
        self._deferred_end = False
        self._closed = False
        self._state_changed = asyncio.Event()
        self._gathered = asyncio.Event()
        self._tasks: set[asyncio.Task[Any]] = set()
        self.local_candidates: list[Candidate] = []
        #: Callbacks (all optional): trickled local candidates (None =
        #: end-of-candidates), state changes, selected pair, application data.
        self.on_candidate: Callable[[Candidate | None], None] | None = None
        self.on_state_change: Callable[[IceState], None] | None = None
        self.on_gathering_state_change: Callable[[GatheringState], None] | None = None
        self.on_selected_pair: Callable[[CandidatePair], None] | None = None
        self.on_data: Callable[[bytes], None] | None = None
        # The connection's data path (takes precedence over ``on_data``),
        # held weakly: see the module docstring.
        self._sink: weakref.ReferenceType[DataSink] | None = None

    @property
    def sink(self) -> DataSink | None:
        """The connection's data path (takes precedence over ``on_data``).
        Held weakly: its owner (the DTLS transport) keeps it alive, not the
        driver (which the loop holds while the sockets are open)."""
        ref = self._sink
        return None if ref is None else ref()

    @sink.setter
    def sink(self, sink: DataSink | None) -> None:
        self._sink = None if sink is None else weakref.ref(sink)

    # ------------------------------------------------------------ properties

    @property
    def local_username(self) -> str:
        return self.agent.local_username

    @property
    def local_password(self) -> str:
        return self.agent.local_password

    @property
    def state(self) -> IceState:
        return self.agent.state

    @property
    def gathering_state(self) -> GatheringState:
        return self.agent.gathering_state

    @property
    def selected_pair(self) -> CandidatePair | None:
        return self.agent.selected_pair

    def _now(self) -> float:
        assert self._loop is not None
        return self._loop.time()

    # ------------------------------------------------------------ gathering

    async def gather(self) -> None:
        """Gather host, server-reflexive and relay candidates; candidates are
        reported to ``on_candidate`` as they are found (RFC 8838 §4).  Returns
        when gathering is complete."""
        if self._closed:
            raise InvalidStateError("ICE transport is closed")
        self._loop = asyncio.get_running_loop()
        if self.agent.gathering_state is not GatheringState.NEW:
            await self._gathered.wait()
            return
        self.agent.start_gathering()
        self._pump()
        cfg = self.config
        low, high = cfg.port_range
        hosts = host_addresses(cfg)
        # One socket per address, bound concurrently (each bind may wait on
        # the loop's resolver); candidates follow in address order.
        bound = await asyncio.gather(
            *(self._bind(ip, low, high) for ip in (hosts if cfg.use_udp else [])),
            return_exceptions=True,
        )
        for index, (ip, sock) in enumerate(zip(hosts, bound, strict=False)):
            if isinstance(sock, BaseException):
                if not isinstance(sock, OSError):
                    raise sock
                logger.info("ICE: cannot bind %s: %s", ip, sock)
                continue
            if self._closed:
                sock.endpoint.close()
                continue
            self._sockets.append(sock)
            cand = Candidate(
                component=1,
                foundation=candidate_foundation("host", "udp", ip),
                ip=ip,
                port=sock.port,
                # RFC 8445 §5.1.2.1: a distinct local preference per interface.
                priority=candidate_priority(1, "host", 65535 - index),
                protocol="udp",
                type="host",
            )
            self.agent.add_local_candidate(cand, sock)
            self._pump()
        if cfg.ice_tcp and cfg.iceTransportPolicy != "relay":
            await self._gather_tcp(hosts)
        urls: list[IceServerUrl] = []
        for server in cfg.iceServers:
            for url in server.url_list():
                try:
                    urls.append(parse_ice_url(url, server.username, server.credential))
                except ValueError as exc:
                    logger.warning("ICE: ignoring server URL %r: %s", url, exc)
        relay_tasks = []
        for u in urls:
            if u.scheme == "stun":
                await self._gather_srflx(u)
            elif u.is_turn:
                relay_tasks.append(self._gather_relay(u))
        if relay_tasks:
            await asyncio.gather(*relay_tasks)
        self.agent.local_candidates_done()
        self._pump()
        await self._gathered.wait()

    async def _bind(self, ip: str, low: int, high: int) -> _HostSocket:
        holder: list[_HostSocket] = []

        def on_burst(batch: udp.RecvBatch, count: int) -> None:
            self._on_burst(holder[0], batch, count)

        ports = [0] if not low else list(range(low, high + 1))
        last: OSError | None = None
        for port in ports:
            try:
                ep = await udp.open_endpoint(
                    (ip, port), on_burst, rcvbuf=HOST_SOCKET_BUFFER, sndbuf=HOST_SOCKET_BUFFER,
                    dual_stack=False
                )
            except OSError as exc:
                last = exc
                continue
            holder.append(_HostSocket(ep, ip, ep.local_address[1]))
            return holder[0]
        raise last or OSError(f"no free port for {ip}")

    async def _gather_tcp(self, hosts: list[str]) -> None:
        """RFC 6544 §5.1: a passive (listening) and an active (port 9) host
        TCP candidate per address."""
        for index, ip in enumerate(hosts):
            try:
                passive = await tcp.PassiveTcp.listen(ip, self._on_tcp_frame)
            except OSError as exc:
                logger.info("ICE-TCP: cannot listen on %s: %s", ip, exc)
                continue
            active = tcp.ActiveTcp(ip, self._on_tcp_frame)
            for ep in (passive, active):
                self._tcp.append(ep)
                cand = Candidate(
                    component=1,
                    foundation=candidate_foundation("host", "tcp", ip),
                    ip=ip,
                    port=ep.port,
                    # RFC 6544 §4.2: other-pref orders interfaces.
                    priority=tcp_candidate_priority(1, "host", ep.tcp_type, 8191 - index),
                    protocol="tcp",
                    type="host",
                    tcpType=ep.tcp_type,
                )
                self.agent.add_local_candidate(cand, ep)
            self._pump()

    def _on_tcp_frame(self, ep: tcp.TcpEndpoint, peer: Address, data: bytes) -> None:
        # RFC 7983 on an RFC 4571 frame: STUN to the agent, data if trusted.
        if self._closed or not data:
            return
        now = self._now()
        if data[0] <= 3:
            self.agent.handle_datagram(ep, peer, data, now)
        elif self.agent.receive_data(ep, peer, len(data), now):
            self._deliver(data, now)
        self._pump()

    async def _gather_srflx(self, url: IceServerUrl) -> None:
        """RFC 8445 §5.1.1.2: one Binding request per STUN server per host socket
        of the same address family."""
        assert self._loop is not None
        try:
            infos = await self._loop.getaddrinfo(url.host, url.port, type=socket.SOCK_DGRAM)
        except OSError as exc:
            logger.info("ICE: cannot resolve STUN server %s: %s", url.host, exc)
            return
        by_family: dict[int, Address] = {}
        for family, _, _, _, sockaddr in infos:
            by_family.setdefault(int(family), (str(sockaddr[0]), int(sockaddr[1])))
        for sock in self._sockets:
            fam = int(socket.AF_INET6 if ":" in sock.ip else socket.AF_INET)
            server = by_family.get(fam)
            if server is not None:
                self.agent.gather_server_reflexive(sock, server, self._now())
        self._pump()

    async def _gather_relay(self, url: IceServerUrl) -> None:
        """RFC 8445 §5.1.1.2 / RFC 8656: a relayed candidate per TURN URL."""
        if self._relay_factory is None:
            # The TURN client of rtcengine.ice.turn_transport, with default TLS settings.
            from rtcengine.ice.turn_transport import TurnClientFactory

            self._relay_factory = TurnClientFactory()
        holder: list[RelayClient] = []

        def on_datagram(peer: Address, data: bytes) -> None:
            if holder and not self._closed:
                self._on_relay_datagram(holder[0], peer, data)

        client = self._relay_factory(url, on_datagram)
        holder.append(client)
        try:
            relayed = await client.allocate()
        except (RelayError, OSError) as exc:
            logger.info("ICE: TURN allocation on %s failed: %s", url.host, exc)
            await client.close()
            return
        self._relays.append(client)
        mapped = client.mapped_address
        index = len(self._relays)
        cand = Candidate(
            component=1,
            # RFC 8445 §5.1.1.3: foundation from type, base and server.
            foundation=candidate_foundation("relay", "udp", relayed[0], url.host),
            ip=relayed[0],
            port=relayed[1],
            # RFC 8445 §5.1.2.1; local preference orders relays over UDP/TCP/TLS.
            priority=candidate_priority(
                1, "relay", {"udp": 65535, "tcp": 32767, "tls": 16383}.get(url.transport, 0) - index
            ),
            protocol="udp",
            type="relay",
            relatedAddress=mapped[0] if mapped else None,
            relatedPort=mapped[1] if mapped else None,
        )
        self.agent.add_local_candidate(cand, client, relayed)
        self._pump()

    # ------------------------------------------------------------ remote side

    def set_remote_credentials(self, ufrag: str, pwd: str, ice_lite: bool = False) -> None:
        self.agent.set_remote_credentials(ufrag, pwd, ice_lite)
        self._pump()

    def set_role(self, controlling: bool) -> None:
        """Set the ICE role (RFC 8445 §6.1.1); changing it after pairs exist
        recomputes their priorities (RFC 8445 §7.2.5.1)."""
        if controlling != self.agent.controlling:
            self.agent._switch_role(controlling)
            self._pump()

    def add_remote_candidate(self, candidate: Candidate | None) -> None:
        """Add a trickled remote candidate (``None``: end-of-candidates).
        ``.local`` names are resolved first (mDNS), in the background."""
        if self._closed:
            return
        if candidate is None:
            if self._resolving:
                self._deferred_end = True  # after the pending resolutions
            else:
                self.agent.add_remote_candidate(None)
                self._pump()
            return
        if candidate.is_mdns and self.config.mdns_resolve:
            self._resolving += 1
            task = asyncio.get_running_loop().create_task(self._resolve_and_add(candidate))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            return
        self.agent.add_remote_candidate(candidate)
        self._pump()

    async def _resolve_and_add(self, candidate: Candidate) -> None:
        try:
            resolver = self._resolver or (await self._mdns_service()).resolve
            try:
                address = await asyncio.wait_for(resolver(candidate.ip), MDNS_TIMEOUT)
            except (TimeoutError, OSError):
                address = None
            if address is not None and not self._closed:
                resolved = candidate.copy()
                resolved.ip = address
                self.agent.add_remote_candidate(resolved)
            else:
                logger.info("ICE: could not resolve %s", candidate.ip)
        finally:
            self._resolving -= 1
            if self._resolving == 0 and self._deferred_end and not self._closed:
                self._deferred_end = False
                self.agent.add_remote_candidate(None)
            if not self._closed:
                self._pump()

    async def _mdns_service(self) -> _MdnsService:
        if self._mdns is None:
            self._mdns = await _MdnsService.start()
        return self._mdns

    # ------------------------------------------------------------ connect / send

    async def connect(self) -> None:
        """Wait until connected (or completed); raise ConnectionError on failed."""
        while True:
            state = self.agent.state
            if state in (IceState.CONNECTED, IceState.COMPLETED):
                return
            if state in (IceState.FAILED, IceState.CLOSED):
                raise ConnectionError(f"ICE {state.value}")
            self._state_changed.clear()
            await self._state_changed.wait()

    def send(self, data: bytes) -> bool:
        """Send application data on the selected pair (False when there is none
        or consent expired, RFC 7675 §5.1)."""
        pair = self._send_pair
        if pair is None or self._closed:
            pair = self.agent.send_pair()
            if pair is None or self._closed:
                return False
        key = pair.local.key
        if isinstance(key, _HostSocket):
            ok = key.endpoint.sendto(data, pair.remote_addr)
        elif isinstance(key, tcp.TcpEndpoint):
            ok = key.send_to(data, pair.remote_addr)
        else:
            self._relay_send(key, pair.remote_addr, data)  # type: ignore[arg-type]
            ok = True
        pair.packetsSent += 1
        pair.bytesSent += len(data)
        return ok

    def send_many(self, datagrams: list[bytes]) -> int:
        """Send a burst of application datagrams on the selected pair (one
        pair lookup and one flush request for all); returns how many were
        queued."""
        pair = self._send_pair
        if pair is None or self._closed:
            pair = self.agent.send_pair()
            if pair is None or self._closed:
                return 0
        key = pair.local.key
        addr = pair.remote_addr
        sent = 0
        size = 0
        if isinstance(key, _HostSocket):
            endpoint = key.endpoint
            if endpoint.is_closing():
                return 0
            queue = endpoint.queue.queue
            for data in datagrams:
                if not queue(data, addr):
                    endpoint.flush()  # queue full: send what is there now
                    if not queue(data, addr):
                        continue  # kernel buffer full too: dropped, as UDP would
                sent += 1
                size += len(data)
            endpoint.schedule_flush()
        elif isinstance(key, tcp.TcpEndpoint):
            for data in datagrams:
                if key.send_to(data, addr):
                    sent += 1
                    size += len(data)
        else:
            for data in datagrams:
                self._relay_send(key, addr, data)  # type: ignore[arg-type]
                sent += 1
                size += len(data)
        pair.packetsSent += sent
        pair.bytesSent += size
        return sent

    def schedule(self, deadline: float | None) -> None:
        """Make sure the connection's timer fires by ``deadline`` (the sink
        calls this after API calls that moved its deadline earlier)."""
        if deadline is not None and not self._closed and self._loop is not None:
            self._arm(deadline)

    def restart(self) -> None:
        """RFC 8445 §9 ICE restart: new local credentials; the current pair
        carries data until a new one is selected."""
        self.agent.restart()
        self._pump()

    async def close(self) -> None:
        if self._closed:
            return
        self._close_now(True)
        for ep in self._tcp:
            await ep.close()
        for client in self._relays:
            await client.close()

    def _close_now(self, pump: bool) -> None:
        """The synchronous part of :meth:`close`: sockets, timer, tasks."""
        self._closed = True
        self.agent.close()
        if pump:
            self._pump()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for task in list(self._tasks):
            task.cancel()
        for sock in self._sockets:
            sock.endpoint.close()
        if self._mdns is not None:
            self._mdns.close()
        self._gathered.set()
        self._state_changed.set()

    def abandon(self) -> None:
        """Close without awaiting: the owner was garbage-collected without
        ``close()`` (a ``weakref.finalize`` callback, so it may run from any
        allocation on the loop's thread, or at a loop that is closed).  The
        UDP sockets, the timer and the tasks go now; TCP endpoints and TURN
        allocations are closed by a task when the loop still runs.  Never
        raises."""
        if self._closed:
            return
        try:
            self._close_now(False)
        except Exception as exc:  # noqa: BLE001 - a finalizer must not raise
            logger.debug("ICE: abandoning the driver: %r", exc)
        if not self._tcp and not self._relays:
            return
        loop = self._loop
        if loop is None or loop.is_closed():
            return

        async def close_rest() -> None:
            for ep in self._tcp:
                await ep.close()
            for client in self._relays:
                await client.close()

        def start() -> None:
            task = loop.create_task(close_rest())
            task.add_done_callback(lambda t: t.cancelled() or t.exception())

        try:
            loop.call_soon_threadsafe(start)
        except RuntimeError:
            pass  # the loop closed meanwhile

    def get_stats(self) -> dict[str, object]:
        stats = self.agent.get_stats()
        stats["sockets"] = [s.endpoint.stats() for s in self._sockets]
        if self._tcp:
            stats["tcp"] = [ep.stats() for ep in self._tcp]
        return stats

    # ------------------------------------------------------------ I/O plumbing

    def _on_burst(self, sock: _HostSocket, batch: udp.RecvBatch, count: int) -> None:
        # The per-datagram loop of the receive path: STUN to the agent, data
        # from trusted sources (RFC 8445 §12) into per-burst lists.  The
        # batch hands out the same address tuple for the same source, so one
        # trust lookup serves a run of datagrams from one peer.
        agent = self.agent
        now = self._now()
        kinds = batch.kinds
        addr_of = batch.addr
        data_of = batch.data
        dtls: list[bytes] = []
        media: list[bytes] = []
        stun = False
        last: object = None
        pair: CandidatePair | None = None
        packets = 0
        size = 0
        dropped = 0
        for i in range(count):
            kind = kinds[i]
            if kind == _STUN:
                addr = addr_of(i)
                if addr is not None:
                    stun = True
                    agent.handle_datagram(sock, addr, data_of(i), now)
                    last = None  # a check may have validated a new pair
                continue
            if kind != _DTLS and kind != _RTP and kind != _RTCP:
                continue
            addr = addr_of(i)
            if addr is not last:
                if pair is not None and packets:
                    pair.packetsReceived += packets
                    pair.bytesReceived += size
                    pair.lastPacketReceivedTimestamp = now
                    packets = size = 0
                last = addr
                pair = agent.trusted_pair(sock, addr) if addr is not None else None
            if pair is None:
                dropped += 1
                continue
            data = data_of(i)
            packets += 1
            size += len(data)
            if kind == _DTLS:
                dtls.append(data)
            else:
                media.append(data)
        if pair is not None and packets:
            pair.packetsReceived += packets
            pair.bytesReceived += size
            pair.lastPacketReceivedTimestamp = now
        if dropped:
            agent.stats.data_dropped += dropped
        if dtls:
            self._deliver_burst(dtls, now, False)
        if media:
            self._deliver_burst(media, now, True)
        self._pump(stun)

    def _deliver_burst(self, datagrams: list[bytes], now: float, media: bool) -> None:
        ref = self._sink
        sink = None if ref is None else ref()
        if sink is not None:
            if media:
                sink.handle_media_burst(datagrams, now)
            else:
                sink.handle_data_burst(datagrams, now)
        elif self.on_data is not None:
            for data in datagrams:
                self.on_data(data)

    def _on_relay_datagram(self, client: RelayClient, peer: Address, data: bytes) -> None:
        now = self._now()
        if data and data[0] <= 3:
            self.agent.handle_datagram(client, peer, data, now)
        elif self.agent.receive_data(client, peer, len(data), now):
            self._deliver(data, now)
        self._pump()

    def _deliver(self, data: bytes, now: float) -> None:
        # RFC 7983 §7: 20..63 DTLS, 128..191 RTP/RTCP.
        if 19 < data[0] < 64:
            self._deliver_burst([data], now, False)
        elif 127 < data[0] < 192:
            self._deliver_burst([data], now, True)

    def _relay_send(self, client: RelayClient, peer: Address, data: bytes) -> None:
        # relay.py §3: a permission for each peer we talk to, before the first send.
        k = (id(client), peer)
        if k not in self._permissions:
            self._permissions.add(k)
            client.add_permission(peer)
        client.send_to(data, peer)

    def _transmit(self, t: Transmit) -> None:
        key: Hashable = t.key
        if isinstance(key, _HostSocket):
            key.endpoint.sendto(t.data, t.addr)
        elif isinstance(key, tcp.TcpEndpoint):
            key.send_to(t.data, t.addr)
        else:
            self._relay_send(key, t.addr, t.data)  # type: ignore[arg-type]

    def _pump(self, agent_input: bool = True) -> None:
        """Drain the agent's transmits and events; re-arm the timer.
        ``agent_input`` False: only application data came in, so the
        agent's deadline is the one computed last time."""
        agent = self.agent
        if agent_input:
            while (t := agent.poll_transmit()) is not None:
                self._transmit(t)
            while (ev := agent.poll_event()) is not None:
                self._dispatch(ev)
            if self._closed or self._loop is None:
                return
            self._agent_deadline = agent.next_deadline()
        elif self._closed or self._loop is None:
            return
        deadline = self._agent_deadline
        ref = self._sink
        sink = None if ref is None else ref()
        if sink is not None:
            other = sink.next_deadline()
            if other is not None and (deadline is None or other < deadline):
                deadline = other
        if deadline is not None:
            self._arm(deadline)

    def _arm(self, deadline: float) -> None:
        # Lazy: an armed timer that fires no later than ``deadline`` stays;
        # when it fires early, nothing is due and it re-arms.
        at = self._timer_at
        if at is not None and at <= deadline:
            return
        if self._timer is not None:
            self._timer.cancel()
        assert self._loop is not None
        self._timer_at = deadline
        self._timer = self._loop.call_at(deadline, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self._timer_at = None
        if self._closed:
            return
        now = self._now()
        self.agent.handle_timeout(now)
        sink = self.sink
        if sink is not None:
            sink.handle_timeout(now)
        self._pump()

    def _dispatch(self, ev: object) -> None:
        if isinstance(ev, LocalCandidateEvent):
            cand = ev.candidate
            if cand is not None:
                cand = self._signalled(cand)
                self.local_candidates.append(cand)
            if self.on_candidate is not None:
                self.on_candidate(cand)
        elif isinstance(ev, StateEvent):
            self._send_pair = self.agent.send_pair()
            self._state_changed.set()
            if self.on_state_change is not None:
                self.on_state_change(ev.state)
        elif isinstance(ev, GatheringStateEvent):
            if ev.state is GatheringState.COMPLETE:
                self._gathered.set()
            if self.on_gathering_state_change is not None:
                self.on_gathering_state_change(ev.state)
        elif isinstance(ev, SelectedPairEvent):
            self._send_pair = self.agent.send_pair()
            if self.on_selected_pair is not None:
                self.on_selected_pair(ev.pair)
        elif isinstance(ev, DataEvent):
            if self._loop is not None:
                self._deliver(ev.data, self._now())
            elif self.on_data is not None:
                self.on_data(ev.data)

    def _signalled(self, cand: Candidate) -> Candidate:
        """draft-ietf-mmusic-mdns-ice-candidates §3.1: with hiding on, host
        addresses become ``.local`` names and related addresses 0.0.0.0:0."""
        if not self.config.mdns_hide_host:
            return cand
        out = cand.copy()
        if cand.type == "host":
            if self._mdns is None:
                self._mdns = _MdnsService.start_nowait()
            out.ip = self._mdns.names.register(cand.ip)
        elif cand.relatedAddress is not None:
            out.relatedAddress = "0.0.0.0"
            out.relatedPort = 0
        return out


class _MdnsService(asyncio.DatagramProtocol):
    """A minimal mDNS querier/responder on 224.0.0.251:5353 (RFC 6762)."""

    def __init__(self) -> None:
        self.names = mdns.MdnsNames()
        self.transport: asyncio.DatagramTransport | None = None
        self._waiters: dict[str, list[asyncio.Future[str]]] = {}

    @classmethod
    async def start(cls) -> _MdnsService:
        service = cls()
        await service._open()
        return service

    @classmethod
    def start_nowait(cls) -> _MdnsService:
        service = cls()
        task = asyncio.get_running_loop().create_task(service._open())
        task.add_done_callback(lambda t: t.exception())
        return service

    async def _open(self) -> None:
        loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if hasattr(socket, "SO_REUSEPORT"):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind(("", mdns.MDNS_PORT))
            mreq = struct.pack("=4sl", socket.inet_aton(mdns.MDNS_ADDRESS_V4), socket.INADDR_ANY)
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)
            # RFC 6762 §11: packets carry TTL 255.
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 255)
        except OSError:
            sock.close()
            raise
        await loop.create_datagram_endpoint(lambda: self, sock=sock)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # (the selector loop's datagram transport is not a DatagramTransport subclass)
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        try:
            replies = self.names.handle(data)
        except ValueError:
            return  # mdns.ParseError: not ours to fix
        for reply in replies:
            self._send(reply)
        for name, waiters in list(self._waiters.items()):
            address = self.names.resolved.get(name)
            if address is not None:
                for fut in waiters:
                    if not fut.done():
                        fut.set_result(address)
                del self._waiters[name]

    def _send(self, data: bytes) -> None:
        if self.transport is not None:
            self.transport.sendto(data, (mdns.MDNS_ADDRESS_V4, mdns.MDNS_PORT))

    async def resolve(self, name: str) -> str | None:
        """Query ``name`` (A and AAAA), repeating per RFC 6762 §5.2."""
        name = name.lower()
        own = self.names.own(name)
        if own is not None:
            return own
        if name in self.names.resolved:
            return self.names.resolved[name]
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[str] = loop.create_future()
        self._waiters.setdefault(name, []).append(fut)
        delay = MDNS_RETRY
        try:
            while True:
                self._send(mdns.build_query(name))
                try:
                    return await asyncio.wait_for(asyncio.shield(fut), delay)
                except TimeoutError:
                    delay *= 2
        finally:
            if not fut.done():
                fut.cancel()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
            self.transport = None
