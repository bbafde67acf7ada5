# The shared read/write layer of the wire codecs.
#
# Every parser in ``_core`` reads from a ``const uint8_t*`` + length that it got
# from ``InputView`` (a held buffer export of any bytes-like object: bytes,
# bytearray, memoryview, numpy array), checks the length it needs once with
# ``need()`` and then loads big-endian integers with the unchecked ``load_*``
# helpers.  Writers get a checked pointer into a caller's buffer with
# ``OutputView`` and store with ``store_*``.  Nothing here allocates per call
# except the error path.

from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t, int32_t
from cpython.buffer cimport Py_buffer


cdef class InputView:
    """A held, read-only buffer export of a bytes-like object (zero-copy)."""
    cdef Py_buffer view
    cdef bint held
    cdef const uint8_t* ptr
    cdef Py_ssize_t length
    cdef int acquire(self, object data) except -1
    cdef void release(self) noexcept


cdef class OutputView:
    """A held, writable buffer export with a checked window [offset, offset+size)."""
    cdef Py_buffer view
    cdef bint held
    cdef uint8_t* ptr
    cdef Py_ssize_t length
    cdef int acquire(self, object buf, Py_ssize_t offset, Py_ssize_t size) except -1
    cdef void release(self) noexcept


# Raise ``exc_type`` (a ParseError subclass) saying that ``what`` needs ``need``
# bytes but only ``have`` are there.  Always returns -1 (after raising).
cdef int fail_short(object exc_type, str what, Py_ssize_t need, Py_ssize_t have) except -1
# Raise ``exc_type(message)``.  Always returns -1.
cdef int fail(object exc_type, str message) except -1

# Raise ``exc_type`` unless ``have >= need``.
cdef inline int need(object exc_type, str what, Py_ssize_t need_, Py_ssize_t have) except -1:
    if have < need_:
        return fail_short(exc_type, what, need_, have)
    return 0


# Big-endian (network order, RFC 1700) loads and stores; the caller has
# checked the bounds.
cdef inline uint16_t load_u16(const uint8_t* p) noexcept nogil:
    return (<uint16_t>p[0] << 8) | p[1]

cdef inline uint32_t load_u24(const uint8_t* p) noexcept nogil:
    return (<uint32_t>p[0] << 16) | (<uint32_t>p[1] << 8) | p[2]

cdef inline uint32_t load_u32(const uint8_t* p) noexcept nogil:
    return ((<uint32_t>p[0] << 24) | (<uint32_t>p[1] << 16)
            | (<uint32_t>p[2] << 8) | p[3])

cdef inline uint64_t load_u64(const uint8_t* p) noexcept nogil:
    return (<uint64_t>load_u32(p) << 32) | load_u32(p + 4)

cdef inline void store_u16(uint8_t* p, uint16_t v) noexcept nogil:
    p[0] = <uint8_t>(v >> 8)
    p[1] = <uint8_t>v

cdef inline void store_u24(uint8_t* p, uint32_t v) noexcept nogil:
    p[0] = <uint8_t>(v >> 16)
    p[1] = <uint8_t>(v >> 8)
    p[2] = <uint8_t>v

cdef inline void store_u32(uint8_t* p, uint32_t v) noexcept nogil:
    p[0] = <uint8_t>(v >> 24)
    p[1] = <uint8_t>(v >> 16)
    p[2] = <uint8_t>(v >> 8)
    p[3] = <uint8_t>v

cdef inline void store_u64(uint8_t* p, uint64_t v) noexcept nogil:
    store_u32(p, <uint32_t>(v >> 32))
    store_u32(p + 4, <uint32_t>v)

# Bytes of padding needed to bring ``n`` to a multiple of 4 (RFC 8489 §14,
# RFC 9260 §3.2, RFC 3550 §6.4: all pad to 32-bit words).
cdef inline Py_ssize_t pad4(Py_ssize_t n) noexcept nogil:
    return (4 - (n & 3)) & 3

# Copy ``data`` (any bytes-like) into a new ``bytes``; helper for marshal().
cdef bytes bytes_of(object data)
