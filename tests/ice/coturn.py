"""Start a real coturn ``turnserver`` on 127.0.0.1 for the TURN interop tests.

The config, a self-signed TLS certificate (made with ``cryptography``) and the
log live in a temporary directory; ports are picked free at start.  One user
with the long-term credential mechanism; loopback peers allowed (both ends of
the tests live on 127.0.0.1).  :func:`coturn_server` is a context manager that
stops the server (and waits for it) on exit.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

USER = "rtcengine"
PASSWORD = "relay-me"
REALM = "rtcengine.test"

TURNSERVER = shutil.which("turnserver")
SKIP_REASON = "coturn's turnserver is not installed (apt-get install coturn)"


@dataclass(frozen=True)
class Coturn:
    host: str
    port: int  # UDP and TCP
    tls_port: int
    cafile: str  # the self-signed certificate, to verify the server with
    log: Path

    def url(self, transport: str) -> str:
        if transport == "tls":
            return f"turns:{self.host}:{self.tls_port}?transport=tcp"
        return f"turn:{self.host}:{self.port}?transport={transport}"

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def _free_port() -> int:
    """A port free for both UDP and TCP on 127.0.0.1."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
            t.bind(("127.0.0.1", 0))
            port = int(t.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
                try:
                    u.bind(("127.0.0.1", port))
                except OSError:
                    continue
            return port
    raise RuntimeError("no free port for coturn")


def make_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed ECDSA certificate for 127.0.0.1 / localhost."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path = directory / "cert.pem"
    key_path = directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def _listening(port: int, timeout: float = 0.2) -> bool:
    with contextlib.suppress(OSError):
        with socket.create_connection(("127.0.0.1", port), timeout=timeout):
            return True
    return False


@contextlib.contextmanager
def coturn_server(directory: Path, start_timeout: float = 10.0) -> Iterator[Coturn]:
    if TURNSERVER is None:
        raise RuntimeError(SKIP_REASON)
    cert, key = make_certificate(directory)
    port, tls_port = _free_port(), _free_port()
    while tls_port == port:
        tls_port = _free_port()
    relay_min = 40000 + (port % 20000)
    log = directory / "turnserver.log"
    conf = directory / "turnserver.conf"
    conf.write_text(
        "\n".join(
            [
                "listening-ip=127.0.0.1",
                "relay-ip=127.0.0.1",
                f"listening-port={port}",
                f"tls-listening-port={tls_port}",
                # No alt-ports (port + 1), no DTLS listener: only what we test.
                f"alt-listening-port={0}",
                f"alt-tls-listening-port={0}",
                "no-dtls",
                f"min-port={relay_min}",
                f"max-port={relay_min + 500}",
                "lt-cred-mech",
                f"user={USER}:{PASSWORD}",
                f"realm={REALM}",
                "fingerprint",
                f"cert={cert}",
                f"pkey={key}",
                # Both TURN clients and their peers are on 127.0.0.1.
                "allow-loopback-peers",
                "no-cli",
                "no-rfc5780",
                f"userdb={directory / 'turndb'}",
                f"pidfile={directory / 'turnserver.pid'}",
                f"log-file={log}",
                "simple-log",
                "no-stdout-log",
                "verbose",
                "",
            ]
        )
    )
    proc = subprocess.Popen(
        [TURNSERVER, "-c", str(conf)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    server = Coturn("127.0.0.1", port, tls_port, str(cert), log)
    try:
        deadline = time.monotonic() + start_timeout
        while not (_listening(port) and _listening(tls_port)):
            if proc.poll() is not None:
                raise RuntimeError(
                    f"turnserver exited with {proc.returncode}:\n{server.log_tail()}"
                )
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"turnserver did not listen in {start_timeout} s:\n{server.log_tail()}"
                )
            time.sleep(0.05)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
