"""Batched UDP endpoints on the asyncio loop (the default loop or uvloop).

An endpoint owns one non-blocking UDP socket registered with the loop:

* each readiness event drains the socket with ``recvmmsg`` (up to
  ``max_batches_per_event`` bursts, to stay fair to other sockets) and calls
  ``on_burst(batch, count)`` once per burst: one Python call per burst, not per
  datagram.  The datagrams are already classified by first byte (RFC 7983) in
  ``batch.kinds``; kinds outside 1..5 were dropped and counted and are to be
  skipped.  The batch is overwritten by the next burst.
* ``sendto`` copies a datagram into a preallocated slot; one flush per loop
  iteration (``loop.call_soon``) sends everything queued with ``sendmmsg``.  If
  the kernel buffer is full, the rest waits for a writable event.  A full queue
  is flushed at once; if the kernel still refuses, the datagram is dropped and
  counted (``send_overflow``) as UDP would.  On Linux each run of same-size
  datagrams to one peer leaves as one UDP GSO send (``gso=False`` to turn
  that off; see :class:`SendQueue`).

Socket buffers are asked for large (4 MiB each by default) so that a burst
is not dropped by the kernel; the sizes granted are in ``rcvbuf``/``sndbuf``,
and kernel receive drops are counted (``SO_RXQ_OVFL``) where the platform can.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Callable
from typing import TypeAlias

from rtcengine._core import udp
from rtcengine._core.udp import Kind, RecvBatch, SendQueue

__all__ = [
    "Address",
    "BatchDatagramEndpoint",
    "Kind",
    "OnBurst",
    "RecvBatch",
    "SendQueue",
    "open_endpoint",
    "wrap_socket",
]

Address: TypeAlias = tuple[str, int] | tuple[str, int, int, int]
#: ``on_burst(batch, count)``: datagrams ``0 <= i < count`` of ``batch``.
OnBurst: TypeAlias = Callable[[RecvBatch, int], object]

DEFAULT_BUFFER = 4 * 1024 * 1024
DEFAULT_MAX_BATCHES_PER_EVENT = 8
#: UDP GSO on send (Linux UDP_SEGMENT) unless RTCENGINE_UDP_GSO=0 (benchmark
#: comparisons without a rebuild).
DEFAULT_GSO = os.environ.get("RTCENGINE_UDP_GSO", "1") != "0"


def _grow_buffer(sock: socket.socket, option: int, force: int | None, size: int) -> int:
    """Ask for ``size`` bytes of socket buffer; return what the kernel granted
    (Linux reports twice the request: it counts its bookkeeping)."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, option, size)
    except OSError:
        pass
    granted: int = sock.getsockopt(socket.SOL_SOCKET, option)
    if granted < size and force is not None:
        # Beyond net.core.[rw]mem_max: allowed with CAP_NET_ADMIN only.
        try:
            sock.setsockopt(socket.SOL_SOCKET, force, size)
            granted = sock.getsockopt(socket.SOL_SOCKET, option)
        except OSError:
            pass
    return granted


