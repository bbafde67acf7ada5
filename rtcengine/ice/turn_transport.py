"""asyncio driver of the sans-IO TURN client: its connection to the server.

:class:`TurnRelayClient` implements :class:`rtcengine.ice.relay.RelayClient`
(the ICE driver's plug-in interface) around one
:class:`rtcengine.ice.turn.TurnClient`.  It owns the clock (the loop's),
one timer, and the connection to the TURN server:

* ``udp``: a connected UDP socket on a batched endpoint
  (:mod:`rtcengine.udp`, RFC 8656 §3.1): a readiness event drains the socket
  with ``recvmmsg`` and feeds the whole burst to the client before its outputs
  are processed once; sends leave with the endpoint's per-iteration
  ``sendmmsg`` flush.  ICMP errors the socket reports (port unreachable) are
  counted by the endpoint and noticed at the client's next timer;
* ``tcp``: an asyncio stream connection, STUN and ChannelData framed on it
  by the client (RFC 8656 §12.5);
* ``tls``: the same over TLS (RFC 8656 §3.1, ``turns:``, RFC 7065).  The
  server certificate is verified by default (system CAs, or a ``cafile`` /
  ``ssl_context``); ``verify=False`` is for tests with self-signed certificates.

:class:`TurnClientFactory` is a :class:`rtcengine.ice.relay.RelayClientFactory`
carrying the TLS settings.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import socket
import ssl
from collections.abc import Callable
from typing import Final, cast

from rtcengine import udp
from rtcengine.ice.candidate import Candidate, candidate_foundation, candidate_priority
from rtcengine.ice.config import IceServerUrl
from rtcengine.ice.relay import RelayError
from rtcengine.ice.turn import (
    ERR_TRY_ALTERNATE,
    Address,
    Allocated,
    AllocationFailed,
    Closed,
    DataReceived,
    TransportName,
    TryAlternate,
    TurnClient,
    TurnEvent,
    TurnState,
)

# How long close() waits for the answer to Refresh LIFETIME=0 (RFC 8656 §8)
# before dropping the connection anyway: the server frees an unrefreshed
# allocation at its expiry on its own.
CLOSE_TIMEOUT: Final = 2.0
# How long to wait for the TCP/TLS connection to the server.
CONNECT_TIMEOUT: Final = 10.0
# RFC 8445 §5.1.2.1: the local preference orders candidates of one type; for
# relays we prefer UDP to the server over TCP over TLS (as browsers do: less
# head-of-line blocking), minus the server's index in the configuration.
RELAY_LOCAL_PREFERENCE: Final[dict[str, int]] = {"udp": 65535, "tcp": 49151, "tls": 32767}
# Socket buffers of the UDP connection to the server: a burst of relayed
# datagrams must not be dropped by the kernel (asked for; the kernel may cap).
UDP_BUFFER: Final = 1 << 20
# Errors a connected UDP socket reports after an ICMP message about an
# earlier send (RFC 1122 §4.1.3.3): nobody serves TURN there.
_UNREACHABLE: Final = frozenset({errno.ECONNREFUSED, errno.EHOSTUNREACH, errno.ENETUNREACH})
_STUN: Final = int(udp.Kind.STUN)
_CHANNEL_DATA: Final = int(udp.Kind.CHANNEL_DATA)


def make_ssl_context(cafile: str | None = None, verify: bool = True) -> ssl.SSLContext:
    """A client TLS context for ``turns:``: verifying against ``cafile`` or
    the system CAs, or not verifying at all when ``verify`` is False."""
    ctx = ssl.create_default_context(cafile=cafile)
    if not verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


class _StreamProtocol(asyncio.Protocol):
    def __init__(self, owner: TurnRelayClient) -> None:
        self.owner = owner
        self.active = True

    def data_received(self, data: bytes) -> None:
        if self.active:
            self.owner._received(data)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.active:
            self.owner._lost(exc)


class TurnRelayClient:
    """One TURN allocation on one server, driven by the asyncio loop
    (implements :class:`rtcengine.ice.relay.RelayClient`)."""

    def __init__(
        self,
        url: IceServerUrl,
        on_datagram: Callable[[Address, bytes], None],
        *,
        ssl_context: ssl.SSLContext | None = None,
        lifetime: int | None = None,
        software: str | None = "rtcengine",
        follow_alternate: bool = True,
    ) -> None:
        if not url.is_turn:
            raise ValueError(f"not a TURN URL: {url.scheme}:")
        self.url = url
        self.on_datagram = on_datagram
        self._ssl_context = ssl_context
        self._follow_alternate = follow_alternate
        self._lifetime = lifetime
        self._software = software
        self.server: Address = (url.host, url.port)
        # RFC 8489 §10: after a redirect, TLS verifies ALTERNATE-DOMAIN if
        # given, else the domain of the original URL.
        self._tls_name = url.host
        self._alternate_domain: str | None = None
        self.turn = self._new_client()
        # The connection to the server: a stream transport (TCP/TLS) or a
        # batched UDP endpoint, never both.
        self._transport: asyncio.BaseTransport | None = None
        self._protocol: _StreamProtocol | None = None
        self._endpoint: udp.BatchDatagramEndpoint | None = None
        self._socket_errors = 0
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self._allocated: asyncio.Future[Address] | None = None
        self._closed: asyncio.Future[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.last_error: AllocationFailed | None = None

    def _new_client(self) -> TurnClient:
        return TurnClient(
            self.url.username or "",
            self.url.credential or "",
            transport=self.url.transport,
            lifetime=self._lifetime,
            software=self._software,
        )

    # ---------------------------------------------------- RelayClient API

    @property
    def relayed_address(self) -> Address | None:
        return self.turn.relayed_address

    @property
    def mapped_address(self) -> Address | None:
        return self.turn.mapped_address

    @property
    def transport(self) -> TransportName:
        return self.url.transport

    async def allocate(self) -> Address:
        """Connect to the server and Allocate (RFC 8656 §7); follows one
        300 Try Alternate (RFC 8656 §7.4) when allowed."""
        if self.url.username is None or self.url.credential is None:
            raise RelayError(f"TURN server {self._where()} needs a username and credential")
        self._loop = asyncio.get_running_loop()
        redirected = False
        while True:
            alternate: Address | None = None
            try:
                return await self._allocate_once()
            except RelayError:
                err = self.last_error
                alternate = self._alternate
                if (
                    err is None
                    or err.code != ERR_TRY_ALTERNATE
                    or alternate is None
                    or redirected
                    or not self._follow_alternate
                ):
                    raise
            # RFC 8489 §10: follow ALTERNATE-SERVER once (no redirect loops).
            redirected = True
            self._drop_transport()
            self.server = alternate
            self._tls_name = self._alternate_domain or self.url.host
            self.turn = self._new_client()

    def add_permission(self, peer: Address) -> None:
        if self.turn.state is not TurnState.ALLOCATED:
            return
        self.turn.create_permission(peer[0], self._now())
        self._process()

    def send_to(self, data: bytes, peer: Address) -> None:
        self.turn.send(data, peer, self._now())
        self._process()

    def bind_channel(self, peer: Address) -> None:
        """Bind a channel to ``peer`` now (e.g. the selected ICE pair)."""
        if self.turn.state is TurnState.ALLOCATED:
            self.turn.bind_channel(peer, self._now())
            self._process()

    async def close(self) -> None:
        """Deallocate (Refresh LIFETIME 0) and close; never raises."""
        try:
            if self.turn.state is TurnState.ALLOCATED and self._connected():
                loop = asyncio.get_running_loop()
                self._closed = loop.create_future()
                self.turn.close(self._now())
                self._process()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(self._closed), CLOSE_TIMEOUT)
            else:
                self.turn.close(self._now())
                self._drain_events()
        except Exception:  # close() must not raise (relay.py)
            pass
        finally:
            self._drop_transport()

    # ---------------------------------------------------------- internals

    _alternate: Address | None = None

    def _where(self) -> str:
        scheme = "turns" if self.url.transport == "tls" else "turn"
        return f"{scheme}:{self.server[0]}:{self.server[1]}?transport={self.url.transport}"

    def _now(self) -> float:
        return (self._loop or asyncio.get_running_loop()).time()

    async def _allocate_once(self) -> Address:
        loop = asyncio.get_running_loop()
        self._alternate = None
        self.last_error = None
        try:
            await self._connect(loop)
        except (TimeoutError, OSError, ssl.SSLError) as exc:
            raise RelayError(f"cannot connect to TURN server {self._where()}: {exc}") from exc
        self._allocated = loop.create_future()
        self.turn.allocate(self._now())
        self._process()
        try:
            return await self._allocated
        finally:
            self._allocated = None

    def _connected(self) -> bool:
        if self._endpoint is not None:
            return not self._endpoint.is_closing()
        return self._transport is not None and not self._transport.is_closing()

    async def _connect(self, loop: asyncio.AbstractEventLoop) -> None:
        host, port = self.server
        if self.url.transport == "udp":
            self._endpoint = await self._open_udp(loop, host, port)
            return
        ctx: ssl.SSLContext | None = None
        if self.url.transport == "tls":
            ctx = self._ssl_context or make_ssl_context()
        transport, protocol = await asyncio.wait_for(
            loop.create_connection(
                lambda: _StreamProtocol(self),
                host,
                port,
                ssl=ctx,
                server_hostname=self._tls_name if ctx is not None else None,
            ),
            CONNECT_TIMEOUT,
        )
        self._transport = transport
        self._protocol = protocol

    async def _open_udp(
        self, loop: asyncio.AbstractEventLoop, host: str, port: int
    ) -> udp.BatchDatagramEndpoint:
        """A UDP socket connected to the server (only its datagrams reach
        us, and the kernel reports ICMP errors), on a batched endpoint."""
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_DGRAM)
        if not infos:
            raise OSError(f"cannot resolve {host!r}")
        family, kind, proto, _, sockaddr = infos[0]
        sock = socket.socket(family, kind, proto)
        try:
            sock.setblocking(False)
            for option in (socket.SO_RCVBUF, socket.SO_SNDBUF):
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, option, UDP_BUFFER)
            sock.connect(sockaddr)  # UDP: no handshake, never blocks
        except OSError:
            sock.close()
            raise
        holder: list[udp.BatchDatagramEndpoint] = []

        def on_burst(batch: udp.RecvBatch, count: int) -> None:
            # A late burst of a dropped endpoint never reaches a newer one.
            if holder and holder[0] is self._endpoint:
                self._received_burst(batch, count)

        holder.append(udp.wrap_socket(sock, on_burst, loop=loop))
        self._socket_errors = 0
        return holder[0]

    def _received_burst(self, batch: udp.RecvBatch, count: int) -> None:
        # One datagram is one STUN message or ChannelData message (RFC 8656
        # §12.5); the endpoint's RFC 7983 demux already classified them.
        now = self._now()
        kinds = batch.kinds
        turn = self.turn
        for i in range(count):
            kind = kinds[i]
            if kind == _STUN or kind == _CHANNEL_DATA:
                turn.receive(batch.data(i), now)
        self._check_socket()
        self._process()

    def _check_socket(self) -> None:
        """Notice what the UDP endpoint only counts: ICMP errors about
        earlier sends (port unreachable) and a fatal socket error."""
        ep = self._endpoint
        if ep is None:
            return
        if ep.is_closing():
            self._lost(OSError("UDP socket failed"))
            return
        batch, queue = ep.batch, ep.queue
        errors = batch.recv_errors + queue.send_errors
        if errors == self._socket_errors:
            return
        self._socket_errors = errors
        for err in (batch.last_errno, queue.last_errno):
            if err in _UNREACHABLE:
                self._transport_error(OSError(err, os.strerror(err)))
                return

    def _received(self, data: bytes) -> None:
        self.turn.receive(data, self._now())
        self._process()

    def _transport_error(self, exc: Exception) -> None:
        if self.turn.state is TurnState.ALLOCATING:
            self.turn.connection_lost(f"TURN server {self._where()} unreachable: {exc}")
            self._process()

    def _lost(self, exc: Exception | None) -> None:
        self._transport = None
        self._protocol = None
        endpoint, self._endpoint = self._endpoint, None
        if endpoint is not None:
            endpoint.close()
        why = f": {exc}" if exc else ""
        self.turn.connection_lost(f"connection to TURN server {self._where()} lost{why}")
        self._process()

    def _on_timer(self) -> None:
        self._timer = None
        self._timer_at = None
        self._check_socket()
        self.turn.handle_timeout(self._now())
        self._process()

    def _process(self) -> None:
        """Drain the client's outputs (h11/str0m style) and re-arm the timer."""
        endpoint = self._endpoint
        transport = self._transport
        while (data := self.turn.poll_transmit()) is not None:
            if endpoint is not None:
                # Queued; leaves with the endpoint's flush (sendmmsg) at the
                # end of this loop iteration.
                endpoint.sendto(data, None)
            elif transport is not None and not transport.is_closing():
                cast(asyncio.WriteTransport, transport).write(data)
        self._drain_events()
        self._arm_timer()

    def _drain_events(self) -> None:
        while (event := self.turn.poll_event()) is not None:
            self._handle_event(event)

    def _handle_event(self, event: TurnEvent) -> None:
        if isinstance(event, DataReceived):
            self.on_datagram(event.peer, event.data)
        elif isinstance(event, Allocated):
            if self._allocated is not None and not self._allocated.done():
                self._allocated.set_result(event.relayed_address)
        elif isinstance(event, TryAlternate):
            self._alternate = event.server
            self._alternate_domain = event.domain
        elif isinstance(event, AllocationFailed):
            self.last_error = event
            if self._allocated is not None and not self._allocated.done():
                self._allocated.set_exception(
                    RelayError(f"TURN allocation on {self._where()} failed: {event.reason}")
                )
        elif isinstance(event, Closed):
            if self._closed is not None and not self._closed.done():
                self._closed.set_result(None)

    def _arm_timer(self) -> None:
        deadline = self.turn.next_deadline()
        if deadline == self._timer_at:
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._timer_at = deadline
        if deadline is not None and self._loop is not None:
            self._timer = self._loop.call_at(deadline, self._on_timer)

    def _drop_transport(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = None
        self._timer_at = None
        if self._protocol is not None:
            self._protocol.active = False
        self._protocol = None
        transport, self._transport = self._transport, None
        if transport is not None:
            transport.close()
        endpoint, self._endpoint = self._endpoint, None
        if endpoint is not None:
            endpoint.close()


def relay_candidate(client: TurnRelayClient, component: int = 1, index: int = 0) -> Candidate:
    """The relayed candidate (RFC 8445 §5.1.1.2) of an allocated client:
    type "relay", priority with type preference 0 (RFC 8445 §5.1.2.2), related
    address the XOR-MAPPED-ADDRESS, foundation per server IP and transport
    (RFC 8445 §5.1.1.3).  ``index`` is the server's position in the
    configuration (lowers the local preference)."""
    relayed = client.relayed_address
    if relayed is None:
        raise ValueError("relay_candidate() needs an allocated client")
    mapped = client.mapped_address
    local_preference = max(0, RELAY_LOCAL_PREFERENCE[client.transport] - index)
    return Candidate(
        component,
        candidate_foundation("relay", "udp", relayed[0], f"{client.server[0]}/{client.transport}"),
        relayed[0],
        relayed[1],
        candidate_priority(component, "relay", local_preference),
        "udp",  # RFC 8656 §7.1: the relayed transport is UDP whatever reaches the server
        "relay",
        relatedAddress=mapped[0] if mapped else None,
        relatedPort=mapped[1] if mapped else None,
    )


class TurnClientFactory:
    """Makes :class:`TurnRelayClient` objects for the ICE driver
    (:class:`rtcengine.ice.relay.RelayClientFactory`), with TLS settings:
    ``ssl_context``, or ``cafile`` / ``verify`` to build one."""

    def __init__(
        self,
        *,
        ssl_context: ssl.SSLContext | None = None,
        cafile: str | None = None,
        verify: bool = True,
        lifetime: int | None = None,
    ) -> None:
        if ssl_context is None and (cafile is not None or not verify):
            ssl_context = make_ssl_context(cafile, verify)
        self.ssl_context = ssl_context
        self.lifetime = lifetime

    def __call__(
        self, url: IceServerUrl, on_datagram: Callable[[Address, bytes], None]
    ) -> TurnRelayClient:
        return TurnRelayClient(
            url, on_datagram, ssl_context=self.ssl_context, lifetime=self.lifetime
        )
