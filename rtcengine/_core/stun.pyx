"""STUN messages (RFC 8489) with the ICE (RFC 8445 §16.1), TURN (RFC 8656 §18)
and NAT behaviour discovery (RFC 5780 §7) attributes, and TURN ChannelData
framing (RFC 8656 §12.4).

Parsing is lazy: :meth:`Message.parse` checks the whole structure in C (header,
attribute bounds, the fixed sizes and families of every attribute it knows,
the MESSAGE-INTEGRITY / FINGERPRINT placement rules) and records where each
attribute is; Python objects are made only when an attribute is asked for.
:meth:`Message.parse_into` re-parses into an existing object without
allocating.  Integrity and fingerprint are checked over the bytes as received
(RFC 8489 §14.5, §14.6, §14.7), never over a re-serialisation.

Only RFC 5389/8489 messages (with the magic cookie) are accepted; RFC 3489
"classic STUN" is rejected with a ParseError: ICE (RFC 8445) and TURN
(RFC 8656) are defined over RFC 5389/8489 STUN, every WebRTC peer sends the
cookie, and the cookie is what makes the RFC 7983 demux check cheap and safe.

Attribute values (``Message.get(ATTR_X)`` / ``Message.attributes``):

* addresses (MAPPED-, XOR-MAPPED-, XOR-PEER-, XOR-RELAYED-ADDRESS,
  ALTERNATE-SERVER, RESPONSE-ORIGIN, OTHER-ADDRESS): ``(host: str, port: int)``
* USERNAME, REALM, SOFTWARE, ALTERNATE-DOMAIN: ``str`` (UTF-8)
* NONCE, USERHASH, DATA, RESERVATION-TOKEN, MESSAGE-INTEGRITY(-SHA256), and
  every attribute this module does not know: ``bytes``
* PRIORITY, LIFETIME, CHANGE-REQUEST, FINGERPRINT, ICE-CONTROLLED/-CONTROLLING,
  CHANNEL-NUMBER, RESPONSE-PORT, REQUESTED-TRANSPORT (protocol number, 17 = UDP),
  REQUESTED-ADDRESS-FAMILY, ADDITIONAL-ADDRESS-FAMILY: ``int``
* USE-CANDIDATE, DONT-FRAGMENT: ``None``; EVEN-PORT: ``bool`` (the R bit)
* ERROR-CODE: ``(code, reason)``; ADDRESS-ERROR-CODE: ``(family, code, reason)``
* ICMP: ``(type, code, error_data)``; UNKNOWN-ATTRIBUTES: ``list[int]``
* PASSWORD-ALGORITHM: ``(algorithm, params)``; PASSWORD-ALGORITHMS: a list of those
* GOOG-NETWORK-INFO: ``(network_id, network_cost)``
"""

cimport cython
from cpython.bytes cimport PyBytes_FromStringAndSize, PyBytes_AS_STRING
from cpython.unicode cimport PyUnicode_AsUTF8AndSize
from cpython.buffer cimport (PyObject_GetBuffer, PyBuffer_Release, PyBUF_FORMAT,
                             PyBUF_ND, PyBUF_SIMPLE, PyBUF_WRITABLE)
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t, int64_t
from libc.string cimport memcpy, memset

from rtcengine._core.buffer cimport (InputView, OutputView, load_u16, load_u32,
                                     load_u64, store_u16, store_u32, store_u64, pad4)
from rtcengine._core.crc cimport rtce_crc_init, rtce_crc32_update
from rtcengine._core.hmac cimport HmacKey
from rtcengine._core.openssl cimport CRYPTO_memcmp, RAND_bytes

import hashlib
import ipaddress
import stringprep
import unicodedata

from rtcengine._core import buffer as _buffer

# The CRC tables live in this module's copy of rtce_crc.h: fill them once.
rtce_crc_init()


class ParseError(_buffer.ParseError):
    """Malformed STUN or ChannelData message."""


# ----------------------------------------------------------------- constants

# RFC 8489 §5: magic cookie; RFC 8489 §14.7: FINGERPRINT XOR value.
MAGIC_COOKIE = 0x2112A442
FINGERPRINT_XOR = 0x5354554E
# RFC 8489 §5: header size.
HEADER_SIZE = 20

# Message classes: the two class bits C1 C0 of RFC 8489 §5.
REQUEST = 0b00            # RFC 8489 §5
INDICATION = 0b01         # RFC 8489 §5
SUCCESS_RESPONSE = 0b10   # RFC 8489 §5
ERROR_RESPONSE = 0b11     # RFC 8489 §5

# Methods.
BINDING = 0x001            # RFC 8489 §18.2
ALLOCATE = 0x003           # RFC 8656 §17
REFRESH = 0x004            # RFC 8656 §17
SEND = 0x006               # RFC 8656 §17
DATA = 0x007               # RFC 8656 §17
CREATE_PERMISSION = 0x008  # RFC 8656 §17
CHANNEL_BIND = 0x009       # RFC 8656 §17
CONNECT = 0x00A            # RFC 6062 §6.1
CONNECTION_BIND = 0x00B    # RFC 6062 §6.1
CONNECTION_ATTEMPT = 0x00C  # RFC 6062 §6.1
GOOG_PING = 0x200          # webrtc.org GOOG-PING (Chrome, not IANA)

# Attribute types.  0x0000-0x7FFF comprehension-required, 0x8000-0xFFFF
# comprehension-optional (RFC 8489 §14).
ATTR_MAPPED_ADDRESS = 0x0001            # RFC 8489 §14.1
ATTR_CHANGE_REQUEST = 0x0003            # RFC 5780 §7.2
ATTR_USERNAME = 0x0006                  # RFC 8489 §14.3
ATTR_MESSAGE_INTEGRITY = 0x0008         # RFC 8489 §14.5
ATTR_ERROR_CODE = 0x0009                # RFC 8489 §14.8
ATTR_UNKNOWN_ATTRIBUTES = 0x000A        # RFC 8489 §14.13
ATTR_CHANNEL_NUMBER = 0x000C            # RFC 8656 §18.1
ATTR_LIFETIME = 0x000D                  # RFC 8656 §18.2
ATTR_XOR_PEER_ADDRESS = 0x0012          # RFC 8656 §18.3
ATTR_DATA = 0x0013                      # RFC 8656 §18.4
ATTR_REALM = 0x0014                     # RFC 8489 §14.9
ATTR_NONCE = 0x0015                     # RFC 8489 §14.10
ATTR_XOR_RELAYED_ADDRESS = 0x0016       # RFC 8656 §18.5
ATTR_REQUESTED_ADDRESS_FAMILY = 0x0017  # RFC 8656 §18.6
ATTR_EVEN_PORT = 0x0018                 # RFC 8656 §18.7
ATTR_REQUESTED_TRANSPORT = 0x0019       # RFC 8656 §18.8
ATTR_DONT_FRAGMENT = 0x001A             # RFC 8656 §18.9
ATTR_ACCESS_TOKEN = 0x001B              # RFC 7635 §6.2
ATTR_MESSAGE_INTEGRITY_SHA256 = 0x001C  # RFC 8489 §14.6
ATTR_PASSWORD_ALGORITHM = 0x001D        # RFC 8489 §14.12
ATTR_USERHASH = 0x001E                  # RFC 8489 §14.4
ATTR_XOR_MAPPED_ADDRESS = 0x0020        # RFC 8489 §14.2
ATTR_RESERVATION_TOKEN = 0x0022         # RFC 8656 §18.10
ATTR_PRIORITY = 0x0024                  # RFC 8445 §16.1
ATTR_USE_CANDIDATE = 0x0025             # RFC 8445 §16.1
ATTR_PADDING = 0x0026                   # RFC 5780 §7.6
ATTR_RESPONSE_PORT = 0x0027             # RFC 5780 §7.5
ATTR_CONNECTION_ID = 0x002A             # RFC 6062 §6.2
ATTR_ADDITIONAL_ADDRESS_FAMILY = 0x8000  # RFC 8656 §18.11
ATTR_ADDRESS_ERROR_CODE = 0x8001        # RFC 8656 §18.12
ATTR_PASSWORD_ALGORITHMS = 0x8002       # RFC 8489 §14.11
ATTR_ALTERNATE_DOMAIN = 0x8003          # RFC 8489 §14.16
ATTR_ICMP = 0x8004                      # RFC 8656 §18.13
ATTR_SOFTWARE = 0x8022                  # RFC 8489 §14.14
ATTR_ALTERNATE_SERVER = 0x8023          # RFC 8489 §14.15
ATTR_FINGERPRINT = 0x8028               # RFC 8489 §14.7
ATTR_ICE_CONTROLLED = 0x8029            # RFC 8445 §16.1
ATTR_ICE_CONTROLLING = 0x802A           # RFC 8445 §16.1
ATTR_RESPONSE_ORIGIN = 0x802B           # RFC 5780 §7.3
ATTR_OTHER_ADDRESS = 0x802C             # RFC 5780 §7.4
ATTR_THIRD_PARTY_AUTHORIZATION = 0x802E  # RFC 7635 §6.1
# Browser (webrtc.org) attributes, comprehension-optional, not IANA-registered
# except where noted; kept raw unless decoded below.
ATTR_GOOG_NOMINATION = 0xC001           # webrtc.org (collides with IANA ENF-FLOW-DESCRIPTION)
ATTR_GOOG_NETWORK_INFO = 0xC057         # webrtc.org / draft-thatcher-ice-network-cost
ATTR_GOOG_LAST_ICE_CHECK_RECEIVED = 0xC058  # webrtc.org
ATTR_GOOG_MISC_INFO = 0xC059            # webrtc.org
ATTR_GOOG_OBSOLETE_1 = 0xC05A           # webrtc.org
ATTR_GOOG_CONNECTION_ID = 0xC05B        # webrtc.org
ATTR_GOOG_DELTA = 0xC05C                # webrtc.org
ATTR_GOOG_DELTA_ACK = 0xC05D            # webrtc.org
ATTR_GOOG_DELTA_SYNC_REQ = 0xC05E       # webrtc.org
ATTR_GOOG_MESSAGE_INTEGRITY_32 = 0xC060  # webrtc.org