class BatchDatagramEndpoint:
    """One UDP socket on the loop, read in bursts and written in bursts."""

    def __init__(
        self,
        sock: socket.socket,
        on_burst: OnBurst,
        loop: asyncio.AbstractEventLoop,
        *,
        batch: int = udp.DEFAULT_BATCH,
        send_batch: int | None = None,
        slot_size: int = udp.DEFAULT_SLOT_SIZE,
        max_batches_per_event: int = DEFAULT_MAX_BATCHES_PER_EVENT,
        rcvbuf: int = 0,
        sndbuf: int = 0,
        drop_counter: bool = False,
        gso: bool = DEFAULT_GSO,
    ) -> None:
        if max_batches_per_event < 1:
            raise ValueError("max_batches_per_event must be at least 1")
        sock.setblocking(False)
        self._sock = sock
        self._fd = sock.fileno()
        self._loop = loop
        self._on_burst = on_burst
        self._batch = RecvBatch(batch, slot_size)
        self._queue = SendQueue(send_batch or batch, slot_size, int(sock.family), gso)
        self._max_batches = max_batches_per_event
        self._flush_handle: asyncio.Handle | None = None
        self._writing = False
        self._closed = False
        self._send_overflow = 0
        self._burst_errors = 0
        #: Receive/send buffer sizes the kernel granted (bytes, as it reports them).
        self.rcvbuf = rcvbuf or sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
        self.sndbuf = sndbuf or sock.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF)
        #: True when kernel receive drops are counted (SO_RXQ_OVFL).
        self.drop_counter = drop_counter
        loop.add_reader(self._fd, self._on_readable)

    # -------------------------------------------------------------- info

    @property
    def local_address(self) -> tuple[str, int]:
        """The bound ``(host, port)`` (IPv6 flow info and scope left out)."""
        name = self._sock.getsockname()
        if isinstance(name, tuple):
            return (str(name[0]), int(name[1]))
        return (str(name), 0)  # not an IP socket (wrap_socket over AF_UNIX)

    @property
    def family(self) -> int:
        return int(self._sock.family)

    @property
    def batch(self) -> RecvBatch:
        """The receive slots handed to ``on_burst``."""
        return self._batch

    @property
    def queue(self) -> SendQueue:
        """The send slots (C producers may fill them; call :meth:`schedule_flush`)."""
        return self._queue

    def fileno(self) -> int:
        return self._fd

    def is_closing(self) -> bool:
        return self._closed

    def stats(self) -> dict[str, int]:
        """Counters since the endpoint was made."""
        rx = self._batch.stats()
        tx = self._queue.stats()
        out = {
            "datagrams_in": rx["datagrams"],
            "bytes_in": rx["bytes"],
            "batches_in": rx["batches"],
            "demux_dropped": rx["dropped"],
            "kernel_drops": max(rx["kernel_drops"], 0),
            "recv_errors": rx["recv_errors"],
            "datagrams_out": tx["sent"],
            "bytes_out": tx["bytes"],
            "flushes": tx["flushes"],
            "send_errors": tx["send_errors"],
            "send_overflow": self._send_overflow,
            "pending": tx["pending"],
            "gso_sends": tx["gso_sends"],
            "gso_segments": tx["gso_segments"],
            "gso_disabled": tx["gso_disabled"],
            "burst_errors": self._burst_errors,
            "rcvbuf": self.rcvbuf,
            "sndbuf": self.sndbuf,
        }
        for name in ("stun", "dtls", "channel_data", "rtp", "rtcp", "zrtp", "unknown",
                     "malformed", "truncated"):
            out[f"in_{name}"] = rx[name]
        return out

    # --------------------------------------------------------------- send

    def sendto(self, data: bytes | bytearray | memoryview, addr: Address | None) -> bool:
        """Queue one datagram to ``addr`` (None: a connected socket's peer);
        it leaves with the next flush, at the latest at the end of this loop
        iteration.  False when it had to be dropped (queue and kernel full,
        or the endpoint is closed).  Raises ValueError for a datagram longer
        than a slot or a host that is not a numeric address of a family this
        socket can reach, TypeError for an address that is not a tuple."""
        if self._closed:
            return False
        q = self._queue
        if not q.queue(data, addr):
            self._flush_now()
            if not q.queue(data, addr):
                self._send_overflow += 1
                return False
        if self._flush_handle is None and not self._writing:
            self._flush_handle = self._loop.call_soon(self._flush)
        return True

    def reply(self, data: bytes | bytearray | memoryview, batch: RecvBatch, i: int) -> bool:
        """Queue ``data`` to the source of datagram ``i`` of ``batch`` (no
        address decoding); as :meth:`sendto` otherwise."""
        if self._closed:
            return False
        q = self._queue
        if not q.queue_reply(data, batch, i):
            self._flush_now()
            if not q.queue_reply(data, batch, i):
                self._send_overflow += 1
                return False
        if self._flush_handle is None and not self._writing:
            self._flush_handle = self._loop.call_soon(self._flush)
        return True

    def schedule_flush(self) -> None:
        """Flush at the end of this loop iteration (after C code queued)."""
        if not self._closed and self._flush_handle is None and not self._writing:
            self._flush_handle = self._loop.call_soon(self._flush)

    def flush(self) -> None:
        """Send what is queued now."""
        if not self._closed:
            self._flush_now()

    def _flush(self) -> None:
        self._flush_handle = None
        if not self._closed:
            self._flush_now()

    def _flush_now(self) -> None:
        q = self._queue
        try:
            q.flush(self._fd)
        except OSError as exc:
            self._fatal(exc, "flushing the send queue")
            return
        if q.pending and not self._writing:
            # Kernel buffer full: resume when the socket is writable.
            self._writing = True
            self._loop.add_writer(self._fd, self._on_writable)

    def _on_writable(self) -> None:
        q = self._queue
        try:
            q.flush(self._fd)
        except OSError as exc:
            self._fatal(exc, "flushing the send queue")
            return
        if not q.pending:
            self._writing = False
            self._loop.remove_writer(self._fd)

    # ------------------------------------------------------------ receive

    def _on_readable(self) -> None:
        batch = self._batch
        fd = self._fd
        cap = batch.capacity
        for _ in range(self._max_batches):
            try:
                n = udp.recv_batch(fd, batch)
            except OSError as exc:
                self._fatal(exc, "receiving")
                return
            if n == 0:
                return
            try:
                self._on_burst(batch, n)
            except Exception as exc:  # the handler's bug must not stop the socket
                self._burst_errors += 1
                self._loop.call_exception_handler({
                    "message": "BatchDatagramEndpoint on_burst raised",
                    "exception": exc,
                    "endpoint": self,
                })
            if self._closed or n < cap:
                return  # drained (or closed by the handler)

    # -------------------------------------------------------------- close

    def _fatal(self, exc: OSError, what: str) -> None:
        self._loop.call_exception_handler({
            "message": f"BatchDatagramEndpoint: fatal error {what}",
            "exception": exc,
            "endpoint": self,
        })
        self.close()

    def close(self) -> None:
        """Stop reading and writing and close the socket.  What is queued is
        sent if the kernel takes it right away; the rest is dropped."""
        if self._closed:
            return
        if self._queue.pending:
            try:
                self._queue.flush(self._fd)
            except OSError:
                pass
        self._closed = True
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        self._loop.remove_reader(self._fd)
        if self._writing:
            self._writing = False
            self._loop.remove_writer(self._fd)
        self._queue.clear()
        self._sock.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"fd={self._fd}"
        return f"<BatchDatagramEndpoint {state}>"


