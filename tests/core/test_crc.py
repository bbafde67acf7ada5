"""CRC-32 and CRC-32c against RFC 3720 B.4 and independent implementations."""

from __future__ import annotations

import os
import random
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rtcengine._core import crc
from tests.vectors import load

CRC32C = load("sctp/crc32c.json")["vectors"]


@pytest.mark.parametrize("vec", CRC32C, ids=lambda v: v["name"])
def test_crc32c_rfc3720_b4(vec: dict[str, str]) -> None:
    data = bytes.fromhex(vec["input_hex"])
    assert crc.crc32c(data) == int(vec["crc_value_uint32"], 16)
    assert crc.crc32c_software(data) == int(vec["crc_value_uint32"], 16)
    # SCTP stores it little-endian (RFC 9260 Appendix B).
    assert crc.crc32c(data).to_bytes(4, "little").hex() == vec["crc_bytes_as_transmitted"]


def test_crc32c_check_value() -> None:
    # The "check" value of CRC-32C over "123456789" (Castagnoli parameters).
    assert crc.crc32c(b"123456789") == 0xE3069283
    assert crc.crc32(b"123456789") == 0xCBF43926


@given(st.binary(max_size=3000), st.integers(0, 3000))
def test_crc_matches_references_in_pieces(data: bytes, cut: int) -> None:
    cut = min(cut, len(data))
    assert crc.crc32(data) == zlib.crc32(data)
    assert crc.crc32(data[cut:], crc.crc32(data[:cut])) == zlib.crc32(data)
    assert crc.crc32c(data) == crc.crc32c_software(data)
    assert crc.crc32c(data[cut:], crc.crc32c(data[:cut])) == crc.crc32c(data)


def test_crc32c_against_google_crc32c() -> None:
    google_crc32c = pytest.importorskip("google_crc32c")
    for n in (0, 1, 7, 8, 9, 63, 64, 191, 192, 193, 1200, 4096, 24576, 28320, 65536):
        data = os.urandom(n)
        assert crc.crc32c(data) == google_crc32c.value(data)


def test_accepts_any_buffer() -> None:
    data = bytes(range(100))
    assert crc.crc32c(bytearray(data)) == crc.crc32c(memoryview(data)) == crc.crc32c(data)
    with pytest.raises(TypeError):
        crc.crc32c("not bytes")  # type: ignore[arg-type]


# The SSE4.2 path runs three interleaved crc32 streams over blocks of L bytes
# (L in rtce_crc.h: 64, 256, 1024, 8192) and combines them with shift tables;
# lengths around 3*L, and the serial head/tail around them, cross the
# boundaries between levels and the serial code.
_LEVELS = (64, 256, 1024, 8192)
_BOUNDARY_LENGTHS = sorted(
    {k * 3 * level + d for level in _LEVELS for k in (1, 2) for d in range(-8, 9)}
    | {3 * 8192 + 3 * 1024 + 3 * 256 + 3 * 64 + d for d in range(-8, 9)}
)


@pytest.mark.parametrize("offset", range(8))
def test_crc32c_block_boundaries(offset: int) -> None:
    backing = os.urandom(max(_BOUNDARY_LENGTHS) + 8)
    view = memoryview(backing)
    for n in _BOUNDARY_LENGTHS:
        piece = view[offset : offset + n]
        expected = crc.crc32c_software(piece)
        assert crc.crc32c(piece) == expected, (n, offset)
        # Continuing from a running value exercises the first stream's seed.
        assert crc.crc32c(piece, 0x12345678) == crc.crc32c_software(piece, 0x12345678)


def test_crc32c_zeros_and_ones_at_boundaries() -> None:
    # All-zero and all-0xff blocks make the per-stream registers degenerate
    # (zero / repeated) and catch a combine that drops a stream.
    for level in _LEVELS:
        for n in (3 * level - 1, 3 * level, 3 * level + 1):
            for fill in (b"\x00", b"\xff"):
                data = fill * n
                assert crc.crc32c(data) == crc.crc32c_software(data)


@settings(max_examples=200, deadline=None)
@given(
    st.integers(0, 30000),
    st.integers(0, 2**32 - 1),
    st.integers(0, 7),
    st.integers(0, 2**32 - 1),
)
def test_crc32c_long_unaligned_matches_software(n: int, seed: int, offset: int, value: int) -> None:
    # Length drawn directly so long inputs are as likely as short ones.
    data = random.Random(seed).randbytes(n)
    view = memoryview(bytes(offset) + data)[offset:]
    assert crc.crc32c(view, value) == crc.crc32c_software(view, value)
    cut = n // 3
    assert crc.crc32c(view[cut:], crc.crc32c(view[:cut], value)) == crc.crc32c(view, value)