# Address families in address attributes (RFC 8489 §14.1) and in
# REQUESTED-ADDRESS-FAMILY (RFC 8656 §18.6).
FAMILY_IPV4 = 0x01  # RFC 8489 §14.1
FAMILY_IPV6 = 0x02  # RFC 8489 §14.1

# PASSWORD-ALGORITHM values (RFC 8489 §18.5).
PASSWORD_ALGORITHM_MD5 = 0x0001     # RFC 8489 §18.5.1.1
PASSWORD_ALGORITHM_SHA256 = 0x0002  # RFC 8489 §18.5.1.2

# CHANGE-REQUEST flags (RFC 5780 §7.2).
CHANGE_IP = 0x4    # RFC 5780 §7.2: "A" bit
CHANGE_PORT = 0x2  # RFC 5780 §7.2: "B" bit

# REQUESTED-TRANSPORT protocol numbers (RFC 8656 §18.8).
TRANSPORT_UDP = 17  # RFC 8656 §18.8 (IANA protocol number)
TRANSPORT_TCP = 6   # RFC 6062 §6.1

# ChannelData channel numbers (RFC 8656 §12).
CHANNEL_MIN = 0x4000  # RFC 8656 §12
CHANNEL_MAX = 0x4FFF  # RFC 8656 §12

# Results of verify_batch (see stun.pxd).
VERIFY_OK = STUN_VERIFY_OK
VERIFY_MALFORMED = STUN_VERIFY_MALFORMED
VERIFY_NO_INTEGRITY = STUN_VERIFY_NO_INTEGRITY
VERIFY_BAD_INTEGRITY = STUN_VERIFY_BAD_INTEGRITY
VERIFY_BAD_FINGERPRINT = STUN_VERIFY_BAD_FINGERPRINT

ATTRIBUTE_NAMES = {
    0x0001: "MAPPED-ADDRESS", 0x0003: "CHANGE-REQUEST", 0x0006: "USERNAME",
    0x0008: "MESSAGE-INTEGRITY", 0x0009: "ERROR-CODE", 0x000A: "UNKNOWN-ATTRIBUTES",
    0x000C: "CHANNEL-NUMBER", 0x000D: "LIFETIME", 0x0012: "XOR-PEER-ADDRESS",
    0x0013: "DATA", 0x0014: "REALM", 0x0015: "NONCE", 0x0016: "XOR-RELAYED-ADDRESS",
    0x0017: "REQUESTED-ADDRESS-FAMILY", 0x0018: "EVEN-PORT",
    0x0019: "REQUESTED-TRANSPORT", 0x001A: "DONT-FRAGMENT", 0x001B: "ACCESS-TOKEN",
    0x001C: "MESSAGE-INTEGRITY-SHA256", 0x001D: "PASSWORD-ALGORITHM",
    0x001E: "USERHASH", 0x0020: "XOR-MAPPED-ADDRESS", 0x0022: "RESERVATION-TOKEN",
    0x0024: "PRIORITY", 0x0025: "USE-CANDIDATE", 0x0026: "PADDING",
    0x0027: "RESPONSE-PORT", 0x002A: "CONNECTION-ID",
    0x8000: "ADDITIONAL-ADDRESS-FAMILY", 0x8001: "ADDRESS-ERROR-CODE",
    0x8002: "PASSWORD-ALGORITHMS", 0x8003: "ALTERNATE-DOMAIN", 0x8004: "ICMP",
    0x8022: "SOFTWARE", 0x8023: "ALTERNATE-SERVER", 0x8028: "FINGERPRINT",
    0x8029: "ICE-CONTROLLED", 0x802A: "ICE-CONTROLLING", 0x802B: "RESPONSE-ORIGIN",
    0x802C: "OTHER-ADDRESS", 0x802E: "THIRD-PARTY-AUTHORIZATION",
    0xC001: "GOOG-NOMINATION", 0xC057: "GOOG-NETWORK-INFO",
    0xC058: "GOOG-LAST-ICE-CHECK-RECEIVED", 0xC059: "GOOG-MISC-INFO",
    0xC05A: "GOOG-OBSOLETE-1", 0xC05B: "GOOG-CONNECTION-ID", 0xC05C: "GOOG-DELTA",
    0xC05D: "GOOG-DELTA-ACK", 0xC05E: "GOOG-DELTA-SYNC-REQ",
    0xC060: "GOOG-MESSAGE-INTEGRITY-32",
}
ATTRIBUTE_TYPES = {name: t for t, name in ATTRIBUTE_NAMES.items()}

METHOD_NAMES = {
    0x001: "BINDING", 0x003: "ALLOCATE", 0x004: "REFRESH", 0x006: "SEND", 0x007: "DATA",
    0x008: "CREATE_PERMISSION", 0x009: "CHANNEL_BIND", 0x00A: "CONNECT",
    0x00B: "CONNECTION_BIND", 0x00C: "CONNECTION_ATTEMPT", 0x200: "GOOG_PING",
}
CLASS_NAMES = {0: "REQUEST", 1: "INDICATION", 2: "SUCCESS_RESPONSE", 3: "ERROR_RESPONSE"}


# ------------------------------------------------------------- value kinds

cdef enum Kind:
    K_RAW = 0        # bytes, kept as received
    K_ADDR           # RFC 8489 §14.1
    K_XADDR          # RFC 8489 §14.2
    K_STR            # UTF-8 text
    K_U32
    K_U64
    K_NONE           # zero-length flag
    K_U16PAD         # 16-bit value + 16 bits RFFU
    K_U8PAD          # 8-bit value + 24 bits RFFU
    K_EVEN_PORT      # RFC 8656 §18.7: one byte, R bit
    K_ERROR          # RFC 8489 §14.8
    K_ADDR_ERROR     # RFC 8656 §18.12
    K_ICMP           # RFC 8656 §18.13
    K_UNKNOWN        # RFC 8489 §14.13: list of 16-bit types
    K_PWALG          # RFC 8489 §14.12
    K_PWALGS         # RFC 8489 §14.11
    K_NETINFO        # webrtc.org GOOG-NETWORK-INFO: two 16-bit values
    K_FIXED8         # 8 raw bytes (RESERVATION-TOKEN)
    K_FIXED32        # 32 raw bytes (USERHASH)
    K_MI             # 20 raw bytes
    K_MI256          # 16..32 raw bytes, multiple of 4


cdef inline int kind_of(uint16_t t) noexcept nogil:
    if t == 0x0001 or t == 0x8023 or t == 0x802B or t == 0x802C:
        return K_ADDR
    if t == 0x0020 or t == 0x0012 or t == 0x0016:
        return K_XADDR
    if t == 0x0006 or t == 0x0014 or t == 0x8022 or t == 0x8003:
        return K_STR
    if t == 0x0024 or t == 0x000D or t == 0x0003 or t == 0x8028:
        return K_U32
    if t == 0x8029 or t == 0x802A:
        return K_U64
    if t == 0x0025 or t == 0x001A:
        return K_NONE
    if t == 0x000C or t == 0x0027:
        return K_U16PAD
    if t == 0x0019 or t == 0x0017 or t == 0x8000:
        return K_U8PAD
    if t == 0x0018:
        return K_EVEN_PORT
    if t == 0x0009:
        return K_ERROR
    if t == 0x8001:
        return K_ADDR_ERROR
    if t == 0x8004:
        return K_ICMP
    if t == 0x000A:
        return K_UNKNOWN
    if t == 0x001D:
        return K_PWALG
    if t == 0x8002:
        return K_PWALGS
    if t == 0xC057:
        return K_NETINFO
    if t == 0x0022:
        return K_FIXED8
    if t == 0x001E:
        return K_FIXED32
    if t == 0x0008:
        return K_MI
    if t == 0x001C:
        return K_MI256
    return K_RAW


