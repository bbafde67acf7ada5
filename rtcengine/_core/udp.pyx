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

from enum import IntEnum


cdef extern from *:
    """
    #ifndef EWOULDBLOCK
    #define EWOULDBLOCK EAGAIN
    #endif

    /* UDP Generic Segmentation Offload (Linux >= 4.18, commit bec1f6f69736
       "udp: generate gso with UDP_SEGMENT"; cmsg form in 2e8de8576343): one
       send carries the concatenated payloads of datagrams to one destination,
       a control message SOL_UDP/UDP_SEGMENT gives the segment size (a uint16),
       and the stack splits it into datagrams of that size, the last one
       possibly shorter (udp(7), Documentation/networking/segmentation-offloads.rst).
       Kernel limits (net/ipv4/udp.c udp_send_skb): at most UDP_MAX_SEGMENTS
       segments (64 before Linux 6.x raised it to 128; 64 is safe everywhere),
       the total a valid UDP payload (65507 for IPv4), each segment plus
       headers within the path MTU (else EINVAL), no SO_NO_CHECK (EINVAL), and
       checksum offload on the route's device (else EIO).  A kernel before
       4.18 does not answer the cmsg with an error: ip_cmsg_send() skips
       levels other than SOL_IP, so the run would leave as ONE datagram.
       Hence the probe below: getsockopt(SOL_UDP, UDP_SEGMENT) exists exactly
       where the cmsg does (ENOPROTOOPT before 4.18). */
    #if defined(__linux__)
    #include <netinet/in.h>
    #include <netinet/udp.h>
    #define RTCE_HAVE_GSO 1
    #ifndef SOL_UDP
    #define SOL_UDP 17
    #endif
    #ifndef UDP_SEGMENT
    #define UDP_SEGMENT 103
    #endif
    #else
    #define RTCE_HAVE_GSO 0
    #define SOL_UDP 17
    #define UDP_SEGMENT 103
    #endif
    #define RTCE_GSO_MAX_SEGMENTS 64
    #define RTCE_GSO_MAX_BYTES 65507
    #define RTCE_GSO_CMSG_ROOM CMSG_SPACE(sizeof(uint16_t))

    /* Point h at ctrl (RTCE_GSO_CMSG_ROOM bytes, zeroed, cmsghdr-aligned)
       holding one UDP_SEGMENT control message. */
    static inline void rtce_set_gso(struct msghdr *h, void *ctrl, uint16_t gso_size) {
        struct cmsghdr *c;
        h->msg_control = ctrl;
        h->msg_controllen = RTCE_GSO_CMSG_ROOM;
        c = CMSG_FIRSTHDR(h);
        c->cmsg_level = SOL_UDP;
        c->cmsg_type = UDP_SEGMENT;
        c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
        memcpy(CMSG_DATA(c), &gso_size, sizeof(gso_size));
    }

    /* 1 when fd is a UDP socket whose kernel knows UDP_SEGMENT (AF_UNIX
       datagram sockets ignore a SOL_UDP cmsg and would deliver a run as one
       datagram, as would a kernel before 4.18: never GSO there). */
    static inline int rtce_fd_is_udp(int fd) {
    #if RTCE_HAVE_GSO && defined(SO_PROTOCOL)
        int proto = 0, gso = 0;
        socklen_t len = sizeof(proto);
        if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &len) != 0
                || proto != IPPROTO_UDP)
            return 0;
        len = sizeof(gso);
        return getsockopt(fd, SOL_UDP, UDP_SEGMENT, &gso, &len) == 0;
    #else
        (void)fd;
        return 0;
    #endif
    }

    /* A failed call as the kernel reports it: -1 with errno set (test hook). */
    static inline int rtce_fail_with(int err) {
        errno = err;
        return -1;
    }

    /* The errors that mean "no GSO here" rather than "this datagram failed". */
    static inline int rtce_gso_refused(int err) {
        return err == EIO || err == EINVAL || err == ENOPROTOOPT || err == EOPNOTSUPP;
    }
    """
    int RTCE_HAVE_GSO
    int RTCE_GSO_MAX_SEGMENTS
    size_t RTCE_GSO_MAX_BYTES
    size_t RTCE_GSO_CMSG_ROOM
    void rtce_set_gso(msghdr* h, void* ctrl, uint16_t gso_size) noexcept nogil
    bint rtce_fd_is_udp(int fd) noexcept nogil
    bint rtce_gso_refused(int err) noexcept nogil
    int rtce_fail_with(int err) noexcept nogil
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
#: True when UDP_SEGMENT (GSO) can be used (Linux; the kernel may still refuse).
HAVE_GSO = bool(RTCE_HAVE_GSO)
#: Most datagrams per GSO send (UDP_MAX_SEGMENTS of kernels before 6.x).
GSO_MAX_SEGMENTS = RTCE_GSO_MAX_SEGMENTS
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

    ``gso`` (Linux, UDP sockets only): each run of consecutive datagrams to
    one destination whose sizes are S, S, ..., S, then at most S, leaves as a
    single msghdr with a UDP_SEGMENT control message (udp(7)), so one flush
    costs one kernel send per run instead of one per datagram.  If the kernel
    refuses it (EIO, EINVAL, ENOPROTOOPT, EOPNOTSUPP) the run is resent
    without it and GSO stays off for this queue (``gso_disabled``).
    """

    def __cinit__(self, int capacity=UDP_DEFAULT_BATCH, int slot_size=UDP_DEFAULT_SLOT,
                  int family=AF_INET, bint gso=True):
        cdef int i
        check_capacity(capacity, slot_size)
        self.capacity = capacity
        self.slot_size = slot_size
        self.family = family
        self.head = self.tail = 0
        self.busy = False
        self._dests = {}
        self.gso_wanted = gso and RTCE_HAVE_GSO
        self.gso_off = False
        self.gso_fd = -1
        self.gso_fd_udp = False
        self.gso_fail_errno = 0
        self.buf = <uint8_t*>calloc(<size_t>capacity * slot_size, 1)
        self.addrs = <sockaddr_storage*>calloc(capacity, sizeof(sockaddr_storage))
        self.msgs = <rtce_mmsghdr*>calloc(capacity, sizeof(rtce_mmsghdr))
        self.iovs = <iovec*>calloc(capacity, sizeof(iovec))
        self.gmsgs = <rtce_mmsghdr*>calloc(capacity, sizeof(rtce_mmsghdr))
        self.gruns = <int*>calloc(capacity, sizeof(int))
        self.gctrl = <uint8_t*>calloc(capacity, RTCE_GSO_CMSG_ROOM)
        if (self.buf == NULL or self.addrs == NULL or self.msgs == NULL or self.iovs == NULL
                or self.gmsgs == NULL or self.gruns == NULL or self.gctrl == NULL):
            raise MemoryError()
        for i in range(capacity):
            self.iovs[i].iov_base = self.buf + <Py_ssize_t>i * slot_size
            self.msgs[i].msg_hdr.msg_iov = &self.iovs[i]
            self.msgs[i].msg_hdr.msg_iovlen = 1
            self.msgs[i].msg_hdr.msg_name = &self.addrs[i]

    def __dealloc__(self):
        free(self.buf)
        free(self.addrs)
        free(self.msgs)
        free(self.iovs)
        free(self.gmsgs)
        free(self.gruns)
        free(self.gctrl)

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

    cdef int run_at(self, int i) noexcept nogil:
        """Datagrams in the GSO run that starts at slot ``i`` (1 when it has no
        partner): the longest stretch to one destination where all but the last
        have the size S of the first and the last is 1..S bytes (udp(7): "the
        last segment may be shorter"), within the kernel's segment and byte
        limits.  A 0-byte datagram never joins a run: a segment of 0 bytes
        cannot be told apart from the end of the payload."""
        cdef size_t s = self.iovs[i].iov_len, total, n
        cdef socklen_t alen = self.msgs[i].msg_hdr.msg_namelen
        cdef int j = i + 1
        if s == 0:
            return 1
        total = s
        while j < self.tail and j - i < RTCE_GSO_MAX_SEGMENTS:
            n = self.iovs[j].iov_len
            if n == 0 or n > s or total + n > RTCE_GSO_MAX_BYTES:
                break
            if self.msgs[j].msg_hdr.msg_namelen != alen or (
                    alen > 0 and memcmp(&self.addrs[j], &self.addrs[i], alen) != 0):
                break
            total += n
            j += 1
            if n < s:
                break                   # a shorter datagram ends the run
        return j - i

    cdef int build_runs(self) noexcept nogil:
        """One msghdr per run of [head, tail) in ``gmsgs`` (iovecs are the
        slots': no copy); returns the msghdr count."""
        cdef int i = self.head, k = 0, n
        cdef msghdr* h
        while i < self.tail:
            n = self.run_at(i)
            h = &self.gmsgs[k].msg_hdr
            h.msg_name = &self.addrs[i]
            h.msg_namelen = self.msgs[i].msg_hdr.msg_namelen
            h.msg_iov = &self.iovs[i]
            h.msg_iovlen = <size_t>n
            h.msg_flags = 0
            if n >= 2:
                rtce_set_gso(h, self.gctrl + <size_t>k * RTCE_GSO_CMSG_ROOM,
                             <uint16_t>self.iovs[i].iov_len)
            else:
                h.msg_control = NULL
                h.msg_controllen = 0
            self.gruns[k] = n
            i += n
            k += 1
        return k

    cdef int send_runs(self, int fd, int nmsg) noexcept nogil:
        """sendmmsg of gmsgs[0, nmsg); the test hook makes the first GSO
        msghdr fail as a kernel without GSO would (earlier ones are sent)."""
        cdef int g
        if self.gso_fail_errno != 0:
            for g in range(nmsg):
                if self.gruns[g] >= 2:
                    if g == 0:
                        return rtce_fail_with(self.gso_fail_errno)
                    nmsg = g
                    break
        return rtce_sendmmsg(fd, self.gmsgs, <unsigned int>nmsg, MSG_DONTWAIT)

    cdef bint fd_is_udp(self, int fd) noexcept nogil:
        # Probed once per descriptor number, not per flush (an endpoint keeps
        # its fd; a queue flushed on a reused number keeps the first answer).
        if fd != self.gso_fd:
            self.gso_fd = fd
            self.gso_fd_udp = rtce_fd_is_udp(fd)
        return self.gso_fd_udp

    cdef int flush_c(self, int fd, int* dropped) noexcept nogil:
        cdef int r = 0, i, k, err, sent = 0, nmsg = 0
        cdef bint gso = False
        if self.gso_wanted and not self.gso_off and self.tail - self.head >= 2:
            gso = self.fd_is_udp(fd)
        while self.head < self.tail:
            if gso:
                # One msghdr per run; sendmmsg counts msghdrs, so what it sent
                # is converted back to datagrams through gruns.
                nmsg = self.build_runs()
                r = self.send_runs(fd, nmsg)
                if r > 0:
                    i = self.head
                    for k in range(r):
                        self.octets += self.gmsgs[k].msg_len
                        if self.gruns[k] >= 2:
                            self.gso_sends += 1
                            self.gso_segments += <uint64_t>self.gruns[k]
                        i += self.gruns[k]
                    sent += i - self.head
                    self.head = i
                    continue
            else:
                r = rtce_sendmmsg(fd, &self.msgs[self.head],
                                  <unsigned int>(self.tail - self.head), MSG_DONTWAIT)
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
            if gso and self.gruns[0] >= 2 and rtce_gso_refused(err):
                # The kernel cannot segment on this socket's route (no checksum
                # offload: EIO; too old, SO_NO_CHECK, segment above the MTU:
                # EINVAL/ENOPROTOOPT).  Nothing of the run left: send it and
                # the rest one datagram per msghdr, now and from now on.
                self.gso_off = True
                self.gso_disabled += 1
                gso = False
                continue
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

    @property
    def gso(self) -> bool:
        """True while flushes to a UDP socket use GSO (asked for, on Linux,
        and not refused by the kernel yet)."""
        return self.gso_wanted and not self.gso_off

    def gso_plan(self) -> list:
        """The GSO runs the next flush would send: datagrams per msghdr, in
        queue order (whether or not GSO is on)."""
        cdef int k, n
        if self.busy:
            raise RuntimeError("SendQueue is in use by another thread")
        n = self.build_runs()
        return [self.gruns[k] for k in range(n)]

    def _fail_gso_with(self, int err) -> None:
        """Test hook: GSO sends fail with ``err`` (0: off) before reaching the
        kernel, as on a kernel or device without UDP GSO."""
        self.gso_fail_errno = err

    def clear(self) -> int:
        """Forget every queued datagram; returns how many there were."""
        cdef int n = self.tail - self.head
        self.head = self.tail = 0
        return n

    def stats(self) -> dict:
        """Counters since creation: sent, bytes, flushes, send_errors, pending,
        gso_sends (msghdrs sent segmented), gso_segments (datagrams in them),
        gso_disabled (1 once the kernel refused GSO for this queue)."""
        return {"sent": self.sent, "bytes": self.octets, "flushes": self.flushes,
                "send_errors": self.send_errors, "pending": self.tail - self.head,
                "gso_sends": self.gso_sends, "gso_segments": self.gso_segments,
                "gso_disabled": self.gso_disabled}
