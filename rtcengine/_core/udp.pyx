"""Batched UDP I/O: bursts of datagrams in and out with one syscall each.

:func:`recv_batch` drains up to ``RecvBatch.capacity`` datagrams from a
non-blocking UDP socket with one ``recvmmsg`` (RFC-free Linux API; a
``recvmsg`` loop elsewhere) into preallocated slots, and classifies each by its
first byte as RFC 7983 §7 says (STUN, DTLS, TURN ChannelData, RTP/RTCP split by
RFC 5761 §4), in C, with the GIL released.  :class:`SendQueue` collects
datagrams and their destinations in preallocated slots; :meth:`SendQueue.flush`
sends them with one ``sendmmsg``, keeps what the kernel would block on for the
next writable event, and counts (never raises) per-datagram refusals such as
``ECONNREFUSED`` from an earlier ICMP error.

This is the one ``_core`` module that performs I/O (DESIGN.md rule 1): it
only wraps syscalls on a descriptor its driver (``rtcengine.udp``) hands it.

Addresses are ``(host, port)`` tuples with a numeric host.  On a dual-stack
IPv6 socket, IPv4-mapped sources (``::ffff:a.b.c.d``) are reported as plain
IPv4 and IPv4 destinations are mapped; a link-local IPv6 host carries its scope
as ``"fe80::1%2"``.  Source addresses are decoded only when asked for, and the
tuples of the last few peers are reused.
"""

cimport cython
from cpython.buffer cimport (PyObject_GetBuffer, PyBuffer_Release, PyBUF_SIMPLE,
                             PyBUF_WRITABLE, PyBUF_FORMAT, PyBUF_ND, PyBUF_STRIDES)
from cpython.bytes cimport PyBytes_FromStringAndSize, PyBytes_AS_STRING, PyBytes_GET_SIZE
from libc.errno cimport errno, EINTR, EAGAIN, EBADF, EFAULT, ENOTSOCK
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t, int32_t, int64_t
from libc.stdlib cimport calloc, free
from libc.string cimport memcpy, memmove, memset, memcmp, strerror, strlen
from posix.uio cimport iovec

cdef extern from "rtce_live.h":
    # 1 in the debug build (RTCENGINE_DEBUG=1): live-object counting on.
    const int RTCE_LIVE

cdef Py_ssize_t _live_RecvBatch = 0
cdef Py_ssize_t _live_SendQueue = 0

from enum import IntEnum


cdef extern from *:
    """
    #ifndef EWOULDBLOCK
    #define EWOULDBLOCK EAGAIN
    #endif
    """
    ctypedef struct in_addr "struct in_addr":
        pass
    ctypedef struct in6_addr "struct in6_addr":
        pass
    ctypedef struct sockaddr_in "struct sockaddr_in":
        sa_family_t sin_family
        uint16_t sin_port
        in_addr sin_addr
    ctypedef struct sockaddr_in6 "struct sockaddr_in6":
        sa_family_t sin6_family
        uint16_t sin6_port
        uint32_t sin6_flowinfo
        in6_addr sin6_addr
        uint32_t sin6_scope_id
    int AF_INET
    int AF_INET6
    int SOL_SOCKET
    int MSG_DONTWAIT
    int MSG_TRUNC
    int ENOPROTOOPT
    int EWOULDBLOCK
    int INET6_ADDRSTRLEN
    uint16_t htons(uint16_t) nogil
    uint16_t ntohs(uint16_t) nogil
    uint32_t htonl(uint32_t) nogil
    uint32_t ntohl(uint32_t) nogil
    int inet_pton(int af, const char* src, void* dst) nogil
    const char* inet_ntop(int af, const void* src, char* dst, socklen_t size) nogil
    unsigned int if_nametoindex(const char* name) nogil
    int setsockopt(int fd, int level, int name, const void* val, socklen_t len) nogil


# --------------------------------------------------------------- constants

