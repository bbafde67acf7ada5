"""CRC-32 and CRC-32c against RFC 3720 B.4 and independent implementations."""

from __future__ import annotations

import os
import zlib

import pytest
from hypothesis import given
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
    for n in (0, 1, 7, 8, 9, 63, 64, 1200, 4096):
        data = os.urandom(n)
        assert crc.crc32c(data) == google_crc32c.value(data)


def test_accepts_any_buffer() -> None:
    data = bytes(range(100))
    assert crc.crc32c(bytearray(data)) == crc.crc32c(memoryview(data)) == crc.crc32c(data)
    with pytest.raises(TypeError):
        crc.crc32c("not bytes")  # type: ignore[arg-type]