def wrap_socket(
    sock: socket.socket,
    on_burst: OnBurst,
    *,
    loop: asyncio.AbstractEventLoop | None = None,
    batch: int = udp.DEFAULT_BATCH,
    send_batch: int | None = None,
    slot_size: int = udp.DEFAULT_SLOT_SIZE,
    max_batches_per_event: int = DEFAULT_MAX_BATCHES_PER_EVENT,
    gso: bool = DEFAULT_GSO,
) -> BatchDatagramEndpoint:
    """An endpoint over a socket made elsewhere (bound, maybe connected); the
    endpoint owns it from now on.  Buffer sizes are left as they are."""
    loop = loop or asyncio.get_running_loop()
    counting = sock.family in (socket.AF_INET, socket.AF_INET6) and udp.enable_drop_counter(
        sock.fileno())
    return BatchDatagramEndpoint(
        sock, on_burst, loop, batch=batch, send_batch=send_batch, slot_size=slot_size,
        max_batches_per_event=max_batches_per_event, drop_counter=counting, gso=gso)


async def open_endpoint(
    local_addr: tuple[str, int],
    on_burst: OnBurst,
    *,
    loop: asyncio.AbstractEventLoop | None = None,
    rcvbuf: int = DEFAULT_BUFFER,
    sndbuf: int = DEFAULT_BUFFER,
    batch: int = udp.DEFAULT_BATCH,
    send_batch: int | None = None,
    slot_size: int = udp.DEFAULT_SLOT_SIZE,
    max_batches_per_event: int = DEFAULT_MAX_BATCHES_PER_EVENT,
    dual_stack: bool = True,
    reuse_port: bool = False,
    gso: bool = DEFAULT_GSO,
) -> BatchDatagramEndpoint:
    """Bind a non-blocking UDP socket to ``local_addr`` and register it.

    ``("::", port)`` makes a dual-stack socket unless ``dual_stack`` is
    False (IPv4 peers then appear as plain IPv4 addresses).  ``rcvbuf`` and
    ``sndbuf`` are requested; the granted sizes are on the endpoint.
    """
    loop = loop or asyncio.get_running_loop()
    host, port = local_addr
    try:
        # A numeric address (what ICE binds: one per interface) resolves in
        # place; loop.getaddrinfo would hop through the executor's thread pool,
        # about 1 ms per socket on the connect path.
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM, proto=socket.IPPROTO_UDP,
                                   flags=socket.AI_PASSIVE | socket.AI_NUMERICHOST)
    except socket.gaierror:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_DGRAM,
                                       proto=socket.IPPROTO_UDP, flags=socket.AI_PASSIVE)
    if not infos:
        raise OSError(f"cannot resolve local address {local_addr!r}")
    family, _, proto, _, sockaddr = infos[0]
    sock = socket.socket(family, socket.SOCK_DGRAM, proto)
    try:
        sock.setblocking(False)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0 if dual_stack else 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        got_rcv = _grow_buffer(sock, socket.SO_RCVBUF, getattr(socket, "SO_RCVBUFFORCE", None),
                               rcvbuf)
        got_snd = _grow_buffer(sock, socket.SO_SNDBUF, getattr(socket, "SO_SNDBUFFORCE", None),
                               sndbuf)
        counting = udp.enable_drop_counter(sock.fileno())
        sock.bind(sockaddr)
        return BatchDatagramEndpoint(
            sock, on_burst, loop, batch=batch, send_batch=send_batch, slot_size=slot_size,
            max_batches_per_event=max_batches_per_event, rcvbuf=got_rcv, sndbuf=got_snd,
            drop_counter=counting, gso=gso)
    except BaseException:
        sock.close()
        raise