class Kind(IntEnum):
    """What a received datagram is (RFC 7983 §7).  1..5 are delivered; the
    others are dropped by :func:`recv_batch` and counted."""
    UNKNOWN = KIND_UNKNOWN
    STUN = KIND_STUN
    DTLS = KIND_DTLS
    CHANNEL_DATA = KIND_CHANNEL_DATA
    RTP = KIND_RTP
    RTCP = KIND_RTCP
    ZRTP = KIND_ZRTP
    MALFORMED = KIND_MALFORMED
    TRUNCATED = KIND_TRUNCATED


#: True when recvmmsg/sendmmsg are used (Linux); False: a per-datagram loop.
HAVE_MMSG = bool(RTCE_HAVE_MMSG)
#: True when the kernel can report receive-buffer drops (SO_RXQ_OVFL).
HAVE_DROP_COUNTER = bool(RTCE_HAVE_RXQ_OVFL)
DEFAULT_SLOT_SIZE = UDP_DEFAULT_SLOT
DEFAULT_BATCH = UDP_DEFAULT_BATCH
# Largest capacity: Linux refuses more than UIO_MAXIOV (1024) messages per call.
MAX_BATCH = 1024

# Names of the per-kind counters in ``RecvBatch.stats()``.
_KIND_NAMES = ("unknown", "stun", "dtls", "channel_data", "rtp", "rtcp", "zrtp",
               "malformed", "truncated")
# Distinct Python addresses whose encoded form a SendQueue remembers.
cdef int DEST_CACHE_MAX = 1024


def demux(data) -> int:
    """The RFC 7983 kind of one datagram (a :class:`Kind` value)."""
    cdef Py_buffer v
    cdef int k
    PyObject_GetBuffer(data, &v, PyBUF_SIMPLE)
    k = udp_demux(<const uint8_t*>v.buf, v.len)
    PyBuffer_Release(&v)
    return k


cdef inline bint delivered(int kind) noexcept nogil:
    return kind >= KIND_STUN and kind <= KIND_RTCP


cdef inline bint is_socket_error(int err) noexcept nogil:
    # A fault of the descriptor itself, not of one datagram: raise.
    return err == EBADF or err == ENOTSOCK or err == EFAULT


def enable_drop_counter(int fd) -> bool:
    """Ask the kernel to report receive-buffer drops (SO_RXQ_OVFL) with each
    datagram; :attr:`RecvBatch.kernel_drops` then follows them.  False where
    the platform has no such counter."""
    cdef int one = 1
    if not RTCE_HAVE_RXQ_OVFL:
        return False
    if setsockopt(fd, SOL_SOCKET, RTCE_SO_RXQ_OVFL, &one, sizeof(one)) != 0:
        if errno == ENOPROTOOPT:
            return False
        raise OSError(errno, strerror(errno).decode("utf-8", "replace"))
    return True


cdef object os_error(int err):
    return OSError(err, strerror(err).decode("utf-8", "replace"))


# ------------------------------------------------------- buffer exporter

@cython.final
cdef class _Region:
    """A 1-D buffer over memory owned by a RecvBatch (kept alive by the view)."""
    cdef object owner
    cdef char* ptr
    cdef Py_ssize_t shape[1]
    cdef Py_ssize_t strides[1]
    cdef Py_ssize_t itemsize
    cdef bytes fmt
    cdef bint ro

    def __getbuffer__(self, Py_buffer* view, int flags):
        if (flags & PyBUF_WRITABLE) and self.ro:
            raise BufferError("this view is read-only")
        view.buf = self.ptr
        view.obj = self
        view.len = self.shape[0] * self.itemsize
        view.readonly = self.ro
        view.itemsize = self.itemsize
        view.format = PyBytes_AS_STRING(self.fmt) if (flags & PyBUF_FORMAT) else NULL
        view.ndim = 1
        view.shape = self.shape if (flags & PyBUF_ND) == PyBUF_ND else NULL
        view.strides = self.strides if (flags & PyBUF_STRIDES) == PyBUF_STRIDES else NULL
        view.suboffsets = NULL
        view.internal = NULL

    def __releasebuffer__(self, Py_buffer* view):
        pass


cdef object region(object owner, void* ptr, Py_ssize_t n, Py_ssize_t itemsize,
                   bytes fmt, bint ro):
    cdef _Region r = _Region.__new__(_Region)
    r.owner = owner
    r.ptr = <char*>ptr
    r.shape[0] = n
    r.strides[0] = itemsize
    r.itemsize = itemsize
    r.fmt = fmt
    r.ro = ro
    return memoryview(r)


