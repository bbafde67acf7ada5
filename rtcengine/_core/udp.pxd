# Batched UDP I/O (recvmmsg/sendmmsg) with the RFC 7983 first-byte demux.
#
# The one _core module that wraps syscalls (DESIGN.md rule 1): it never opens
# a socket, it only reads and writes bursts of datagrams on a descriptor its
# driver hands it.  Other modules cimport the layouts below to read received
# datagrams and to write packets straight into send slots (SRTP protect into a
# slot, then ``commit``) without a Python object per packet.

cimport cython
from libc.stdint cimport uint8_t, uint32_t, uint64_t, int32_t, int64_t
from posix.uio cimport iovec
from rtcengine._core.stun cimport stun_is_stun, stun_is_channel_data


cdef extern from *:
    """
    #include <sys/types.h>
    #include <sys/socket.h>
    #include <sys/uio.h>
    #include <netinet/in.h>
    #include <arpa/inet.h>
    #include <net/if.h>
    #include <errno.h>
    #include <string.h>

    /* recvmmsg/sendmmsg are Linux (glibc/musl with _GNU_SOURCE, which
       Python.h defines).  Elsewhere the same API loops over recvmsg/sendmsg,
       one datagram per syscall (RTCE_UDP_FORCE_FALLBACK builds that path on
       Linux too, to test it). */
    #if defined(__linux__) && !defined(RTCE_UDP_FORCE_FALLBACK)
    #define RTCE_HAVE_MMSG 1
    typedef struct mmsghdr rtce_mmsghdr;
    static inline int rtce_recvmmsg(int fd, rtce_mmsghdr *v, unsigned int n, int flags) {
        return recvmmsg(fd, v, n, flags, NULL);
    }
    static inline int rtce_sendmmsg(int fd, rtce_mmsghdr *v, unsigned int n, int flags) {
        return sendmmsg(fd, v, n, flags);
    }
    #else
    #define RTCE_HAVE_MMSG 0
    typedef struct { struct msghdr msg_hdr; unsigned int msg_len; } rtce_mmsghdr;
    /* Like Linux: an error after at least one datagram ends the call with the
       count so far; the next call sees the error again. */
    static int rtce_recvmmsg(int fd, rtce_mmsghdr *v, unsigned int n, int flags) {
        unsigned int i;
        for (i = 0; i < n; i++) {
            ssize_t r = recvmsg(fd, &v[i].msg_hdr, flags);
            if (r < 0) return i ? (int)i : -1;
            v[i].msg_len = (unsigned int)r;
        }
        return (int)n;
    }
    static int rtce_sendmmsg(int fd, rtce_mmsghdr *v, unsigned int n, int flags) {
        unsigned int i;
        for (i = 0; i < n; i++) {
            ssize_t r = sendmsg(fd, &v[i].msg_hdr, flags);
            if (r < 0) return i ? (int)i : -1;
            v[i].msg_len = (unsigned int)r;
        }
        return (int)n;
    }
    #endif

    /* SO_RXQ_OVFL (Linux >= 2.6.33): each datagram carries the socket's
       running count of datagrams dropped for lack of receive buffer. */
    #if defined(SO_RXQ_OVFL)
    #define RTCE_HAVE_RXQ_OVFL 1
    #define RTCE_SO_RXQ_OVFL SO_RXQ_OVFL
    #else
    #define RTCE_HAVE_RXQ_OVFL 0
    #define RTCE_SO_RXQ_OVFL 0
    #endif
    /* Control bytes per receive slot: room for the one uint32 drop counter. */
    #define RTCE_CMSG_ROOM CMSG_SPACE(sizeof(uint32_t))

    /* The SO_RXQ_OVFL counter in a received message's control data, or -1. */
    static inline int64_t rtce_rxq_ovfl(struct msghdr *h) {
    #if RTCE_HAVE_RXQ_OVFL
        struct cmsghdr *c;
        uint32_t v;
        for (c = CMSG_FIRSTHDR(h); c != NULL; c = CMSG_NXTHDR(h, c)) {
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL
                    && c->cmsg_len >= CMSG_LEN(sizeof(uint32_t))) {
                memcpy(&v, CMSG_DATA(c), sizeof(v));
                return (int64_t)v;
            }
        }
    #endif
        (void)h;
        return -1;
    }
    """
    ctypedef unsigned int socklen_t
    ctypedef unsigned short sa_family_t
    ctypedef struct sockaddr "struct sockaddr":
        sa_family_t sa_family
    ctypedef struct sockaddr_storage "struct sockaddr_storage":
        sa_family_t ss_family
    ctypedef struct msghdr "struct msghdr":
        void* msg_name
        socklen_t msg_namelen
        iovec* msg_iov
        size_t msg_iovlen
        void* msg_control
        size_t msg_controllen
        int msg_flags
    ctypedef struct rtce_mmsghdr:
        msghdr msg_hdr
        unsigned int msg_len
    int RTCE_HAVE_MMSG
    int RTCE_HAVE_RXQ_OVFL
    int RTCE_SO_RXQ_OVFL
    size_t RTCE_CMSG_ROOM
    int rtce_recvmmsg(int fd, rtce_mmsghdr* v, unsigned int n, int flags) nogil
    int rtce_sendmmsg(int fd, rtce_mmsghdr* v, unsigned int n, int flags) nogil
    int64_t rtce_rxq_ovfl(msghdr* h) nogil


