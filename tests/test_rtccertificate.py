"""RTCCertificate / RTCDtlsFingerprint (W3C webrtc-pc §4.9, §5.5.1)."""

from __future__ import annotations

import datetime
import re

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from rtcengine.exceptions import InvalidAccessError
from rtcengine.rtccertificate import RTCCertificate, RTCDtlsFingerprint, certificate_fingerprint

FP_RE = re.compile(r"^[0-9A-F]{2}(:[0-9A-F]{2})+$")


@pytest.fixture(scope="module")
def cert() -> RTCCertificate:
    return RTCCertificate.generateCertificate()


def test_default_is_ecdsa_p256(cert: RTCCertificate) -> None:
    parsed = x509.load_der_x509_certificate(cert.certificate_der)
    key = parsed.public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey)
    assert key.curve.name == "secp256r1"
    assert isinstance(parsed.signature_hash_algorithm, hashes.SHA256)
    assert parsed.subject == parsed.issuer  # self-signed
    assert "ECDSA" in repr(cert)


def test_rsa_option() -> None:
    c = RTCCertificate.generateCertificate(
        {"name": "RSASSA-PKCS1-v1_5", "modulusLength": 2048, "publicExponent": 65537}
    )
    key = x509.load_der_x509_certificate(c.certificate_der).public_key()
    assert isinstance(key, rsa.RSAPublicKey)
    assert key.key_size == 2048
    # WebCrypto passes publicExponent as big-endian bytes
    c2 = RTCCertificate.generateCertificate(
        {"name": "RSASSA-PKCS1-v1_5", "modulusLength": 2048, "publicExponent": b"\x01\x00\x01"}
    )
    assert c2.getFingerprints()[0].value != c.getFingerprints()[0].value


@pytest.mark.parametrize(
    ("alg", "match"),
    [
        ({"name": "RSASSA-PKCS1-v1_5", "modulusLength": 1024}, "modulusLength"),
        ({"name": "RSASSA-PKCS1-v1_5", "publicExponent": 3}, "publicExponent"),
        ({"name": "ECDSA", "namedCurve": "P-384"}, "curve"),
        ("Ed25519", "unsupported keygenAlgorithm"),
    ],
)
def test_refused_algorithms(alg: object, match: str) -> None:
    with pytest.raises(InvalidAccessError, match=match):
        RTCCertificate.generateCertificate(alg)  # type: ignore[arg-type]


def test_fingerprints_format_and_value(cert: RTCCertificate) -> None:
    parsed = x509.load_der_x509_certificate(cert.certificate_der)
    (fp,) = cert.getFingerprints()
    assert fp.algorithm == "sha-256"
    assert FP_RE.match(fp.value)
    assert fp.value == ":".join(f"{b:02X}" for b in parsed.fingerprint(hashes.SHA256()))
    more = cert.getFingerprints(["sha-256", "sha-384", "sha-512"])
    assert [f.algorithm for f in more] == ["sha-256", "sha-384", "sha-512"]
    assert more[1].value == ":".join(f"{b:02X}" for b in parsed.fingerprint(hashes.SHA384()))
    assert more[2].value == ":".join(f"{b:02X}" for b in parsed.fingerprint(hashes.SHA512()))
    assert [len(f.value.split(":")) for f in more] == [32, 48, 64]
    assert certificate_fingerprint(cert.certificate_der, "SHA-256") == fp
    with pytest.raises(InvalidAccessError, match="unsupported fingerprint algorithm"):
        cert.getFingerprints(["md5"])


def test_fingerprint_dataclass() -> None:
    fp = RTCDtlsFingerprint(algorithm="sha-256", value="AB:CD")
    assert fp == RTCDtlsFingerprint("sha-256", "AB:CD")
    assert hash(fp) == hash(RTCDtlsFingerprint("sha-256", "AB:CD"))


def test_expires_default_30_days_and_backdated(cert: RTCCertificate) -> None:
    now = datetime.datetime.now(tz=datetime.UTC)
    assert abs(cert.expires - (now + datetime.timedelta(days=30))) < datetime.timedelta(minutes=5)
    assert cert.expires_ms == pytest.approx(cert.expires.timestamp() * 1000)
    parsed = x509.load_der_x509_certificate(cert.certificate_der)
    assert parsed.not_valid_before_utc < now - datetime.timedelta(hours=23)


def test_expires_argument() -> None:
    now = datetime.datetime.now(tz=datetime.UTC)
    c = RTCCertificate.generateCertificate(expires=3600 * 1000)  # milliseconds, as webrtc-pc
    assert abs(c.expires - (now + datetime.timedelta(hours=1))) < datetime.timedelta(minutes=1)
    c2 = RTCCertificate.generateCertificate(
        {"name": "ECDSA", "namedCurve": "P-256", "expires": 60000}
    )
    assert abs(c2.expires - (now + datetime.timedelta(minutes=1))) < datetime.timedelta(seconds=30)


def test_random_serial_and_name() -> None:
    a = x509.load_der_x509_certificate(RTCCertificate.generateCertificate().certificate_der)
    b = x509.load_der_x509_certificate(RTCCertificate.generateCertificate().certificate_der)
    assert a.serial_number != b.serial_number
    assert a.subject != b.subject


def test_expired_certificate_is_refused_when_used() -> None:
    c = RTCCertificate.generateCertificate(expires=datetime.timedelta(seconds=-1))
    assert c.is_expired()
    with pytest.raises(InvalidAccessError, match="certificate expired"):
        c.create_dtls_endpoint("client", c.getFingerprints())
    with pytest.raises(InvalidAccessError, match="certificate expired"):
        c.check_valid()
    # a valid one is not
    fresh = RTCCertificate.generateCertificate()
    fresh.check_valid()
    assert not fresh.is_expired()
    assert fresh.is_expired(fresh.expires + datetime.timedelta(seconds=1))


def test_key_der_loads_in_openssl(cert: RTCCertificate) -> None:
    ep = cert.create_dtls_endpoint("server", cert.getFingerprints())
    assert ep.state == "new"
    assert ep.role == "server"