# Attribute types this codec understands (for unknown_comprehension_required):
# everything with a decoder plus the raw-but-known ones.
cdef inline bint known_type(uint16_t t) noexcept nogil:
    if kind_of(t) != K_RAW:
        return True
    # DATA, NONCE, PADDING, ACCESS-TOKEN, CONNECTION-ID are known raw values.
    return t == 0x0013 or t == 0x0015 or t == 0x0026 or t == 0x001B or t == 0x002A


# ------------------------------------------------------------------- errors

cdef enum ScanError:
    E_NONE = 0
    E_SHORT
    E_TYPE_BITS
    E_COOKIE
    E_LEN_MOD4
    E_LEN_PAST_END
    E_LEN_TRAILING
    E_ATTR_PAST_END
    E_TOO_MANY
    E_FP_NOT_LAST
    E_ATTR_LENGTH
    E_MI256_LENGTH
    E_FAMILY
    E_ADDR_LENGTH
    E_ADDR_SHORT
    E_ERROR_SHORT
    E_ERROR_CLASS
    E_ERROR_NUMBER
    E_PWALG
    E_UNKNOWN_ODD


cdef str attr_name(long t):
    name = ATTRIBUTE_NAMES.get(t)
    if name is None:
        return f"attribute 0x{t:04x}"
    return name


cdef int raise_scan_error(const StunScan* s) except -1:
    cdef int e = s.err
    a, b, c = s.err_a, s.err_b, s.err_c
    if e == E_SHORT:
        msg = f"STUN header too short: need 20 bytes, have {a}"
    elif e == E_TYPE_BITS:
        msg = f"STUN message type must start with two zero bits, got 0x{a:04x}"
    elif e == E_COOKIE:
        msg = (f"bad STUN magic cookie 0x{a:08x}, expected 0x2112a442 "
               "(RFC 3489 classic STUN is not supported)")
    elif e == E_LEN_MOD4:
        msg = f"STUN message length must be a multiple of 4, got {a}"
    elif e == E_LEN_PAST_END:
        msg = f"STUN message length {a} past end: {b} bytes after the header"
    elif e == E_LEN_TRAILING:
        msg = f"STUN message length {a} leaves trailing bytes: {b} bytes after the header"
    elif e == E_ATTR_PAST_END:
        msg = f"STUN {attr_name(a)} length {b} past end of message: {c} bytes left"
    elif e == E_TOO_MANY:
        msg = f"STUN message has more than {a} attributes"
    elif e == E_FP_NOT_LAST:
        msg = "STUN FINGERPRINT must be the last attribute"
    elif e == E_ATTR_LENGTH:
        msg = f"STUN {attr_name(a)} length must be {c}, got {b}"
    elif e == E_MI256_LENGTH:
        msg = f"STUN MESSAGE-INTEGRITY-SHA256 length must be 16..32 and a multiple of 4, got {a}"
    elif e == E_FAMILY:
        msg = f"STUN {attr_name(a)} has bad address family 0x{b:02x}"
    elif e == E_ADDR_LENGTH:
        fam = "IPv4" if b == 1 else "IPv6"
        msg = f"STUN {attr_name(a)} has bad length {c} for {fam}"
    elif e == E_ADDR_SHORT:
        msg = f"STUN {attr_name(a)} too short: need 4 bytes, have {b}"
    elif e == E_ERROR_SHORT:
        msg = f"STUN {attr_name(a)} too short: need 4 bytes, have {b}"
    elif e == E_ERROR_CLASS:
        msg = f"STUN {attr_name(a)} class must be 3..6, got {b}"
    elif e == E_ERROR_NUMBER:
        msg = f"STUN {attr_name(a)} number must be 0..99, got {b}"
    elif e == E_PWALG:
        msg = f"STUN {attr_name(a)} parameters past end of attribute (length {b})"
    elif e == E_UNKNOWN_ODD:
        msg = f"STUN UNKNOWN-ATTRIBUTES length must be even, got {a}"
    else:
        msg = "malformed STUN message"
    raise ParseError(msg)


# --------------------------------------------------------------- C scanner

cdef inline int scan_fail(StunScan* s, int err, long a, long b, long c) noexcept nogil:
    s.err = err
    s.err_a = a
    s.err_b = b
    s.err_c = c
    return -1


# Check the value of one attribute the registry knows (fixed sizes, address
# families, ERROR-CODE class/number).  0 or -1 with s.err set.
cdef int check_value(StunScan* s, uint16_t t, const uint8_t* v, uint16_t n) noexcept nogil:
    cdef int k = kind_of(t)
    cdef int need_len = -1
    cdef uint8_t cls
    cdef Py_ssize_t i, plen
    if k == K_RAW or k == K_STR:
        return 0
    if k == K_ADDR or k == K_XADDR:
        if n < 4:
            return scan_fail(s, E_ADDR_SHORT, t, n, 0)
        if v[1] == 0x01:
            if n != 8:
                return scan_fail(s, E_ADDR_LENGTH, t, 1, n)
        elif v[1] == 0x02:
            if n != 20:
                return scan_fail(s, E_ADDR_LENGTH, t, 2, n)
        else:
            return scan_fail(s, E_FAMILY, t, v[1], 0)
        return 0
    if k == K_U32 or k == K_U16PAD or k == K_U8PAD or k == K_NETINFO:
        need_len = 4
    elif k == K_U64 or k == K_ICMP or k == K_FIXED8:
        need_len = 8
    elif k == K_NONE:
        need_len = 0
    elif k == K_EVEN_PORT:
        need_len = 1
    elif k == K_FIXED32:
        need_len = 32
    elif k == K_MI:
        need_len = 20
    elif k == K_MI256:
        if n < 16 or n > 32 or (n & 3):
            return scan_fail(s, E_MI256_LENGTH, n, 0, 0)
        return 0
    elif k == K_ERROR or k == K_ADDR_ERROR:
        if n < 4:
            return scan_fail(s, E_ERROR_SHORT, t, n, 0)
        cls = v[2] & 7
        if cls < 3 or cls > 6:
            return scan_fail(s, E_ERROR_CLASS, t, cls, 0)
        if v[3] > 99:
            return scan_fail(s, E_ERROR_NUMBER, t, v[3], 0)
        return 0
    elif k == K_UNKNOWN:
        if n & 1:
            return scan_fail(s, E_UNKNOWN_ODD, n, 0, 0)
        return 0
    elif k == K_PWALG or k == K_PWALGS:
        # RFC 8489 §14.11/§14.12: algorithm, parameters length, parameters
        # padded to 32 bits (the last one's padding may be the attribute's).
        i = 0
        while True:
            if n - i < 4:
                return scan_fail(s, E_PWALG, t, n, 0)
            plen = load_u16(v + i + 2)
            if i + 4 + plen > n:
                return scan_fail(s, E_PWALG, t, n, 0)
            i += 4 + plen + pad4(plen)
            if k == K_PWALG or i >= n:
                return 0
    if need_len >= 0 and n != need_len:
        return scan_fail(s, E_ATTR_LENGTH, t, n, need_len)
    return 0


