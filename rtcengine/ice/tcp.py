"""ICE-TCP (RFC 6544) sockets of the ICE driver: host TCP candidates, passive
(a listening socket) and active (connections opened towards the peer's
passive candidates), with RFC 4571 framing.

Each :class:`TcpEndpoint` is the agent's socket key for one local TCP
candidate, like a UDP endpoint is for a UDP one: the agent transmits
``(key, remote address, data)`` and the endpoint finds (or, when active,
opens) the connection to that address.  Frames received on a connection are
handed to ``on_frame(endpoint, peer, frame)`` as if they were datagrams from
``peer`` on that socket:

* on an **active** endpoint ``peer`` is the remote passive candidate the
  connection was opened to, so responses and the peer's checks match the
  signalled pair (RFC 6544 §7.1);
* on a **passive** endpoint ``peer`` is the connection's source address (the
  remote active candidate's port is 9, RFC 6544 §4.5, never the real one): the
  agent learns it as a peer-reflexive candidate from the first check
  (RFC 6544 §7.2.1) and answers on the same connection.

Sans-IO rules are the agent's; this module is I/O code (the loop's sockets).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Final

logger = logging.getLogger(__name__)

Address = tuple[str, int]
#: ``on_frame(endpoint, peer, frame)``: one RFC 4571 frame from ``peer``.
OnFrame = Callable[["TcpEndpoint", Address, bytes], None]

# RFC 4571 §2: each packet is preceded by a 16-bit length in network order.
FRAME_HEADER: Final = 2
MAX_FRAME: Final = 0xFFFF
# RFC 6544 §4.5: an active candidate signals the discard port 9 (its real
# source port is only known once a connection is made).
ACTIVE_PORT: Final = 9
# Frames kept per connection while it is being opened; the agent retransmits
# checks, so more would only pile up (RFC 8445 §7.2.2 pacing).
MAX_PENDING: Final = 32
# Connections accepted per passive candidate; beyond that new ones are
# closed at once (one peer needs one per active candidate of its own).
MAX_ACCEPTED: Final = 32
# How long an active endpoint waits for a connection to open.
CONNECT_TIMEOUT: Final = 5.0


def frame(data: bytes | bytearray | memoryview) -> bytes:
    """RFC 4571 §2 framing of one packet."""
    n = len(data)
    if n > MAX_FRAME:
        raise ValueError(f"RFC 4571 frames carry at most {MAX_FRAME} bytes, got {n}")
    return n.to_bytes(FRAME_HEADER, "big") + bytes(data)


class FrameReader:
    """Splits an RFC 4571 byte stream into packets."""

    __slots__ = ("_buf",)

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes | bytearray | memoryview) -> list[bytes]:
        buf = self._buf
        buf += data
        out: list[bytes] = []
        pos = 0
        end = len(buf)
        while end - pos >= FRAME_HEADER:
            n = (buf[pos] << 8) | buf[pos + 1]
            if end - pos - FRAME_HEADER < n:
                break
            out.append(bytes(buf[pos + FRAME_HEADER : pos + FRAME_HEADER + n]))
            pos += FRAME_HEADER + n
        if pos:
            del buf[:pos]
        return out

    @property
    def buffered(self) -> int:
        return len(self._buf)


class TcpConnection(asyncio.Protocol):
    """One TCP connection of a :class:`TcpEndpoint`, framed per RFC 4571."""

    def __init__(self, owner: TcpEndpoint, peer: Address | None = None) -> None:
        self.owner = owner
        # Active: the remote passive candidate we connect to; passive: set
        # from the accepted socket's peer name.
        self.peer = peer
        self.transport: asyncio.Transport | None = None
        self.pending: list[bytes] = []
        self.closed = False
        self._reader = FrameReader()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        if self.peer is None:
            name = transport.get_extra_info("peername")
            self.peer = (str(name[0]), int(name[1]))
        if not self.owner._attach(self):
            transport.close()
            return
        for data in self.pending:
            transport.write(data)
        self.pending.clear()

    def data_received(self, data: bytes) -> None:
        peer = self.peer
        if peer is None or self.closed:
            return
        for packet in self._reader.feed(data):
            self.owner.frames_in += 1
            self.owner.on_frame(self.owner, peer, packet)
            if self.closed:
                return

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.transport = None
        self.pending.clear()
        self.owner._detach(self)

    def send(self, data: bytes | bytearray | memoryview) -> bool:
        """Queue one packet (framed); False when it had to be dropped."""
        if self.closed:
            return False
        framed = frame(data)
        if self.transport is None:
            if len(self.pending) >= MAX_PENDING:
                return False
            self.pending.append(framed)
            return True
        if self.transport.is_closing():
            return False
        self.transport.write(framed)
        return True

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


class TcpEndpoint:
    """The socket key of one local TCP candidate (see the module docstring)."""

    tcp_type: str = ""

    def __init__(self, ip: str, port: int, on_frame: OnFrame) -> None:
        self.ip = ip
        self.port = port
        self.on_frame = on_frame
        self.connections: dict[Address, TcpConnection] = {}
        self.closed = False
        self.frames_in = 0
        self.frames_out = 0
        self.dropped = 0

    def send_to(self, data: bytes | bytearray | memoryview, peer: Address) -> bool:
        raise NotImplementedError

    def _attach(self, conn: TcpConnection) -> bool:
        """A connection is up; False refuses it."""
        if self.closed or conn.peer is None:
            return False
        old = self.connections.get(conn.peer)
        if old is not None and old is not conn:
            old.close()
        self.connections[conn.peer] = conn
        return True

    def _detach(self, conn: TcpConnection) -> None:
        if conn.peer is not None and self.connections.get(conn.peer) is conn:
            del self.connections[conn.peer]

    def stats(self) -> dict[str, object]:
        return {
            "tcpType": self.tcp_type,
            "address": f"{self.ip}:{self.port}",
            "connections": len(self.connections),
            "frames_in": self.frames_in,
            "frames_out": self.frames_out,
            "dropped": self.dropped,
        }

    async def close(self) -> None:
        self.closed = True
        for conn in list(self.connections.values()):
            conn.close()
        self.connections.clear()

    def __repr__(self) -> str:
        return f"<tcp {self.tcp_type} {self.ip}:{self.port}>"


class PassiveTcp(TcpEndpoint):
    """A passive TCP candidate (RFC 6544 §4.5): a listening socket.  It never
    opens connections; it answers on the ones peers opened (RFC 6544 §6.2)."""

    tcp_type = "passive"

    def __init__(self, ip: str, on_frame: OnFrame) -> None:
        super().__init__(ip, 0, on_frame)
        self.server: asyncio.Server | None = None

    @classmethod
    async def listen(cls, ip: str, on_frame: OnFrame, port: int = 0) -> PassiveTcp:
        loop = asyncio.get_running_loop()
        ep = cls(ip, on_frame)
        ep.server = await loop.create_server(lambda: TcpConnection(ep), ip, port)
        sockname = ep.server.sockets[0].getsockname()
        ep.port = int(sockname[1])
        return ep

    def _attach(self, conn: TcpConnection) -> bool:
        if len(self.connections) >= MAX_ACCEPTED:
            self.dropped += 1
            return False
        return super()._attach(conn)

    def send_to(self, data: bytes | bytearray | memoryview, peer: Address) -> bool:
        conn = self.connections.get(peer)
        if conn is None or not conn.send(data):
            self.dropped += 1
            return False
        self.frames_out += 1
        return True

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
        await super().close()
        if self.server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.server.wait_closed(), 1.0)
            self.server = None


class ActiveTcp(TcpEndpoint):
    """An active TCP candidate (RFC 6544 §4.5): signalled with port 9; sending
    to a remote passive candidate opens a connection from ``ip`` to it
    (RFC 6544 §7.1), once, and reuses it for checks and data."""

    tcp_type = "active"

    def __init__(self, ip: str, on_frame: OnFrame) -> None:
        super().__init__(ip, ACTIVE_PORT, on_frame)
        self._connecting: dict[Address, TcpConnection] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.connect_failures = 0

    def send_to(self, data: bytes | bytearray | memoryview, peer: Address) -> bool:
        if self.closed:
            return False
        conn = self.connections.get(peer) or self._connecting.get(peer)
        if conn is None:
            conn = TcpConnection(self, peer)
            self._connecting[peer] = conn
            task = asyncio.get_running_loop().create_task(self._open(conn, peer))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        if not conn.send(data):
            self.dropped += 1
            return False
        self.frames_out += 1
        return True

    async def _open(self, conn: TcpConnection, peer: Address) -> None:
        loop = asyncio.get_running_loop()
        try:
            await asyncio.wait_for(
                loop.create_connection(lambda: conn, peer[0], peer[1], local_addr=(self.ip, 0)),
                CONNECT_TIMEOUT,
            )
        except (OSError, TimeoutError) as exc:
            # RFC 6544 §7.1: no connection, no check; what was queued is lost
            # and the agent's check times out (a later send tries again).
            self.connect_failures += 1
            self.dropped += len(conn.pending)
            conn.pending.clear()
            conn.closed = True
            logger.debug("ICE-TCP: cannot connect %s:%s -> %s: %s", self.ip, "*", peer, exc)
        finally:
            if self._connecting.get(peer) is conn:
                del self._connecting[peer]

    async def close(self) -> None:
        self.closed = True
        for task in list(self._tasks):
            task.cancel()
        for conn in list(self._connecting.values()):
            conn.close()
        self._connecting.clear()
        await super().close()
