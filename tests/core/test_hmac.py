"""HmacKey against RFC 2202/4231 vectors and Python's hmac module."""

from __future__ import annotations

import hmac as py_hmac
import os
import shutil
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rtcengine._core.hmac import HmacKey

# RFC 2202 §3 test case 2 (HMAC-SHA-1) and RFC 4231 §4.3 test case 2 (HMAC-SHA-256).
RFC_CASES = [
    ("sha1", b"Jefe", b"what do ya want for nothing?", "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"),
    (
        "sha256",
        b"Jefe",
        b"what do ya want for nothing?",
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
    ),
    # RFC 2202 §3 test case 6: an 80-byte key, longer than the 64-byte block, is hashed first.
    (
        "sha1",
        b"\xaa" * 80,
        b"Test Using Larger Than Block-Size Key - Hash Key First",
        "aa4ae5e15272d00e95705637ce8a3b55ed402112",
    ),
]


@pytest.mark.parametrize(("alg", "key", "msg", "mac"), RFC_CASES)
def test_rfc_vectors(alg: str, key: bytes, msg: bytes, mac: str) -> None:
    k = HmacKey(key, alg)  # type: ignore[arg-type]
    assert k.digest(msg).hex() == mac
    assert k.verify(msg, bytes.fromhex(mac))
    assert k.verify(msg, bytes.fromhex(mac)[:10])  # truncated tags (SRTP uses 80 bits)
    assert not k.verify(msg + b"x", bytes.fromhex(mac))


@given(
    st.sampled_from(["sha1", "sha256", "sha384", "sha512"]),
    st.binary(max_size=200),
    st.lists(st.binary(max_size=300), min_size=1, max_size=4),
)
def test_matches_python_hmac_and_key_reuse(alg: str, key: bytes, msgs: list[bytes]) -> None:
    k = HmacKey(key, alg)  # type: ignore[arg-type]
    for m in msgs:  # the same key object, many messages: no state leaks between MACs
        assert k.digest(m) == py_hmac.new(key, m, alg).digest()
    assert k.digest_size == py_hmac.new(key, b"", alg).digest_size


def test_verify_rejects_bad_lengths() -> None:
    k = HmacKey(b"k")
    assert not k.verify(b"m", b"")
    assert not k.verify(b"m", b"abc")
    assert not k.verify(b"m", k.digest(b"m") + b"\x00")


def test_unknown_algorithm() -> None:
    with pytest.raises(ValueError, match="unsupported HMAC digest 'sha3'"):
        HmacKey(b"k", "sha3")  # type: ignore[arg-type]


def test_no_allocation_per_mac_in_steady_state() -> None:
    k = HmacKey(b"password", "sha1")
    msg = bytes(100)
    for _ in range(100):
        k.verify(msg, b"\x00" * 20)
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for _ in range(10000):
        k.verify(msg, b"\x00" * 20)
    grown = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    assert grown < 1024, f"{grown} bytes retained after 10k MACs"


MALLOC_COUNTER = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>
static unsigned long n;
static void *(*real)(size_t);
void *malloc(size_t s) { if (!real) real = dlsym(RTLD_NEXT, "malloc"); n++; return real(s); }
unsigned long rtce_test_malloc_count(void) { return n; }
"""

C_HEAP_PROBE = r"""
import array, ctypes, sys
lib = ctypes.CDLL(sys.argv[1])
lib.rtce_test_malloc_count.restype = ctypes.c_ulong
from rtcengine._core.hmac import HmacKey
from rtcengine._core.srtp import SrtpSession

def per_call(fn, n=5000):
    for _ in range(200):
        fn()
    before = lib.rtce_test_malloc_count()
    for _ in range(n):
        fn()
    return (lib.rtce_test_malloc_count() - before) / n

msg, mac = bytes(100), bytes(20)
for alg in ("sha1", "sha256"):
    key = HmacKey(b"k" * 20, alg)
    print(alg, per_call(lambda: key.verify(msg, mac)))
session = SrtpSession(1, bytes(16), bytes(14))  # AES_CM_128_HMAC_SHA1_80
buf = bytearray(b"\x80\x60" + bytes(10) + bytes(1200) + bytes(16))
offs, lens = array.array("q", [0]), array.array("q", [1212])
out, status = array.array("q", [0]), array.array("i", [0])
seq = [0]
def protect():
    seq[0] = (seq[0] + 1) & 0xFFFF
    buf[2:4] = seq[0].to_bytes(2, "big")
    lens[0] = 1212
    session.protect_batch(buf, offs, lens, out, status)
print("srtp", per_call(protect))
"""


def test_no_c_heap_allocation_per_mac(tmp_path: Path) -> None:
    # tracemalloc cannot see libcrypto's mallocs: count them with a preloaded
    # malloc wrapper.  OpenSSL 3.0's EVP_MD_CTX_copy_ex mallocs twice per copy;
    # HmacKey's SHA-1/SHA-256 path copies plain structs instead (rtce_sha.h).
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None or not sys.platform.startswith("linux"):
        pytest.skip("needs a C compiler and glibc's RTLD_NEXT to count mallocs")
    src = tmp_path / "count.c"
    src.write_text(MALLOC_COUNTER)
    lib = tmp_path / "count.so"
    subprocess.run([cc, "-shared", "-fPIC", "-O1", "-o", str(lib), str(src), "-ldl"], check=True)
    proc = subprocess.run(
        [sys.executable, "-c", C_HEAP_PROBE, str(lib)],
        env={**os.environ, "LD_PRELOAD": str(lib)},
        capture_output=True,
        text=True,
        check=True,
    )
    counts = dict(line.split() for line in proc.stdout.split("\n") if line)
    assert counts == {"sha1": "0.0", "sha256": "0.0", "srtp": "0.0"}, proc.stdout