cdef int stun_scan(const uint8_t* p, Py_ssize_t n, StunScan* s) noexcept nogil:
    cdef uint16_t t, alen
    cdef Py_ssize_t pos, end, padded
    cdef int state = 0   # 0: before MI, 1: after MI, 2: after MI-SHA256, 3: after FP
    s.count = 0
    s.mi = -1
    s.mi256 = -1
    s.fp = -1
    s.ignored = 0
    s.err = E_NONE
    # RFC 8489 §5: 20-byte header.
    if n < STUN_HEADER_SIZE:
        return scan_fail(s, E_SHORT, n, 0, 0)
    s.msg_type = load_u16(p)
    # RFC 8489 §5: the two most significant bits are zero.
    if s.msg_type & 0xC000:
        return scan_fail(s, E_TYPE_BITS, s.msg_type, 0, 0)
    if load_u32(p + 4) != STUN_MAGIC_COOKIE:
        return scan_fail(s, E_COOKIE, load_u32(p + 4), 0, 0)
    s.msg_length = load_u16(p + 2)
    # RFC 8489 §5: attributes are padded, so the length is a multiple of 4.
    if s.msg_length & 3:
        return scan_fail(s, E_LEN_MOD4, s.msg_length, 0, 0)
    if s.msg_length > n - STUN_HEADER_SIZE:
        return scan_fail(s, E_LEN_PAST_END, s.msg_length, n - STUN_HEADER_SIZE, 0)
    if s.msg_length < n - STUN_HEADER_SIZE:
        return scan_fail(s, E_LEN_TRAILING, s.msg_length, n - STUN_HEADER_SIZE, 0)
    end = STUN_HEADER_SIZE + s.msg_length
    pos = STUN_HEADER_SIZE
    while pos < end:
        # pos and end are multiples of 4, so the 4-byte attribute header fits.
        t = load_u16(p + pos)
        alen = load_u16(p + pos + 2)
        padded = alen + pad4(alen)
        if padded > end - pos - 4:
            return scan_fail(s, E_ATTR_PAST_END, t, alen, end - pos - 4)
        if state == 3:
            # RFC 8489 §14.7: FINGERPRINT is the last attribute.
            return scan_fail(s, E_FP_NOT_LAST, 0, 0, 0)
        if t == 0x8028:
            state = 3
        elif state == 1 and t == 0x001C:
            # RFC 8489 §14.6: MESSAGE-INTEGRITY-SHA256 may follow MESSAGE-INTEGRITY.
            state = 2
        elif state != 0:
            # RFC 8489 §14.5/§14.6: other attributes after integrity are ignored.
            s.ignored += 1
            pos += 4 + padded
            continue
        elif t == 0x0008:
            state = 1
        elif t == 0x001C:
            state = 2
        if check_value(s, t, p + pos + 4, alen) < 0:
            return -1
        if s.count >= STUN_MAX_ATTRS:
            return scan_fail(s, E_TOO_MANY, STUN_MAX_ATTRS, 0, 0)
        if t == 0x0008:
            s.mi = s.count
        elif t == 0x001C:
            s.mi256 = s.count
        elif t == 0x8028:
            s.fp = s.count
        s.attrs[s.count].type = t
        s.attrs[s.count].length = alen
        s.attrs[s.count].offset = <uint32_t>(pos + 4)
        s.count += 1
        pos += 4 + padded
    return 0


cdef int stun_check_integrity(const uint8_t* p, const StunScan* s, HmacKey key) noexcept nogil:
    cdef int i
    cdef uint8_t header[STUN_HEADER_SIZE]
    cdef uint8_t mac[64]
    cdef uint32_t value_off, attr_off
    cdef uint16_t alen
    if key.digest_size == 20:
        i = s.mi
    elif key.digest_size == 32:
        i = s.mi256
    else:
        return 0
    if i < 0:
        return 0
    value_off = s.attrs[i].offset
    alen = s.attrs[i].length
    attr_off = value_off - 4
    # RFC 8489 §14.5: HMAC over the message up to the attribute, with the
    # header length rewritten to end at it; the patched header is a stack copy.
    memcpy(header, p, STUN_HEADER_SIZE)
    store_u16(header + 2, <uint16_t>(value_off + alen - STUN_HEADER_SIZE))
    if key.begin() < 0:
        return -1
    if key.update(header, STUN_HEADER_SIZE) < 0:
        return -1
    if key.update(p + STUN_HEADER_SIZE, attr_off - STUN_HEADER_SIZE) < 0:
        return -1
    if key.finish(mac) < 0:
        return -1
    # RFC 8489 §14.6: MESSAGE-INTEGRITY-SHA256 may be truncated (16..32 bytes).
    return CRYPTO_memcmp(mac, p + value_off, alen) == 0


cdef int stun_check_fingerprint(const uint8_t* p, const StunScan* s) noexcept nogil:
    cdef uint32_t value_off
    if s.fp < 0:
        return 0
    value_off = s.attrs[s.fp].offset
    # RFC 8489 §14.7: CRC-32 of the message up to the attribute, XOR 0x5354554e;
    # FINGERPRINT is last, so the header length as received already covers it.
    return (rtce_crc32_update(0, p, value_off - 4) ^ STUN_FINGERPRINT_XOR) == load_u32(p + value_off)


cdef int stun_verify(const uint8_t* p, Py_ssize_t n, HmacKey key,
                     bint require_fingerprint, StunScan* scratch) noexcept nogil:
    cdef int r
    if stun_scan(p, n, scratch) < 0:
        return STUN_VERIFY_MALFORMED
    if scratch.fp >= 0:
        if not stun_check_fingerprint(p, scratch):
            return STUN_VERIFY_BAD_FINGERPRINT
    elif require_fingerprint:
        return STUN_VERIFY_BAD_FINGERPRINT
    if key.digest_size == 20:
        if scratch.mi < 0:
            return STUN_VERIFY_NO_INTEGRITY
    elif key.digest_size != 32 or scratch.mi256 < 0:
        return STUN_VERIFY_NO_INTEGRITY
    r = stun_check_integrity(p, scratch, key)
    if r != 1:
        return STUN_VERIFY_BAD_INTEGRITY
    return STUN_VERIFY_OK


# ------------------------------------------------------------ key handling

cdef dict _key_cache = {}


cdef HmacKey as_hmac_key(object key, str algorithm):
    """An HmacKey for ``key`` (an HmacKey is used as is; bytes are cached)."""
    cdef HmacKey k
    if isinstance(key, HmacKey):
        return <HmacKey>key
    if isinstance(key, str):
        key = (<str>key).encode("utf-8")
    else:
        key = bytes(key)
    ck = (key, algorithm)
    k = _key_cache.get(ck)
    if k is None:
        if len(_key_cache) >= 64:
            _key_cache.clear()
        k = HmacKey(key, algorithm)
        _key_cache[ck] = k
    return k


# ------------------------------------------------------------- addresses

cdef int parse_ipv4(str host, uint8_t* out) except -2:
    """Dotted-quad to 4 bytes; 0 on success, -1 when ``host`` is not IPv4."""
    cdef Py_ssize_t n = 0, i
    cdef const char* s = PyUnicode_AsUTF8AndSize(host, &n)
    cdef int part = 0, digits = 0, value = 0
    cdef char ch
    for i in range(n):
        ch = s[i]
        if ch == b'.':
            if digits == 0 or part >= 3:
                return -1
            out[part] = <uint8_t>value
            part += 1
            digits = 0
            value = 0
        elif b'0' <= ch <= b'9':
            if digits and value == 0:
                return -1   # no leading zeros (ambiguous octal)
            value = value * 10 + (ch - 48)
            digits += 1
            if value > 255:
                return -1
        else:
            return -1
    if part != 3 or digits == 0:
        return -1
    out[3] = <uint8_t>value
    return 0


cdef int pack_host(object host, uint8_t* out) except -1:
    """Write the address bytes of ``host`` to out; return the family."""
    if not isinstance(host, str):
        host = str(host)
    if parse_ipv4(<str>host, out) == 0:
        return FAMILY_IPV4
    addr = ipaddress.ip_address(host)
    packed = addr.packed
    if addr.version == 4:
        memcpy(out, <const char*>packed, 4)
        return FAMILY_IPV4
    memcpy(out, <const char*>packed, 16)
    return FAMILY_IPV6


cdef object unpack_addr(const uint8_t* v, uint16_t n, bint xor, const uint8_t* tid):
    cdef uint8_t a[16]
    cdef uint16_t port = load_u16(v + 2)
    cdef int i
    cdef int alen = 4 if v[1] == FAMILY_IPV4 else 16
    memcpy(a, v + 4, alen)
    if xor:
        # RFC 8489 §14.2: port XOR the cookie's top 16 bits; address XOR the
        # cookie (IPv4) or cookie || transaction id (IPv6).
        port ^= <uint16_t>(STUN_MAGIC_COOKIE >> 16)
        a[0] ^= 0x21
        a[1] ^= 0x12
        a[2] ^= 0xA4
        a[3] ^= 0x42
        if alen == 16:
            for i in range(12):
                a[4 + i] ^= tid[i]
    if alen == 4:
        host = f"{a[0]}.{a[1]}.{a[2]}.{a[3]}"
    else:
        host = str(ipaddress.IPv6Address(a[:16]))
    return (host, port)


cdef Py_ssize_t write_addr(object value, bint xor, const uint8_t* tid, uint8_t* out) except -1:
    cdef uint8_t a[16]
    cdef int fam, i, alen
    cdef uint16_t port
    host, port_obj = value
    fam = pack_host(host, a)
    port = port_obj
    alen = 4 if fam == FAMILY_IPV4 else 16
    if out == NULL:
        return 4 + alen
    if xor:
        port ^= <uint16_t>(STUN_MAGIC_COOKIE >> 16)
        a[0] ^= 0x21
        a[1] ^= 0x12
        a[2] ^= 0xA4
        a[3] ^= 0x42
        if alen == 16:
            for i in range(12):
                a[4 + i] ^= tid[i]
    out[0] = 0
    out[1] = <uint8_t>fam
    store_u16(out + 2, port)
    memcpy(out + 4, a, alen)
    return 4 + alen