# ------------------------------------------------------------- addresses

cdef bint key_of(const sockaddr_storage* ss, addr_key_t* k) noexcept nogil:
    """Normalise a socket address; v4-mapped IPv6 becomes IPv4.  False for
    families other than IPv4/IPv6."""
    cdef const sockaddr_in* a4
    cdef const sockaddr_in6* a6
    cdef const uint8_t* b
    memset(k, 0, sizeof(addr_key_t))
    if ss.ss_family == AF_INET:
        a4 = <const sockaddr_in*>ss
        k.family = 4
        memcpy(k.addr, &a4.sin_addr, 4)
        k.port = ntohs(a4.sin_port)
        return True
    if ss.ss_family == AF_INET6:
        a6 = <const sockaddr_in6*>ss
        b = <const uint8_t*>&a6.sin6_addr
        k.port = ntohs(a6.sin6_port)
        # RFC 4291 §2.5.5.2: ::ffff:a.b.c.d is an IPv4 peer on a dual-stack socket.
        if (memcmp(b, b"\0\0\0\0\0\0\0\0\0\0", 10) == 0 and b[10] == 0xFF
                and b[11] == 0xFF):
            k.family = 4
            memcpy(k.addr, b + 12, 4)
        else:
            k.family = 6
            memcpy(k.addr, b, 16)
            k.scope = a6.sin6_scope_id
        return True
    return False


cdef object tuple_of(const addr_key_t* k):
    cdef char text[64]
    cdef str host
    if inet_ntop(AF_INET if k.family == 4 else AF_INET6, k.addr, text, sizeof(text)) == NULL:
        raise os_error(errno)
    host = text[:strlen(text)].decode("ascii")
    if k.scope:
        host = f"{host}%{k.scope}"
    return (host, k.port)


cdef bytes encode_sockaddr(object addr, int family):
    """(host, port[, flowinfo, scope_id]) -> the bytes of a sockaddr for a
    socket of ``family`` (IPv4 on an IPv6 socket is v4-mapped)."""
    cdef sockaddr_in a4
    cdef sockaddr_in6 a6
    cdef uint8_t raw[16]
    cdef object host, port
    cdef str scope = ""
    cdef uint32_t scope_id = 0, flowinfo = 0
    cdef bytes hb
    cdef int af
    if family != AF_INET and family != AF_INET6:
        raise ValueError(f"a socket of family {family} takes no IP destination; queue "
                         "with addr=None on a connected socket")
    if not isinstance(addr, tuple) or len(addr) not in (2, 4):
        raise TypeError(f"address must be a (host, port) tuple, got {addr!r}")
    host = addr[0]
    port = addr[1]
    if not isinstance(host, str):
        raise TypeError(f"address host must be a str, got {type(host).__name__}")
    if not isinstance(port, int) or not 0 <= port <= 65535:
        raise ValueError(f"address port must be an int in 0..65535, got {port!r}")
    if len(addr) == 4:
        flowinfo = addr[2]
        scope_id = addr[3]
    if "%" in host:
        host, scope = host.split("%", 1)
    hb = host.encode("ascii", "replace")
    if inet_pton(AF_INET, hb, raw) == 1:
        af = AF_INET
    elif inet_pton(AF_INET6, hb, raw) == 1:
        af = AF_INET6
    else:
        raise ValueError(f"address host must be a numeric IPv4/IPv6 address, got {host!r}")
    if af == AF_INET6 and (memcmp(raw, b"\0\0\0\0\0\0\0\0\0\0", 10) == 0
                           and raw[10] == 0xFF and raw[11] == 0xFF):
        if family == AF_INET:            # ::ffff:a.b.c.d on an IPv4 socket
            memmove(raw, raw + 12, 4)
            af = AF_INET
    if scope:
        if af != AF_INET6:
            raise ValueError(f"a scope id needs an IPv6 host, got {addr[0]!r}")
        scope_id = int(scope) if scope.isdigit() else if_nametoindex(scope.encode())
        if scope_id == 0:
            raise ValueError(f"unknown interface in {addr[0]!r}")
    if family == AF_INET:
        if af != AF_INET:
            raise ValueError(f"cannot send to IPv6 address {addr[0]!r} from an IPv4 socket")
        memset(&a4, 0, sizeof(a4))
        a4.sin_family = AF_INET
        a4.sin_port = htons(<uint16_t>port)
        memcpy(&a4.sin_addr, raw, 4)
        return PyBytes_FromStringAndSize(<char*>&a4, sizeof(a4))
    memset(&a6, 0, sizeof(a6))
    a6.sin6_family = AF_INET6
    a6.sin6_port = htons(<uint16_t>port)
    a6.sin6_flowinfo = htonl(flowinfo)
    a6.sin6_scope_id = scope_id
    if af == AF_INET:                   # RFC 4291 §2.5.5.2 v4-mapped
        memset(&a6.sin6_addr, 0, 10)
        (<uint8_t*>&a6.sin6_addr)[10] = 0xFF
        (<uint8_t*>&a6.sin6_addr)[11] = 0xFF
        memcpy((<uint8_t*>&a6.sin6_addr) + 12, raw, 4)
    else:
        memcpy(&a6.sin6_addr, raw, 16)
    return PyBytes_FromStringAndSize(<char*>&a6, sizeof(a6))