# What a datagram is, by its first byte (RFC 7983 §7, the updated scheme of
# RFC 5764 §5.1.2).  Kinds 1..5 are delivered; 0 and >= 6 are dropped by the
# receive path and counted (the values of the Python-level ``Kind`` enum).
cdef enum:
    KIND_UNKNOWN = 0        # RFC 7983 §7: a first byte outside every range: drop
    KIND_STUN = 1           # RFC 7983 §7: [0..3] STUN (RFC 8489 §5: top two bits zero)
    KIND_DTLS = 2           # RFC 7983 §7: [20..63] DTLS (RFC 6347 §4.1 content types)
    KIND_CHANNEL_DATA = 3   # RFC 7983 §7: [64..79] TURN ChannelData (RFC 8656 §12.4)
    KIND_RTP = 4            # RFC 7983 §7: [128..191] RTP (version 2) ...
    KIND_RTCP = 5           # ... and RTCP, told apart by RFC 5761 §4 (payload type 192..223)
    KIND_ZRTP = 6           # RFC 7983 §7: [16..19] ZRTP (RFC 6189): not WebRTC, dropped
    KIND_MALFORMED = 7      # in a known range but cannot be that protocol (bad length, cookie)
    KIND_TRUNCATED = 8      # longer than a receive slot (MSG_TRUNC): dropped
    KIND_COUNT = 9

    # Default slot size: a WebRTC datagram stays under the 1200..1500 B path
    # MTU; 2048 leaves room for jumbo-ish loopback and TURN framing.
    UDP_DEFAULT_SLOT = 2048
    UDP_DEFAULT_BATCH = 64
    # Recently decoded source addresses kept as Python tuples.
    UDP_ADDR_CACHE = 8


# RFC 7983 §7 demux of one datagram (no allocation, no Python).
cdef inline int udp_demux(const uint8_t* p, Py_ssize_t n) noexcept nogil:
    cdef uint8_t b
    if n <= 0:
        return KIND_UNKNOWN
    b = p[0]
    if b <= 3:
        # RFC 7983 §7 [0..3] + RFC 8489 §5/§6: magic cookie, length covers the datagram.
        return KIND_STUN if stun_is_stun(p, n) else KIND_MALFORMED
    if b < 16:
        return KIND_UNKNOWN           # RFC 7983 §7: 4..15 unassigned
    if b <= 19:
        return KIND_ZRTP              # RFC 7983 §7: [16..19]
    if b <= 63:
        return KIND_DTLS              # RFC 7983 §7: [20..63]
    if b <= 79:
        # RFC 7983 §7 [64..79] + RFC 8656 §12.4: channel 0x4000..0x4FFF, length fits.
        return KIND_CHANNEL_DATA if stun_is_channel_data(p, n) else KIND_MALFORMED
    if b < 128 or b > 191:
        return KIND_UNKNOWN           # RFC 7983 §7: 80..127 and 192..255 unassigned here
    # RFC 7983 §7 [128..191]: RTP/RTCP version 2.  RFC 5761 §4: the second
    # byte of RTCP (its packet type) is 192..223; RTP (marker bit + payload
    # type) avoids that range when muxed.
    if n >= 2 and p[1] >= 192 and p[1] <= 223:
        return KIND_RTCP if n >= 4 else KIND_MALFORMED   # RFC 3550 §6.4.1: 4-byte header
    return KIND_RTP if n >= 12 else KIND_MALFORMED       # RFC 3550 §5.1: 12-byte header


# A decoded source address kept for reuse: the raw key and its (host, port).
ctypedef struct addr_key_t:
    uint8_t family          # 4 or 6 (v4-mapped IPv6 is stored as 4)
    uint8_t addr[16]
    uint32_t scope
    int port