# --------------------------------------------------------- value decoding

cdef str decode_text(uint16_t t, const uint8_t* v, uint16_t n):
    try:
        return (<const char*>v)[:n].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ParseError(f"STUN {attr_name(t)} is not valid UTF-8: {exc.reason}") from None


cdef object decode_value(uint16_t t, const uint8_t* v, uint16_t n, const uint8_t* tid):
    cdef int k = kind_of(t)
    cdef Py_ssize_t i, plen
    cdef uint32_t code
    if k == K_ADDR:
        return unpack_addr(v, n, False, tid)
    if k == K_XADDR:
        return unpack_addr(v, n, True, tid)
    if k == K_STR:
        return decode_text(t, v, n)
    if k == K_U32:
        return load_u32(v)
    if k == K_U64:
        return load_u64(v)
    if k == K_NONE:
        return None
    if k == K_U16PAD:
        return load_u16(v)
    if k == K_U8PAD:
        return v[0]
    if k == K_EVEN_PORT:
        return (v[0] & 0x80) != 0
    if k == K_ERROR:
        code = (v[2] & 7) * 100 + v[3]
        return (code, decode_text(t, v + 4, n - 4))
    if k == K_ADDR_ERROR:
        code = (v[2] & 7) * 100 + v[3]
        return (v[0], code, decode_text(t, v + 4, n - 4))
    if k == K_ICMP:
        return (v[2], v[3], load_u32(v + 4))
    if k == K_UNKNOWN:
        return [load_u16(v + i) for i in range(0, n, 2)]
    if k == K_NETINFO:
        return (load_u16(v), load_u16(v + 2))
    if k == K_PWALG or k == K_PWALGS:
        out = []
        i = 0
        while i + 4 <= n:
            plen = load_u16(v + i + 2)
            if i + 4 + plen > n:
                break
            out.append((load_u16(v + i), (<const char*>v + i + 4)[:plen]))
            i += 4 + plen + pad4(plen)
        if k == K_PWALG:
            return out[0]
        return out
    return (<const char*>v)[:n]


# --------------------------------------------------------- value encoding

cdef inline int utf8_or_buffer(object value, const char** ptr, Py_ssize_t* n,
                               InputView holder) except -1:
    if isinstance(value, str):
        ptr[0] = PyUnicode_AsUTF8AndSize(value, n)
    else:
        holder.acquire(value)
        ptr[0] = <const char*>holder.ptr
        n[0] = holder.length
    return 0