cdef int check_capacity(int capacity, int slot_size) except -1:
    if not 1 <= capacity <= MAX_BATCH:
        raise ValueError(f"capacity must be in 1..{MAX_BATCH}, got {capacity}")
    if not 16 <= slot_size <= 65536:
        raise ValueError(f"slot_size must be in 16..65536, got {slot_size}")
    return 0


# ------------------------------------------------------------- receive

@cython.final
cdef class RecvBatch:
    """Preallocated slots for one burst of received datagrams.

    After :func:`recv_batch` returned ``n``, datagram ``i < n`` is
    ``buffer[offsets[i] : offsets[i] + lengths[i]]`` (also :meth:`view`,
    :meth:`data`), of kind ``kinds[i]`` (:class:`Kind`; only 1..5 are meant to
    be handled, the rest were dropped and counted), from :meth:`addr`.  The
    contents are overwritten by the next receive.  ``buffer`` is writable so
    that SRTP can unprotect in place (``SrtpSession.unprotect_batch(
    batch.buffer, batch.offsets[:n], batch.lengths[:n], ...)``).
    """

    def __cinit__(self, int capacity=UDP_DEFAULT_BATCH, int slot_size=UDP_DEFAULT_SLOT):
        cdef int i
        global _live_RecvBatch
        if RTCE_LIVE:
            _live_RecvBatch += 1
        check_capacity(capacity, slot_size)
        self.capacity = capacity
        self.slot_size = slot_size
        self.count = 0
        self.busy = False
        self.kernel_drops = -1
        self.buf = <uint8_t*>calloc(<size_t>capacity * slot_size, 1)
        self.lengths_ = <int32_t*>calloc(capacity, sizeof(int32_t))
        self.offsets_ = <int32_t*>calloc(capacity, sizeof(int32_t))
        self.kinds_ = <uint8_t*>calloc(capacity, 1)
        self.addrs = <sockaddr_storage*>calloc(capacity, sizeof(sockaddr_storage))
        self.msgs = <rtce_mmsghdr*>calloc(capacity, sizeof(rtce_mmsghdr))
        self.iovs = <iovec*>calloc(capacity, sizeof(iovec))
        self.control = <uint8_t*>calloc(capacity, RTCE_CMSG_ROOM)
        if (self.buf == NULL or self.lengths_ == NULL or self.offsets_ == NULL
                or self.kinds_ == NULL or self.addrs == NULL or self.msgs == NULL
                or self.iovs == NULL or self.control == NULL):
            raise MemoryError()
        for i in range(capacity):
            self.offsets_[i] = i * slot_size
            self.iovs[i].iov_base = self.buf + <Py_ssize_t>i * slot_size
            self.iovs[i].iov_len = slot_size
            self.msgs[i].msg_hdr.msg_iov = &self.iovs[i]
            self.msgs[i].msg_hdr.msg_iovlen = 1
            self.msgs[i].msg_hdr.msg_name = &self.addrs[i]
            self.msgs[i].msg_hdr.msg_control = self.control + <Py_ssize_t>i * RTCE_CMSG_ROOM
        self.prepared = capacity
        self.cache_objs = [None] * UDP_ADDR_CACHE
        self.cache_next = 0
        memset(self.cache_keys, 0, sizeof(self.cache_keys))
        memset(self.kind_counts, 0, sizeof(self.kind_counts))
        self._buffer = region(self, self.buf, <Py_ssize_t>capacity * slot_size, 1, b"B", False)
        self._offsets = region(self, self.offsets_, capacity, 4, b"i", True)
        self._lengths = region(self, self.lengths_, capacity, 4, b"i", True)
        self._kinds = region(self, self.kinds_, capacity, 1, b"B", True)

    def __dealloc__(self):
        free(self.buf)
        free(self.lengths_)
        global _live_RecvBatch
        if RTCE_LIVE:
            _live_RecvBatch -= 1
        free(self.offsets_)
        free(self.kinds_)
        free(self.addrs)
        free(self.msgs)
        free(self.iovs)
        free(self.control)

    cdef int recv_c(self, int fd) noexcept nogil:
        """One recvmmsg (MSG_DONTWAIT): the datagram count, 0 when the socket
        is empty, -1 on a descriptor fault (``last_errno``)."""
        cdef int i, r = 0, err, kind, tries = 0
        cdef Py_ssize_t n
        cdef int64_t ovfl
        # The kernel rewrote the name/control lengths and flags of the slots
        # it filled last time; restore them.
        for i in range(self.prepared):
            self.msgs[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage)
            self.msgs[i].msg_hdr.msg_controllen = RTCE_CMSG_ROOM
            self.msgs[i].msg_hdr.msg_flags = 0
        self.prepared = 0
        self.count = 0
        while True:
            r = rtce_recvmmsg(fd, self.msgs, <unsigned int>self.capacity, MSG_DONTWAIT)
            if r >= 0:
                break
            err = errno
            if err == EINTR:
                continue
            if err == EAGAIN or err == EWOULDBLOCK:
                return 0
            self.last_errno = err
            if is_socket_error(err):
                return -1
            # An error the socket stored for us (ECONNREFUSED, EHOSTUNREACH ...
            # from an ICMP message about an earlier send): reported once,
            # counted; the datagrams behind it are still there.
            self.recv_errors += 1
            tries += 1
            if tries >= 8:
                return 0
        self.prepared = r
        self.count = r
        if r == 0:
            return 0
        self.batches += 1
        for i in range(r):
            n = self.msgs[i].msg_len
            if self.msgs[i].msg_hdr.msg_flags & MSG_TRUNC:
                kind = KIND_TRUNCATED
                if n > self.slot_size:
                    n = self.slot_size
            else:
                kind = udp_demux(self.buf + <Py_ssize_t>i * self.slot_size, n)
            self.lengths_[i] = <int32_t>n
            self.kinds_[i] = <uint8_t>kind
            self.kind_counts[kind] += 1
            self.octets += <uint64_t>n
        self.datagrams += <uint64_t>r
        # The drop counter is cumulative: the newest datagram has the latest.
        if RTCE_HAVE_RXQ_OVFL:
            ovfl = rtce_rxq_ovfl(&self.msgs[r - 1].msg_hdr)
            if ovfl > self.kernel_drops:
                self.kernel_drops = ovfl
        return r

    cdef object addr_of(self, int i):
        cdef addr_key_t k
        cdef int j
        cdef object t
        if not key_of(&self.addrs[i], &k):
            return None
        for j in range(UDP_ADDR_CACHE):
            if memcmp(&self.cache_keys[j], &k, sizeof(addr_key_t)) == 0:
                t = self.cache_objs[j]
                if t is not None:
                    return t
        t = tuple_of(&k)
        j = self.cache_next
        self.cache_next = (j + 1) % UDP_ADDR_CACHE
        self.cache_keys[j] = k
        self.cache_objs[j] = t
        return t

    cdef int check_index(self, int i) except -1:
        if i < 0 or i >= self.count:
            raise IndexError(f"datagram index {i} out of range (batch holds {self.count})")
        return 0

    def __len__(self) -> int:
        return self.count

    @property
    def buffer(self) -> memoryview:
        """All slots, writable (slot ``i`` at ``offsets[i]``)."""
        return self._buffer

    @property
    def offsets(self) -> memoryview:
        """int32 offset of each slot in :attr:`buffer` (read-only)."""
        return self._offsets

    @property
    def lengths(self) -> memoryview:
        """int32 length of each datagram of the last receive (read-only)."""
        return self._lengths

    @property
    def kinds(self) -> memoryview:
        """uint8 :class:`Kind` of each datagram of the last receive (read-only)."""
        return self._kinds

    @property
    def delivered(self) -> int:
        """Datagrams of the last receive whose kind is delivered (1..5)."""
        cdef int i, c = 0
        for i in range(self.count):
            if delivered(self.kinds_[i]):
                c += 1
        return c

    def kind(self, int i) -> int:
        self.check_index(i)
        return self.kinds_[i]

    def length(self, int i) -> int:
        self.check_index(i)
        return self.lengths_[i]

    def data(self, int i) -> bytes:
        """A copy of datagram ``i``."""
        self.check_index(i)
        return PyBytes_FromStringAndSize(<char*>self.buf + <Py_ssize_t>i * self.slot_size,
                                         self.lengths_[i])

    def view(self, int i) -> memoryview:
        """Datagram ``i`` without a copy; valid until the next receive."""
        cdef Py_ssize_t off
        self.check_index(i)
        off = <Py_ssize_t>i * self.slot_size
        return self._buffer[off:off + self.lengths_[i]]

    def addr(self, int i):
        """Source ``(host, port)`` of datagram ``i``."""
        self.check_index(i)
        return self.addr_of(i)

    def stats(self) -> dict:
        """Counters since creation: datagrams, bytes, batches, per-kind counts,
        dropped (not delivered), recv_errors, kernel_drops (-1: never reported)."""
        cdef int k
        out = {"datagrams": self.datagrams, "bytes": self.octets, "batches": self.batches}
        dropped = 0
        for k in range(KIND_COUNT):
            out[_KIND_NAMES[k]] = self.kind_counts[k]
            if not delivered(k):
                dropped += self.kind_counts[k]
        out["dropped"] = dropped
        out["recv_errors"] = self.recv_errors
        out["kernel_drops"] = self.kernel_drops
        return out