@cython.final
cdef class RecvBatch:
    """N preallocated receive slots filled by one recvmmsg."""
    cdef readonly int capacity
    cdef readonly int slot_size
    cdef readonly int count             # datagrams of the last recv_batch
    cdef bint busy                      # a recv runs without the GIL
    cdef uint8_t* buf                   # capacity * slot_size bytes, slot i at i * slot_size
    cdef int32_t* lengths_              # bytes received per slot
    cdef int32_t* offsets_              # i * slot_size (for the SRTP batch calls)
    cdef uint8_t* kinds_                # KIND_* per slot
    cdef sockaddr_storage* addrs        # source address per slot
    cdef rtce_mmsghdr* msgs
    cdef iovec* iovs
    cdef uint8_t* control               # RTCE_CMSG_ROOM bytes per slot
    cdef int prepared                   # slots whose headers need a reset before the next recv
    # Counters (since creation).
    cdef readonly uint64_t datagrams
    cdef readonly uint64_t octets
    cdef readonly uint64_t batches
    cdef readonly uint64_t recv_errors  # errors reported by the socket (ICMP: ECONNREFUSED ...)
    cdef readonly int last_errno
    cdef readonly int64_t kernel_drops  # SO_RXQ_OVFL as last reported (-1: never seen)
    cdef uint64_t kind_counts[KIND_COUNT]
    # Decoded source addresses: small round-robin cache of (key, tuple).
    cdef addr_key_t cache_keys[UDP_ADDR_CACHE]
    cdef list cache_objs
    cdef int cache_next
    # Python views over the C arrays (made once).
    cdef object _buffer, _offsets, _lengths, _kinds

    # Datagram i of the last recv: pointer and length, or NULL when i >= count.
    cdef inline const uint8_t* datagram(self, int i, Py_ssize_t* n) noexcept nogil:
        if i < 0 or i >= self.count:
            n[0] = 0
            return NULL
        n[0] = self.lengths_[i]
        return self.buf + <Py_ssize_t>i * self.slot_size
    # Source address of datagram i (NULL when i >= count) and its length.
    cdef inline const sockaddr_storage* source(self, int i, socklen_t* alen) noexcept nogil:
        if i < 0 or i >= self.count:
            alen[0] = 0
            return NULL
        alen[0] = self.msgs[i].msg_hdr.msg_namelen
        return &self.addrs[i]
    cdef int recv_c(self, int fd) noexcept nogil
    cdef object addr_of(self, int i)
    cdef int check_index(self, int i) except -1


@cython.final
cdef class SendQueue:
    """N preallocated send slots with destinations, flushed by sendmmsg."""
    cdef readonly int capacity
    cdef readonly int slot_size
    cdef readonly int family            # AF_INET or AF_INET6 (dual-stack: v4 is mapped)
    cdef int head                       # first queued, unsent slot
    cdef int tail                       # next free slot
    cdef bint busy
    cdef uint8_t* buf
    cdef sockaddr_storage* addrs
    cdef rtce_mmsghdr* msgs
    cdef iovec* iovs
    cdef dict _dests                    # Python address -> encoded sockaddr (bytes)
    cdef readonly uint64_t sent
    cdef readonly uint64_t octets
    cdef readonly uint64_t flushes
    cdef readonly uint64_t send_errors  # datagrams refused by the kernel (dropped)
    cdef readonly int last_errno
    # UDP GSO (Linux >= 4.18 UDP_SEGMENT, see udp.pyx): a run of same-size
    # datagrams to one destination leaves as one msghdr whose iovecs are the
    # run's slots, the kernel splitting it at gso_size.
    cdef bint gso_wanted                # asked for, and built for Linux
    cdef bint gso_off                   # sticky: the kernel refused a GSO send
    cdef int gso_fd                     # descriptor last checked (-1: none)
    cdef bint gso_fd_udp                # ... and whether it is a UDP socket
    cdef int gso_fail_errno             # test hook: fail GSO sends with this errno
    cdef rtce_mmsghdr* gmsgs            # one msghdr per run, rebuilt per sendmmsg
    cdef int* gruns                     # datagrams in each of gmsgs
    cdef uint8_t* gctrl                 # RTCE_GSO_CMSG_ROOM bytes per gmsg
    cdef readonly uint64_t gso_sends    # msghdrs sent with a UDP_SEGMENT cmsg
    cdef readonly uint64_t gso_segments # datagrams sent in those
    cdef readonly uint64_t gso_disabled # times the kernel refused GSO (0 or 1)

    # C-level producer API (nogil):  p = slot_ptr(&room); write up to room
    # bytes at p; commit(n, addr, alen).  slot_ptr is NULL when full (flush or
    # drop).  commit returns 0, or -1 for n > room or a bad address.  alen 0:
    # no destination (a connected socket's peer).
    cdef uint8_t* slot_ptr(self, Py_ssize_t* room) noexcept nogil
    cdef int commit(self, Py_ssize_t n, const void* addr, socklen_t alen) noexcept nogil
    # Copy-in variant: 0 queued, -1 full / too long / bad address.
    cdef int queue_ptr(self, const uint8_t* p, Py_ssize_t n, const void* addr,
                       socklen_t alen) noexcept nogil
    # Send what is queued: returns datagrams sent, adds refused ones to *dropped.
    # Stops at EAGAIN with the rest kept for the next call.
    cdef int flush_c(self, int fd, int* dropped) noexcept nogil
    cdef int compact(self) noexcept nogil
    cdef int run_at(self, int i) noexcept nogil
    cdef int build_runs(self) noexcept nogil
    cdef int send_runs(self, int fd, int nmsg) noexcept nogil
    cdef bint fd_is_udp(self, int fd) noexcept nogil
    cdef int encode_addr(self, object addr, sockaddr_storage* out, socklen_t* alen) except -1