# Encode ``value`` for attribute type t into out (or only size it when out is
# NULL); return the value length (before padding).
cdef Py_ssize_t encode_value(uint16_t t, object value, const uint8_t* tid,
                             uint8_t* out) except -1:
    cdef int k = kind_of(t)
    cdef const char* ptr = NULL
    cdef Py_ssize_t n = 0, i, plen, total
    cdef InputView holder
    cdef uint32_t code
    if k == K_ADDR or k == K_XADDR:
        return write_addr(value, k == K_XADDR, tid, out)
    if k == K_U32:
        if out != NULL:
            store_u32(out, <uint32_t>value)
        return 4
    if k == K_U64:
        if out != NULL:
            store_u64(out, <uint64_t>value)
        return 8
    if k == K_NONE:
        return 0
    if k == K_U16PAD:
        if out != NULL:
            store_u16(out, <uint16_t>value)
            out[2] = 0
            out[3] = 0
        return 4
    if k == K_U8PAD:
        if out != NULL:
            out[0] = <uint8_t>value
            out[1] = 0
            out[2] = 0
            out[3] = 0
        return 4
    if k == K_EVEN_PORT:
        if out != NULL:
            out[0] = 0x80 if value else 0
        return 1
    if k == K_NETINFO:
        if out != NULL:
            store_u16(out, <uint16_t>value[0])
            store_u16(out + 2, <uint16_t>value[1])
        return 4
    if k == K_ICMP:
        if out != NULL:
            out[0] = 0
            out[1] = 0
            out[2] = <uint8_t>value[0]
            out[3] = <uint8_t>value[1]
            store_u32(out + 4, <uint32_t>value[2])
        return 8
    if k == K_ERROR or k == K_ADDR_ERROR:
        family = 0
        if k == K_ERROR:
            code_obj, reason = value
        else:
            family, code_obj, reason = value
        code = code_obj
        if code < 300 or code > 699:
            raise ValueError(f"STUN {attr_name(t)} code must be 300..699, got {code}")
        holder = InputView()
        utf8_or_buffer(reason, &ptr, &n, holder)
        if out != NULL:
            out[0] = <uint8_t>family if k == K_ADDR_ERROR else 0
            out[1] = 0
            out[2] = <uint8_t>(code // 100)
            out[3] = <uint8_t>(code % 100)
            memcpy(out + 4, ptr, n)
        return 4 + n
    if k == K_UNKNOWN:
        n = len(value)
        if out != NULL:
            for i in range(n):
                store_u16(out + 2 * i, <uint16_t>value[i])
        return 2 * n
    if k == K_PWALG or k == K_PWALGS:
        items = [value] if k == K_PWALG else value
        total = 0
        for alg, params in items:
            params = bytes(params)
            plen = len(params)
            if out != NULL:
                store_u16(out + total, <uint16_t>alg)
                store_u16(out + total + 2, <uint16_t>plen)
                memcpy(out + total + 4, <const char*>params, plen)
                memset(out + total + 4 + plen, 0, pad4(plen))
            total += 4 + plen + pad4(plen)
        return total
    # Text and raw bytes.
    holder = InputView()
    utf8_or_buffer(value, &ptr, &n, holder)
    if n > 0xFFFF:
        raise ValueError(f"STUN {attr_name(t)} value too long: {n} bytes")
    if out != NULL:
        memcpy(out, ptr, n)
    return n


# ------------------------------------------------------------------ Message

cdef inline uint16_t make_type(int method, int cls) noexcept nogil:
    # RFC 8489 §5: M11..M7 C1 M6..M4 C0 M3..M0.
    return <uint16_t>((method & 0x000F) | ((method & 0x0070) << 1)
                      | ((method & 0x0F80) << 2) | ((cls & 1) << 4) | ((cls & 2) << 7))


def message_type(int method, int message_class) -> int:
    """The 16-bit message type for a method and class (RFC 8489 §5)."""
    if method < 0 or method > 0xFFF:
        raise ValueError(f"STUN method must be 0..0xfff, got {method}")
    if message_class < 0 or message_class > 3:
        raise ValueError(f"STUN class must be 0..3, got {message_class}")
    return make_type(method, message_class)


@cython.final
cdef class Message:
    """A STUN message: method, class, transaction id and ordered attributes
    (``(type, value)`` pairs; duplicates allowed)."""

    def __cinit__(self):
        self.message_method = BINDING
        self.message_class = REQUEST
        memset(self.tid, 0, 12)
        self._view = InputView()
        self._source = None
        self._parsed = False
        self._attrs = None
        self._scan.count = 0
        self._scan.mi = -1
        self._scan.mi256 = -1
        self._scan.fp = -1
        self._scan.ignored = 0

    def __init__(self, int message_method=BINDING, int message_class=REQUEST,
                 transaction_id=None, attributes=None):
        if message_method < 0 or message_method > 0xFFF:
            raise ValueError(f"STUN method must be 0..0xfff, got {message_method}")
        if message_class < 0 or message_class > 3:
            raise ValueError(f"STUN class must be 0..3, got {message_class}")
        self.message_method = message_method
        self.message_class = message_class
        if transaction_id is None:
            if RAND_bytes(self.tid, 12) != 1:
                raise MemoryError("RAND_bytes failed")
        else:
            self.transaction_id = transaction_id
        if attributes is None:
            self._attrs = []
        else:
            # (type, value) pairs, or a mapping as aioice takes it; a type may
            # be given by name ("USERNAME").
            items = attributes.items() if isinstance(attributes, dict) else attributes
            self._attrs = [(ATTRIBUTE_TYPES[t] if isinstance(t, str) else int(t), v)
                           for t, v in items]

    # ----------------------------------------------------------- parsing

    cdef int parse_c(self, object data) except -1:
        cdef uint16_t t
        # Forget the old message first: if acquiring the new buffer fails
        # (TypeError), nothing may point into the released old one.
        self._parsed = False
        self._attrs = None
        self._source = None
        self._scan.count = 0
        self._scan.mi = -1
        self._scan.mi256 = -1
        self._scan.fp = -1
        self._scan.ignored = 0
        self._view.acquire(data)
        self._source = data
        if stun_scan(self._view.ptr, self._view.length, &self._scan) < 0:
            self._scan.count = 0
            self._scan.mi = -1
            self._scan.mi256 = -1
            self._scan.fp = -1
            self._scan.ignored = 0
            self._view.release()
            self._source = None
            return raise_scan_error(&self._scan)
        t = self._scan.msg_type
        self.message_method = (t & 0x000F) | ((t & 0x00E0) >> 1) | ((t & 0x3E00) >> 2)
        self.message_class = ((t >> 4) & 1) | ((t >> 7) & 2)
        memcpy(self.tid, self._view.ptr + 8, 12)
        self._parsed = True
        return 0

    @staticmethod
    def parse(data) -> Message:
        """Parse one STUN message (the whole of ``data``)."""
        cdef Message m = Message.__new__(Message)
        m.parse_c(data)
        return m

    def parse_into(self, data) -> None:
        """Re-parse ``data`` into this object (allocates nothing).  The
        message holds a buffer export of ``data`` until the next parse (so a
        bytearray cannot be resized under it) and reads attribute values from
        it lazily."""
        self.parse_c(data)

    cdef int find_c(self, uint16_t t) noexcept:
        cdef int i
        for i in range(self._scan.count):
            if self._scan.attrs[i].type == t:
                return i
        return -1

    cdef const uint8_t* value_c(self, int i, Py_ssize_t* n) noexcept:
        if not self._parsed or i < 0 or i >= self._scan.count:
            n[0] = 0
            return NULL
        n[0] = self._scan.attrs[i].length
        return self._view.ptr + self._scan.attrs[i].offset

    cdef object _decode_at(self, int i):
        cdef StunAttr* a = &self._scan.attrs[i]
        return decode_value(a.type, self._view.ptr + a.offset, a.length, self.tid)

    cdef list _materialize(self):
        cdef int i
        if self._attrs is None:
            self._attrs = [(self._scan.attrs[i].type, self._decode_at(i))
                           for i in range(self._scan.count)]
        return self._attrs

    # ----------------------------------------------------------- fields

    @property
    def transaction_id(self) -> bytes:
        return (<const char*>self.tid)[:12]

    @transaction_id.setter
    def transaction_id(self, value) -> None:
        cdef InputView v = InputView()
        v.acquire(value)
        if v.length != 12:
            raise ValueError(f"STUN transaction id must be 12 bytes, got {v.length}")
        if self._parsed:
            self._materialize()   # XOR addresses depend on the old id
        memcpy(self.tid, v.ptr, 12)

    @property
    def message_type(self) -> int:
        return make_type(self.message_method, self.message_class)

    @property
    def attributes(self) -> list:
        """The attributes as a live list of ``(type, value)`` (decoded on first access)."""
        if self._attrs is None:
            return self._materialize()
        return self._attrs

    @property
    def ignored_attributes(self) -> int:
        """How many received attributes followed MESSAGE-INTEGRITY and were
        ignored (RFC 8489 §14.5)."""
        return self._scan.ignored if self._parsed else 0

    @property
    def error_code(self):
        """The ERROR-CODE number, or None."""
        v = self.get(ATTR_ERROR_CODE)
        return None if v is None else v[0]

    def get(self, t, default=None):
        """The value of the first attribute of type ``t`` (int or name)."""
        cdef int i
        cdef uint16_t ti
        if isinstance(t, str):
            t = ATTRIBUTE_TYPES[t]
        if self._attrs is None:
            ti = t
            i = self.find_c(ti)
            if i < 0:
                return default
            return self._decode_at(i)
        for at, value in self._attrs:
            if at == t:
                return value
        return default

    def get_all(self, t) -> list:
        """The values of every attribute of type ``t``, in order."""
        if isinstance(t, str):
            t = ATTRIBUTE_TYPES[t]
        return [value for at, value in self.attributes if at == t]

    def __contains__(self, t) -> bool:
        cdef uint16_t ti
        if isinstance(t, str):
            t = ATTRIBUTE_TYPES[t]
        if self._attrs is None:
            ti = t
            return self.find_c(ti) >= 0
        for at, _ in self._attrs:
            if at == t:
                return True
        return False

    def add(self, int t, value=None) -> None:
        """Append an attribute."""
        if t < 0 or t > 0xFFFF:
            raise ValueError(f"STUN attribute type must be 0..0xffff, got {t}")
        self.attributes.append((t, value))

    def remove(self, int t) -> int:
        """Remove every attribute of type ``t``; return how many."""
        attrs = self.attributes
        keep = [(at, v) for at, v in attrs if at != t]
        n = len(attrs) - len(keep)
        attrs[:] = keep
        return n

    def unknown_comprehension_required(self) -> list:
        """Comprehension-required types (0x0000-0x7FFF) this codec does not
        know: the list for a 420 UNKNOWN-ATTRIBUTES answer (RFC 8489 §6.3.1)."""
        cdef int i
        cdef uint16_t t
        out = []
        if self._attrs is None:
            for i in range(self._scan.count):
                t = self._scan.attrs[i].type
                if t < 0x8000 and not known_type(t) and t not in out:
                    out.append(t)
        else:
            for at, _ in self._attrs:
                t = at
                if t < 0x8000 and not known_type(t) and at not in out:
                    out.append(at)
        return out

    # ----------------------------------------------------------- checks

    cdef int check_integrity_c(self, HmacKey key) noexcept:
        if not self._parsed:
            return 0
        return stun_check_integrity(self._view.ptr, &self._scan, key) == 1

    cdef int check_fingerprint_c(self) noexcept:
        if not self._parsed:
            return 0
        return stun_check_fingerprint(self._view.ptr, &self._scan)

    cdef HmacKey _verify_key(self, object key, object algorithm):
        # An HmacKey picks the attribute by its algorithm; bytes use
        # ``algorithm``, by default SHA-256 when MESSAGE-INTEGRITY-SHA256 is
        # present (RFC 8489 §9.2.4: the stronger one is checked).
        if isinstance(key, HmacKey):
            return <HmacKey>key
        if algorithm is None:
            algorithm = "sha256" if (self._parsed and self._scan.mi256 >= 0) else "sha1"
        return as_hmac_key(key, algorithm)

    def check_integrity(self, key, algorithm=None) -> bool:
        """Verify MESSAGE-INTEGRITY (HMAC-SHA1) or MESSAGE-INTEGRITY-SHA256
        over the bytes as received.  ``key`` is an HmacKey (its algorithm
        picks the attribute) or bytes (``algorithm`` "sha1"/"sha256"; by
        default SHA-256 when MESSAGE-INTEGRITY-SHA256 is present, RFC 8489
        §9.2.4).  False when the attribute is absent or the message was not
        parsed."""
        cdef HmacKey k = self._verify_key(key, algorithm)
        if not self._parsed:
            return False
        return stun_check_integrity(self._view.ptr, &self._scan, k) == 1

    def check_fingerprint(self) -> bool:
        """True when FINGERPRINT is present and matches (RFC 8489 §14.7)."""
        if not self._parsed:
            return False
        return stun_check_fingerprint(self._view.ptr, &self._scan) == 1

    def verify(self, key, bint require_fingerprint=True) -> bool:
        """check_integrity(key) and the fingerprint (present and right, or
        absent when not required), in one call."""
        cdef HmacKey k = self._verify_key(key, None)
        if not self._parsed:
            return False
        if self._scan.fp >= 0:
            if not stun_check_fingerprint(self._view.ptr, &self._scan):
                return False
        elif require_fingerprint:
            return False
        return stun_check_integrity(self._view.ptr, &self._scan, k) == 1

    # ----------------------------------------------------------- building

    cdef Py_ssize_t _body_size(self, bint skip_auth) except -1:
        cdef Py_ssize_t total = 0, n
        cdef int i
        cdef uint16_t t
        if self._attrs is None:
            for i in range(self._scan.count):
                t = self._scan.attrs[i].type
                if skip_auth and (t == 0x0008 or t == 0x001C or t == 0x8028):
                    continue
                n = self._scan.attrs[i].length
                total += 4 + n + pad4(n)
            return total
        for at, value in self._attrs:
            t = at
            if skip_auth and (t == 0x0008 or t == 0x001C or t == 0x8028):
                continue
            n = encode_value(t, value, self.tid, NULL)
            total += 4 + n + pad4(n)
        return total

    cdef Py_ssize_t _write(self, uint8_t* out, Py_ssize_t size, HmacKey key,
                           bint fingerprint) except -1:
        cdef Py_ssize_t pos = STUN_HEADER_SIZE, n, pn
        cdef int i
        cdef uint16_t t
        cdef bint skip = key is not None or fingerprint
        cdef const uint8_t* src
        store_u16(out, make_type(self.message_method, self.message_class))
        store_u32(out + 4, STUN_MAGIC_COOKIE)
        memcpy(out + 8, self.tid, 12)
        if self._attrs is None:
            src = self._view.ptr
            for i in range(self._scan.count):
                t = self._scan.attrs[i].type
                if skip and (t == 0x0008 or t == 0x001C or t == 0x8028):
                    continue
                n = self._scan.attrs[i].length
                pn = 4 + n + pad4(n)
                memcpy(out + pos, src + self._scan.attrs[i].offset - 4, pn)
                pos += pn
        else:
            for at, value in self._attrs:
                t = at
                if skip and (t == 0x0008 or t == 0x001C or t == 0x8028):
                    continue
                n = encode_value(t, value, self.tid, out + pos + 4)
                store_u16(out + pos, t)
                store_u16(out + pos + 2, <uint16_t>n)
                memset(out + pos + 4 + n, 0, pad4(n))
                pos += 4 + n + pad4(n)
        if key is not None:
            # RFC 8489 §14.5/§14.6: the length covers the integrity attribute
            # while the HMAC is taken.
            n = key.digest_size
            store_u16(out + 2, <uint16_t>(pos + 4 + n - STUN_HEADER_SIZE))
            store_u16(out + pos, 0x0008 if n == 20 else 0x001C)
            store_u16(out + pos + 2, <uint16_t>n)
            if key.compute(out, pos, out + pos + 4) < 0:
                raise MemoryError("OpenSSL HMAC failed")
            pos += 4 + n
        if fingerprint:
            # RFC 8489 §14.7: the length covers FINGERPRINT while the CRC is taken.
            store_u16(out + 2, <uint16_t>(pos + 8 - STUN_HEADER_SIZE))
            store_u16(out + pos, 0x8028)
            store_u16(out + pos + 2, 4)
            store_u32(out + pos + 4,
                      rtce_crc32_update(0, out, pos) ^ STUN_FINGERPRINT_XOR)
            pos += 8
        store_u16(out + 2, <uint16_t>(pos - STUN_HEADER_SIZE))
        return pos

    cdef Py_ssize_t _size(self, HmacKey key, bint fingerprint) except -1:
        cdef Py_ssize_t n = STUN_HEADER_SIZE + self._body_size(key is not None or fingerprint)
        if key is not None:
            n += 4 + key.digest_size
        if fingerprint:
            n += 8
        if n - STUN_HEADER_SIZE > 0xFFFC:
            raise ValueError(f"STUN message too long: {n} bytes")
        return n

    cdef HmacKey _key_arg(self, object integrity_key, object integrity_algorithm):
        if integrity_key is None:
            return None
        return as_hmac_key(integrity_key, integrity_algorithm)

    def marshal_size(self, integrity_key=None, bint fingerprint=False,
                     str integrity_algorithm="sha1") -> int:
        """Exact size marshal_into writes with these arguments."""
        return self._size(self._key_arg(integrity_key, integrity_algorithm), fingerprint)

    def marshal_into(self, buf, Py_ssize_t offset=0, integrity_key=None,
                     bint fingerprint=False, str integrity_algorithm="sha1") -> int:
        """Write the message into ``buf`` at ``offset``; append
        MESSAGE-INTEGRITY (or -SHA256 for a SHA-256 key) when
        ``integrity_key`` is given and FINGERPRINT when asked, replacing any
        of those already in the attribute list.  Returns bytes written."""
        cdef HmacKey key = self._key_arg(integrity_key, integrity_algorithm)
        cdef Py_ssize_t size = self._size(key, fingerprint)
        cdef OutputView out = OutputView()
        out.acquire(buf, offset, size)
        try:
            return self._write(out.ptr, size, key, fingerprint)
        finally:
            out.release()

    def marshal(self, integrity_key=None, bint fingerprint=False,
                str integrity_algorithm="sha1") -> bytes:
        """The message as bytes (see marshal_into)."""
        cdef HmacKey key = self._key_arg(integrity_key, integrity_algorithm)
        cdef Py_ssize_t size = self._size(key, fingerprint)
        cdef bytes out = PyBytes_FromStringAndSize(NULL, size)
        self._write(<uint8_t*>PyBytes_AS_STRING(out), size, key, fingerprint)
        return out

    def __bytes__(self) -> bytes:
        return self.marshal()

    def __eq__(self, other):
        if not isinstance(other, Message):
            return NotImplemented
        o = <Message>other
        return (self.message_method == o.message_method
                and self.message_class == o.message_class
                and self.transaction_id == o.transaction_id
                and self.attributes == o.attributes)

    __hash__ = None

    def __repr__(self) -> str:
        method = METHOD_NAMES.get(self.message_method, hex(self.message_method))
        attrs = ", ".join(f"{ATTRIBUTE_NAMES.get(t, hex(t))}={v!r}"
                          for t, v in self.attributes)
        return (f"<stun.Message {method} {CLASS_NAMES[self.message_class]} "
                f"tid={self.transaction_id.hex()} [{attrs}]>")


def parse_message(data) -> Message:
    """Parse one STUN message (alias of Message.parse, aioice's name)."""
    cdef Message m = Message.__new__(Message)
    m.parse_c(data)
    return m


# -------------------------------------------------------------- demux

cdef inline bint with_buffer(object data, bint (*check)(const uint8_t*, Py_ssize_t) noexcept nogil) except -1:
    cdef Py_buffer view
    cdef bint r
    if type(data) is bytes:
        return check(<const uint8_t*>PyBytes_AS_STRING(data), len(<bytes>data))
    PyObject_GetBuffer(data, &view, PyBUF_SIMPLE)
    r = check(<const uint8_t*>view.buf, view.len)
    PyBuffer_Release(&view)
    return r


def is_stun(data) -> bool:
    """Cheap check (RFC 7983 §7, RFC 8489 §5) that ``data`` is one STUN message."""
    return with_buffer(data, stun_is_stun)


def is_channel_data(data) -> bool:
    """Cheap check that ``data`` is TURN ChannelData (RFC 8656 §12.4, RFC 7983)."""
    return with_buffer(data, stun_is_channel_data)


def peek_transaction_id(data) -> bytes:
    """The transaction id of a STUN message without parsing the rest."""
    cdef InputView v = InputView()
    cdef uint32_t cookie
    v.acquire(data)
    if v.length < STUN_HEADER_SIZE:
        raise ParseError(f"STUN header too short: need 20 bytes, have {v.length}")
    cookie = load_u32(v.ptr + 4)
    if cookie != STUN_MAGIC_COOKIE:
        raise ParseError(f"bad STUN magic cookie 0x{cookie:08x}, expected 0x2112a442 "
                         "(RFC 3489 classic STUN is not supported)")
    return (<const char*>v.ptr + 8)[:12]


# ------------------------------------------------------------ batch verify

cdef struct IntArray:
    char* ptr
    Py_ssize_t n
    Py_ssize_t itemsize
    bint signed_


cdef int int_array(Py_buffer* view, IntArray* a, str what) except -1:
    fmt = (view.format or b"B").lstrip(b"@=<>!")
    if len(fmt) != 1 or fmt not in b"bBhHiIlLqQnN":
        raise TypeError(f"{what} must be a buffer of integers, got format {fmt!r}")
    a.ptr = <char*>view.buf
    a.itemsize = view.itemsize
    a.n = view.len // view.itemsize
    a.signed_ = fmt in b"bhilqn"
    return 0


cdef inline int64_t int_at(const IntArray* a, Py_ssize_t i) noexcept nogil:
    cdef char* p = a.ptr + i * a.itemsize
    if a.itemsize == 1:
        return (<signed char*>p)[0] if a.signed_ else (<uint8_t*>p)[0]
    if a.itemsize == 2:
        return (<short*>p)[0] if a.signed_ else (<unsigned short*>p)[0]
    if a.itemsize == 4:
        return (<int*>p)[0] if a.signed_ else (<unsigned int*>p)[0]
    return (<long long*>p)[0]


cdef inline void int_store(IntArray* a, Py_ssize_t i, int v) noexcept nogil:
    cdef char* p = a.ptr + i * a.itemsize
    if a.itemsize == 1:
        (<uint8_t*>p)[0] = <uint8_t>v
    elif a.itemsize == 2:
        (<unsigned short*>p)[0] = <unsigned short>v
    elif a.itemsize == 4:
        (<unsigned int*>p)[0] = <unsigned int>v
    else:
        (<long long*>p)[0] = v


def verify_batch(buf, offsets, lengths, key, out_status,
                 bint require_fingerprint=True) -> int:
    """Verify many STUN messages held in ``buf`` (message i is
    ``buf[offsets[i]:offsets[i] + lengths[i]]``) with one key, in C without a
    Python call per message.  ``out_status[i]`` gets a VERIFY_* code;
    returns how many are VERIFY_OK.  The index arrays are any integer buffers
    (array.array, numpy).  ``key``: an HmacKey ("sha256" checks
    MESSAGE-INTEGRITY-SHA256) or bytes (HMAC-SHA1)."""
    cdef HmacKey k = as_hmac_key(key, "sha1")
    cdef InputView data = InputView()
    cdef Py_buffer ov, lv, sv
    cdef IntArray oa, la, sa
    cdef StunScan scan
    cdef Py_ssize_t i, count, ok = 0
    cdef int64_t off, ln
    cdef int status
    data.acquire(buf)
    PyObject_GetBuffer(offsets, &ov, PyBUF_FORMAT | PyBUF_ND)
    try:
        PyObject_GetBuffer(lengths, &lv, PyBUF_FORMAT | PyBUF_ND)
        try:
            PyObject_GetBuffer(out_status, &sv, PyBUF_FORMAT | PyBUF_ND | PyBUF_WRITABLE)
            try:
                int_array(&ov, &oa, "offsets")
                int_array(&lv, &la, "lengths")
                int_array(&sv, &sa, "out_status")
                count = oa.n
                if la.n != count or sa.n < count:
                    raise ValueError(f"offsets ({oa.n}), lengths ({la.n}) and "
                                     f"out_status ({sa.n}) must have the same length")
                with nogil:
                    for i in range(count):
                        off = int_at(&oa, i)
                        ln = int_at(&la, i)
                        if off < 0 or ln < 0 or off + ln > data.length:
                            status = STUN_VERIFY_MALFORMED
                        else:
                            status = stun_verify(data.ptr + off, <Py_ssize_t>ln, k,
                                                 require_fingerprint, &scan)
                        if status == STUN_VERIFY_OK:
                            ok += 1
                        int_store(&sa, i, status)
            finally:
                PyBuffer_Release(&sv)
        finally:
            PyBuffer_Release(&lv)
    finally:
        PyBuffer_Release(&ov)
    return ok


# --------------------------------------------------------------- ChannelData

@cython.final
cdef class ChannelData:
    """TURN ChannelData message (RFC 8656 §12.4): channel number + data."""

    cdef public int channel_number
    cdef public bytes data

    def __init__(self, int channel_number, data=b""):
        if channel_number < CHANNEL_MIN or channel_number > CHANNEL_MAX:
            raise ValueError(f"channel number must be 0x4000..0x4fff, got 0x{channel_number:x}")
        self.channel_number = channel_number
        self.data = bytes(data)

    @staticmethod
    def parse(data) -> ChannelData:
        """Parse a ChannelData message; up to 3 padding bytes may follow the
        data (RFC 8656 §12.5: padding is optional over UDP)."""
        cdef InputView v = InputView()
        cdef ChannelData c
        cdef uint16_t ch, n
        v.acquire(data)
        if v.length < 4:
            raise ParseError(f"ChannelData header too short: need 4 bytes, have {v.length}")
        ch = load_u16(v.ptr)
        # RFC 8656 §12: channel numbers 0x4000 through 0x4FFF.
        if ch < CHANNEL_MIN or ch > CHANNEL_MAX:
            raise ParseError(f"ChannelData channel number must be 0x4000..0x4fff, got 0x{ch:04x}")
        n = load_u16(v.ptr + 2)
        if n > v.length - 4:
            raise ParseError(f"ChannelData length {n} past end: {v.length - 4} bytes after the header")
        if v.length - 4 - n > 3:
            raise ParseError(f"ChannelData length {n} leaves {v.length - 4 - n} trailing bytes")
        c = ChannelData.__new__(ChannelData)
        c.channel_number = ch
        c.data = (<const char*>v.ptr + 4)[:n]
        return c

    def marshal_size(self, bint pad=False) -> int:
        n = 4 + len(self.data)
        return n + pad4(n) if pad else n

    def marshal_into(self, buf, Py_ssize_t offset=0, bint pad=False) -> int:
        """Write into ``buf``; ``pad`` to a multiple of 4 (RFC 8656 §12.5,
        required over TCP)."""
        cdef Py_ssize_t n = len(self.data)
        cdef Py_ssize_t size = 4 + n + (pad4(n) if pad else 0)
        cdef OutputView out = OutputView()
        if n > 0xFFFF:
            raise ValueError(f"ChannelData too long: {n} bytes")
        out.acquire(buf, offset, size)
        try:
            store_u16(out.ptr, <uint16_t>self.channel_number)
            store_u16(out.ptr + 2, <uint16_t>n)
            memcpy(out.ptr + 4, <const char*>self.data, n)
            memset(out.ptr + 4 + n, 0, size - 4 - n)
        finally:
            out.release()
        return size

    def marshal(self, bint pad=False) -> bytes:
        cdef bytearray out = bytearray(self.marshal_size(pad))
        self.marshal_into(out, 0, pad)
        return bytes(out)

    def __eq__(self, other):
        if not isinstance(other, ChannelData):
            return NotImplemented
        o = <ChannelData>other
        return self.channel_number == o.channel_number and self.data == o.data

    __hash__ = None

    def __repr__(self) -> str:
        return f"<stun.ChannelData 0x{self.channel_number:04x} {len(self.data)} bytes>"


# ------------------------------------------------------------ credentials

def _in_table(ch, tables) -> bool:
    return any(table(ch) for table in tables)


_PROHIBITED = (
    stringprep.in_table_c12, stringprep.in_table_c21, stringprep.in_table_c22,
    stringprep.in_table_c3, stringprep.in_table_c4, stringprep.in_table_c5,
    stringprep.in_table_c6, stringprep.in_table_c7, stringprep.in_table_c8,
    stringprep.in_table_c9,
)


def saslprep(str text, bint allow_unassigned=True) -> str:
    """SASLprep (RFC 4013, the stringprep profile RFC 8489 §9.1.1 / RFC 5389
    §15.4 apply to passwords).  Raises ValueError on prohibited input."""
    # RFC 4013 §2.1: non-ASCII space -> SPACE; "commonly mapped to nothing" removed.
    mapped = "".join(
        " " if stringprep.in_table_c12(ch) else ch
        for ch in text if not stringprep.in_table_b1(ch))
    # RFC 4013 §2.2: Unicode normalization form KC.
    out = unicodedata.normalize("NFKC", mapped)
    if not out:
        return out
    # RFC 4013 §2.3: prohibited output.
    for ch in out:
        if _in_table(ch, _PROHIBITED):
            raise ValueError(f"SASLprep: prohibited character U+{ord(ch):04X}")
        # RFC 4013 §2.5: unassigned code points (stored strings only).
        if not allow_unassigned and stringprep.in_table_a1(ch):
            raise ValueError(f"SASLprep: unassigned code point U+{ord(ch):04X}")
    # RFC 4013 §2.4 / RFC 3454 §6: bidirectional rules.
    ral = [stringprep.in_table_d1(ch) for ch in out]
    if any(ral):
        if any(stringprep.in_table_d2(ch) for ch in out):
            raise ValueError("SASLprep: RandALCat and LCat characters mixed")
        if not (ral[0] and ral[len(ral) - 1]):
            raise ValueError("SASLprep: RandALCat string must start and end with RandALCat")
    return out


def _text(value) -> str:
    if isinstance(value, str):
        return value
    return bytes(value).decode("utf-8")


def short_term_key(password) -> bytes:
    """Short-term credential key: SASLprep(password) (RFC 8489 §9.1.1)."""
    return saslprep(_text(password)).encode("utf-8")


def long_term_key(username, realm, password, algorithm=PASSWORD_ALGORITHM_MD5) -> bytes:
    """Long-term credential key (RFC 8489 §9.2.2):
    MD5 or SHA-256 of ``username ":" realm ":" SASLprep(password)``.
    ``algorithm`` is PASSWORD_ALGORITHM_MD5 / _SHA256 (or "md5"/"sha256")."""
    data = (f"{_text(username)}:{_text(realm)}:{saslprep(_text(password))}").encode("utf-8")
    if algorithm in (PASSWORD_ALGORITHM_MD5, "md5"):
        return hashlib.md5(data).digest()
    if algorithm in (PASSWORD_ALGORITHM_SHA256, "sha256"):
        return hashlib.sha256(data).digest()
    raise ValueError(f"unsupported STUN password algorithm {algorithm!r}")


def userhash(username, realm) -> bytes:
    """USERHASH value: SHA-256(username ":" realm) (RFC 8489 §14.4)."""
    return hashlib.sha256(f"{_text(username)}:{_text(realm)}".encode("utf-8")).digest()
