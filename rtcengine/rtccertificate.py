"""RTCCertificate (W3C webrtc-pc §4.9) and RTCDtlsFingerprint (§5.5.1).

Certificates are self-signed X.509 made with ``cryptography`` and handed to
OpenSSL as DER (``rtcengine._core.dtls``).  The peer does not check the chain:
it checks the certificate's fingerprint from the SDP (RFC 8122 §5, RFC 8827
§6.5), so validity dates matter only to us: an expired certificate is refused
when it is used (:meth:`RTCCertificate.create_dtls_endpoint`), with
:class:`~rtcengine.exceptions.InvalidAccessError` as webrtc-pc §4.4.1.1 asks
of ``RTCPeerConnection``.
"""

from __future__ import annotations

import datetime
import os
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Self

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from rtcengine.exceptions import InvalidAccessError

if TYPE_CHECKING:
    from rtcengine._core.dtls import DtlsEndpoint


# RFC 8122 §5 hash function textual names -> cryptography hashes.  sha-256 is
# what browsers send; sha-384/512 on request.
FINGERPRINT_ALGORITHMS: dict[str, type[hashes.HashAlgorithm]] = {
    "sha-256": hashes.SHA256,
    "sha-384": hashes.SHA384,
    "sha-512": hashes.SHA512,
}

# webrtc-pc §4.9.1: certificates expire after 30 days unless asked otherwise
# (implementations may cap the lifetime; 365 days here).
DEFAULT_LIFETIME = datetime.timedelta(days=30)
MAX_LIFETIME = datetime.timedelta(days=365)
# Validity starts a day in the past so peers with a skewed clock accept it.
BACKDATE = datetime.timedelta(days=1)
# The shared default certificate (default_certificate()) is replaced once it
# has less than this left, so a connection never starts on one about to expire.
DEFAULT_RENEW_BEFORE = datetime.timedelta(days=1)


@dataclass(frozen=True)
class RTCDtlsFingerprint:
    """webrtc-pc §5.5.1: a certificate fingerprint, as in SDP ``a=fingerprint``."""

    algorithm: str
    "The hash function name, e.g. ``'sha-256'`` (RFC 8122 §5)."
    value: str
    "Uppercase hex pairs joined by colons, e.g. ``'AB:CD:...'``."


def certificate_fingerprint(cert_der: bytes, algorithm: str = "sha-256") -> RTCDtlsFingerprint:
    """The RFC 8122 fingerprint of a DER certificate."""
    try:
        algo = FINGERPRINT_ALGORITHMS[algorithm.lower()]
    except KeyError:
        raise InvalidAccessError(
            f"unsupported fingerprint algorithm {algorithm!r}: use "
            + ", ".join(FINGERPRINT_ALGORITHMS)
        ) from None
    digest = hashes.Hash(algo())
    digest.update(cert_der)
    return RTCDtlsFingerprint(
        algorithm=algorithm.lower(), value=":".join(f"{b:02X}" for b in digest.finalize())
    )


def _generate_key(
    keygen: str | Mapping[str, Any] | None,
) -> ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey:
    """webrtc-pc §4.9.2 AlgorithmIdentifier: ECDSA P-256 (default) or
    RSASSA-PKCS1-v1_5 with SHA-256."""
    if keygen is None:
        return ec.generate_private_key(ec.SECP256R1())
    params: Mapping[str, Any] = {"name": keygen} if isinstance(keygen, str) else keygen
    name = str(params.get("name", "")).upper()
    if name == "ECDSA":
        curve = params.get("namedCurve", "P-256")
        if curve != "P-256":
            raise InvalidAccessError(f"unsupported ECDSA curve {curve!r}: only P-256")
        return ec.generate_private_key(ec.SECP256R1())
    if name == "RSASSA-PKCS1-V1_5":
        bits = int(params.get("modulusLength", 2048))
        exponent = params.get("publicExponent", 65537)
        if isinstance(exponent, (bytes, bytearray)):  # WebCrypto passes a big-endian Uint8Array
            exponent = int.from_bytes(exponent, "big")
        if bits < 2048 or bits > 8192:
            raise InvalidAccessError(f"RSA modulusLength must be 2048..8192, got {bits}")
        if exponent != 65537:
            raise InvalidAccessError(f"RSA publicExponent must be 65537, got {exponent}")
        hash_name = str(params.get("hash", "SHA-256")).upper()
        if hash_name != "SHA-256":
            raise InvalidAccessError(f"unsupported RSA hash {hash_name!r}: only SHA-256")
        return rsa.generate_private_key(public_exponent=65537, key_size=bits)
    raise InvalidAccessError(
        f"unsupported keygenAlgorithm {keygen!r}: use 'ECDSA' (P-256) or "
        "{'name': 'RSASSA-PKCS1-v1_5', 'modulusLength': 2048, 'publicExponent': 65537}"
    )