def recv_batch(int fd, RecvBatch batch not None) -> int:
    """Receive one burst on ``fd`` into ``batch`` with a single recvmmsg
    (non-blocking); returns the datagram count, 0 when there is none.  Raises
    ``OSError`` only for a fault of the descriptor (EBADF, ENOTSOCK); errors
    the socket reports about earlier sends are counted in ``recv_errors``."""
    cdef int r
    if batch.busy:
        raise RuntimeError("RecvBatch is in use by another thread")
    batch.busy = True
    with nogil:
        r = batch.recv_c(fd)
    batch.busy = False
    if r < 0:
        raise os_error(batch.last_errno)
    return r


# ---------------------------------------------------------------- send

@cython.final
cdef class SendQueue:
    """Preallocated slots for datagrams to send, flushed with one sendmmsg.

    ``family`` is the family of the socket it is flushed on (``AF_INET6``
    for a dual-stack socket: IPv4 destinations are then sent v4-mapped).  A
    socket of another family (a connected AF_UNIX datagram socket in tests)
    can only be sent to with ``addr=None``.
    """

    def __cinit__(self, int capacity=UDP_DEFAULT_BATCH, int slot_size=UDP_DEFAULT_SLOT,
                  int family=AF_INET):
        cdef int i
        global _live_SendQueue
        if RTCE_LIVE:
            _live_SendQueue += 1
        check_capacity(capacity, slot_size)
        self.capacity = capacity
        self.slot_size = slot_size
        self.family = family
        self.head = self.tail = 0
        self.busy = False
        self._dests = {}
        self.buf = <uint8_t*>calloc(<size_t>capacity * slot_size, 1)
        self.addrs = <sockaddr_storage*>calloc(capacity, sizeof(sockaddr_storage))
        self.msgs = <rtce_mmsghdr*>calloc(capacity, sizeof(rtce_mmsghdr))
        self.iovs = <iovec*>calloc(capacity, sizeof(iovec))
        if self.buf == NULL or self.addrs == NULL or self.msgs == NULL or self.iovs == NULL:
            raise MemoryError()
        for i in range(capacity):
            self.iovs[i].iov_base = self.buf + <Py_ssize_t>i * slot_size
            self.msgs[i].msg_hdr.msg_iov = &self.iovs[i]
            self.msgs[i].msg_hdr.msg_iovlen = 1
            self.msgs[i].msg_hdr.msg_name = &self.addrs[i]

    def __dealloc__(self):
        free(self.buf)
        free(self.addrs)
        global _live_SendQueue
        if RTCE_LIVE:
            _live_SendQueue -= 1
        free(self.msgs)
        free(self.iovs)

    cdef int compact(self) noexcept nogil:
        """Move the unsent slots [head, tail) to the front."""
        cdef int i, n = self.tail - self.head
        if self.head == 0:
            return 0
        if n > 0:
            memmove(self.buf, self.buf + <Py_ssize_t>self.head * self.slot_size,
                    <size_t>n * self.slot_size)
            memmove(self.addrs, &self.addrs[self.head], <size_t>n * sizeof(sockaddr_storage))
            for i in range(n):
                self.msgs[i].msg_hdr.msg_namelen = self.msgs[self.head + i].msg_hdr.msg_namelen
                self.iovs[i].iov_len = self.iovs[self.head + i].iov_len
        self.head = 0
        self.tail = n
        return 0

    cdef uint8_t* slot_ptr(self, Py_ssize_t* room) noexcept nogil:
        if self.tail == self.capacity:
            if self.head == 0:
                room[0] = 0
                return NULL
            self.compact()
        room[0] = self.slot_size
        return self.buf + <Py_ssize_t>self.tail * self.slot_size

    cdef int commit(self, Py_ssize_t n, const void* addr, socklen_t alen) noexcept nogil:
        if (self.tail >= self.capacity or n < 0 or n > self.slot_size
                or alen > sizeof(sockaddr_storage) or (alen > 0 and addr == NULL)):
            return -1
        if alen > 0:
            memcpy(&self.addrs[self.tail], addr, alen)
        self.msgs[self.tail].msg_hdr.msg_namelen = alen
        self.iovs[self.tail].iov_len = <size_t>n
        self.tail += 1
        return 0

    cdef int queue_ptr(self, const uint8_t* p, Py_ssize_t n, const void* addr,
                       socklen_t alen) noexcept nogil:
        cdef Py_ssize_t room = 0
        cdef uint8_t* dst = self.slot_ptr(&room)
        if dst == NULL or n < 0 or n > room:
            return -1
        memcpy(dst, p, <size_t>n)
        return self.commit(n, addr, alen)

    cdef int flush_c(self, int fd, int* dropped) noexcept nogil:
        cdef int r = 0, i, err, sent = 0
        while self.head < self.tail:
            r = rtce_sendmmsg(fd, &self.msgs[self.head], <unsigned int>(self.tail - self.head),
                              MSG_DONTWAIT)
            if r > 0:
                for i in range(self.head, self.head + r):
                    self.octets += self.msgs[i].msg_len
                self.head += r
                sent += r
                continue
            if r == 0:
                break
            err = errno
            if err == EINTR:
                continue
            if err == EAGAIN or err == EWOULDBLOCK:
                break                   # kernel buffer full: the rest waits for writable
            self.last_errno = err
            if is_socket_error(err):
                self.sent += <uint64_t>sent
                return -1
            # The first unsent datagram was refused (ECONNREFUSED from an
            # earlier ICMP, EHOSTUNREACH, EMSGSIZE, ENOBUFS ...): drop it.
            self.send_errors += 1
            dropped[0] += 1
            self.head += 1
        if self.head == self.tail:
            self.head = self.tail = 0
        self.sent += <uint64_t>sent
        self.flushes += 1
        return sent

    cdef int encode_addr(self, object addr, sockaddr_storage* out, socklen_t* alen) except -1:
        cdef object enc = self._dests.get(addr)
        if enc is None:
            enc = encode_sockaddr(addr, self.family)
            if len(self._dests) >= DEST_CACHE_MAX:
                self._dests.clear()
            self._dests[addr] = enc
        alen[0] = <socklen_t>PyBytes_GET_SIZE(enc)
        memcpy(out, PyBytes_AS_STRING(enc), alen[0])
        return 0

    @property
    def pending(self) -> int:
        """Datagrams queued and not yet sent."""
        return self.tail - self.head

    def queue(self, data, addr) -> bool:
        """Copy ``data`` into a slot addressed to ``addr`` (None: the peer of a
        connected socket).  False when every slot is taken (flush first).  Raises ValueError for a datagram longer
        than a slot or an address the socket family cannot reach."""
        cdef Py_buffer v
        cdef Py_ssize_t room = 0
        cdef socklen_t alen = 0
        cdef uint8_t* dst
        if self.busy:
            raise RuntimeError("SendQueue is in use by another thread")
        PyObject_GetBuffer(data, &v, PyBUF_SIMPLE)
        try:
            if v.len > self.slot_size:
                raise ValueError(f"datagram of {v.len} bytes exceeds the slot size "
                                 f"{self.slot_size}")
            dst = self.slot_ptr(&room)
            if dst == NULL:
                return False
            if addr is not None:
                self.encode_addr(addr, &self.addrs[self.tail], &alen)
            memcpy(dst, v.buf, <size_t>v.len)
        finally:
            PyBuffer_Release(&v)
        self.msgs[self.tail].msg_hdr.msg_namelen = alen
        self.iovs[self.tail].iov_len = <size_t>v.len
        self.tail += 1
        return True

    def queue_reply(self, data, RecvBatch batch not None, int i) -> bool:
        """Queue ``data`` to the source of datagram ``i`` of ``batch`` (no
        address decoding).  False when full."""
        cdef Py_buffer v
        cdef socklen_t alen = 0
        cdef const sockaddr_storage* src
        cdef int r
        batch.check_index(i)
        src = batch.source(i, &alen)
        if src.ss_family != self.family:
            return self.queue(data, batch.addr_of(i))
        PyObject_GetBuffer(data, &v, PyBUF_SIMPLE)
        try:
            if v.len > self.slot_size:
                raise ValueError(f"datagram of {v.len} bytes exceeds the slot size "
                                 f"{self.slot_size}")
            r = self.queue_ptr(<const uint8_t*>v.buf, v.len, src, alen)
        finally:
            PyBuffer_Release(&v)
        return r == 0

    def flush(self, int fd) -> tuple:
        """Send everything queued with sendmmsg: ``(sent, dropped)``.  What
        the kernel would block on stays queued (``pending``) for the next call
        (on writable); datagrams it refuses are dropped and counted in
        ``send_errors``.  Raises OSError only for a descriptor fault."""
        cdef int r, dropped = 0
        if self.busy:
            raise RuntimeError("SendQueue is in use by another thread")
        if self.head == self.tail:
            return (0, 0)
        self.busy = True
        with nogil:
            r = self.flush_c(fd, &dropped)
        self.busy = False
        if r < 0:
            raise os_error(self.last_errno)
        return (r, dropped)

    def clear(self) -> int:
        """Forget every queued datagram; returns how many there were."""
        cdef int n = self.tail - self.head
        self.head = self.tail = 0
        return n

    def stats(self) -> dict:
        """Counters since creation: sent, bytes, flushes, send_errors, pending."""
        return {"sent": self.sent, "bytes": self.octets, "flushes": self.flushes,
                "send_errors": self.send_errors, "pending": self.tail - self.head}


def _live_objects():
    """Live instances per class in a debug build (RTCENGINE_DEBUG=1); None in
    a normal build.  See rtcengine._core.debug."""
    if not RTCE_LIVE:
        return None
    return {"RecvBatch": _live_RecvBatch, "SendQueue": _live_SendQueue}