class RTCCertificate:
    """A DTLS certificate and its private key (webrtc-pc §4.9).

    Make one with :meth:`generateCertificate`.  Compatible with aiortc's
    ``RTCCertificate`` (``generateCertificate()``, ``getFingerprints()``,
    ``expires``); :attr:`expires` here is a ``datetime`` like aiortc's, and
    :attr:`expires_ms` is the spec's milliseconds since the epoch.
    """

    def __init__(
        self,
        key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey,
        cert: x509.Certificate,
    ) -> None:
        self._key = key
        self._cert = cert
        self._cert_der = cert.public_bytes(serialization.Encoding.DER)
        self._key_der = key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        # The OpenSSL context per SRTP profile set, built on first use and
        # kept: every connection on this certificate shares it.
        self._ssl_contexts: dict[tuple[int, ...], object] = {}

    @classmethod
    def generateCertificate(
        cls,
        keygenAlgorithm: str | Mapping[str, Any] | None = None,
        expires: datetime.timedelta | float | None = None,
    ) -> Self:
        """Create a self-signed certificate and key.

        ``keygenAlgorithm``: None or ``"ECDSA"`` (P-256, the default), or
        ``{"name": "RSASSA-PKCS1-v1_5", "modulusLength": 2048,
        "publicExponent": 65537}``.  ``expires``: lifetime as a timedelta or
        milliseconds (webrtc-pc §4.9.1 ``expires`` in the algorithm
        dictionary is also read); default 30 days.
        """
        if expires is None and isinstance(keygenAlgorithm, Mapping):
            expires = keygenAlgorithm.get("expires")
        if expires is None:
            lifetime = DEFAULT_LIFETIME
        elif isinstance(expires, datetime.timedelta):
            lifetime = expires
        else:
            lifetime = datetime.timedelta(milliseconds=float(expires))
        if lifetime > MAX_LIFETIME:
            lifetime = MAX_LIFETIME
        key = _generate_key(keygenAlgorithm)
        name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, os.urandom(16).hex())])
        now = datetime.datetime.now(tz=datetime.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - BACKDATE)
            .not_valid_after(now + lifetime)
            .sign(key, hashes.SHA256())
        )
        return cls(key=key, cert=cert)

    @property
    def expires(self) -> datetime.datetime:
        """When the certificate stops being valid (aware UTC datetime, as aiortc)."""
        return self._cert.not_valid_after_utc

    @property
    def expires_ms(self) -> float:
        """webrtc-pc §4.9 ``expires``: milliseconds since 1970-01-01 UTC."""
        return self.expires.timestamp() * 1000.0

    def getFingerprints(self, algorithms: Iterable[str] = ("sha-256",)) -> list[RTCDtlsFingerprint]:
        """webrtc-pc §4.9 getFingerprints(): sha-256 by default; pass
        ``("sha-256", "sha-384", "sha-512")`` for more."""
        return [certificate_fingerprint(self._cert_der, a) for a in algorithms]

    @property
    def certificate_der(self) -> bytes:
        """The certificate, DER."""
        return self._cert_der

    @property
    def private_key_der(self) -> bytes:
        """The private key, unencrypted PKCS#8 DER (engine-internal use)."""
        return self._key_der

    def is_expired(self, now: datetime.datetime | None = None) -> bool:
        if now is None:
            now = datetime.datetime.now(tz=datetime.UTC)
        return now >= self.expires

    def check_valid(self, now: datetime.datetime | None = None) -> None:
        """Raise InvalidAccessError if the certificate has expired (webrtc-pc §4.4.1.1)."""
        if self.is_expired(now):
            raise InvalidAccessError(
                f"the certificate expired at {self.expires.isoformat()}; "
                "generate a new one with RTCCertificate.generateCertificate()"
            )

    def create_dtls_endpoint(
        self,
        role: Literal["client", "server"],
        remote_fingerprints: Iterable[RTCDtlsFingerprint | tuple[str, str]],
        srtp_profiles: Iterable[int] | None = None,
        *,
        mtu: int = 1200,
        initial_rto: float = 0.1,
    ) -> DtlsEndpoint:
        """A sans-IO DTLS endpoint using this certificate; refuses an expired one."""
        from rtcengine._core.dtls import DEFAULT_SRTP_PROFILES, DtlsEndpoint, ssl_context

        self.check_valid()
        profiles = (
            tuple(int(p) for p in srtp_profiles)
            if srtp_profiles is not None else DEFAULT_SRTP_PROFILES
        )
        if profiles not in self._ssl_contexts:
            # Held here, the endpoint below (and every later one) finds it
            # instead of building an SSL_CTX of its own.
            self._ssl_contexts[profiles] = ssl_context(self._cert_der, self._key_der, profiles)
        return DtlsEndpoint(
            self._cert_der,
            self._key_der,
            role,
            list(remote_fingerprints),
            profiles,
            mtu=mtu,
            initial_rto=initial_rto,
        )

    def __repr__(self) -> str:
        kind = "ECDSA" if isinstance(self._key, ec.EllipticCurvePrivateKey) else "RSA"
        return f"<RTCCertificate {kind} expires={self.expires.isoformat()}>"


_default: RTCCertificate | None = None
_default_lock = threading.Lock()


def default_certificate(now: datetime.datetime | None = None) -> RTCCertificate:
    """The certificate an ``RTCPeerConnection`` uses when its configuration
    names none: ECDSA P-256, made on first use and shared by the process's
    connections until it is within :data:`DEFAULT_RENEW_BEFORE` of expiring,
    then replaced (webrtc-pc §4.9.1 lifetime).

    Peers authenticate the DTLS certificate by its SDP fingerprint (RFC 8122
    §5, RFC 8827 §6.5), not by who else uses it, and webrtc-pc lets one
    certificate serve many connections (``RTCConfiguration.certificates``);
    servers and SFUs commonly keep one per process.  Sharing saves the key
    generation and the OpenSSL context per connection.  The fingerprint is
    then the same on every connection of the process (a stable identifier
    across them); pass
    ``RTCConfiguration(certificates=[RTCCertificate.generateCertificate()])``
    for one per connection."""
    global _default
    if now is None:
        now = datetime.datetime.now(tz=datetime.UTC)
    with _default_lock:
        cert = _default
        if cert is None or cert.expires - now < DEFAULT_RENEW_BEFORE:
            cert = _default = RTCCertificate.generateCertificate()
        return cert


__all__ = ["RTCCertificate", "RTCDtlsFingerprint", "certificate_fingerprint",
           "default_certificate"]
