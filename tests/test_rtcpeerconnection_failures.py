"""Failure paths (issue 6): a wrong DTLS fingerprint ends in "failed"; a
peer that vanishes goes "disconnected" then "failed" within the consent
timeout (short timers here, RFC 7675); malformed SDP is covered by
tests/test_rtcpeerconnection.py."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from rtcengine import RTCCertificate, RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from rtcengine.contrib.signaling import TcpSocketSignaling
from tests.pc_helpers import wait_for

ROOT = Path(__file__).resolve().parent.parent


def test_wrong_fingerprint_fails() -> None:
    async def main() -> None:
        a, b = RTCPeerConnection(), RTCPeerConnection()
        states: list[str] = []
        a.on("connectionstatechange", lambda: states.append(a.connectionState))
        channel = a.createDataChannel("x")
        await a.setLocalDescription()
        assert a.localDescription is not None
        await b.setRemoteDescription(a.localDescription)
        await b.setLocalDescription()
        assert b.localDescription is not None
        other = RTCCertificate.generateCertificate().getFingerprints()[0].value
        sdp = re.sub(r"a=fingerprint:sha-256 \S+", f"a=fingerprint:sha-256 {other}",
                     b.localDescription.sdp)
        await a.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))
        await wait_for(lambda: a.connectionState == "failed", timeout=10)
        assert "connected" not in states
        assert channel.readyState != "open"
        t = a._transports
        assert t is not None and t.dtls_transport.failureReason == "fingerprint-failure"
        await a.close()
        await b.close()

    asyncio.run(asyncio.wait_for(main(), 30))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def test_peer_vanishes_disconnected_then_failed() -> None:
    port = _free_port()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    child = subprocess.Popen([sys.executable, "-m", "tests.pc_vanish_peer", str(port)],
                             cwd=ROOT, env=env)

    async def main() -> None:
        # RFC 7675 consent timers, shortened: checks every 0.2 s, disconnected
        # after 0.6 s without a response, failed after 1.5 s.
        config = RTCConfiguration(extra={"consent_interval": 0.2, "disconnected_timeout": 0.6,
                                         "consent_timeout": 1.5})
        pc = RTCPeerConnection(config)
        states: list[tuple[float, str]] = []
        pc.on("connectionstatechange", lambda: states.append((time.monotonic(),
                                                              pc.connectionState)))
        channel = pc.createDataChannel("echo")
        opened = asyncio.Event()
        echoed: asyncio.Queue[object] = asyncio.Queue()
        channel.on("open", opened.set)
        channel.on("message", echoed.put_nowait)
        signaling = TcpSocketSignaling("127.0.0.1", port)
        await pc.setLocalDescription()
        await signaling.send(pc.localDescription)
        answer = await signaling.receive()
        assert isinstance(answer, RTCSessionDescription)
        await pc.setRemoteDescription(answer)
        await asyncio.wait_for(opened.wait(), 15)
        channel.send("ping")
        assert await asyncio.wait_for(echoed.get(), 5) == "ping"
        assert pc.connectionState == "connected"
        child.send_signal(signal.SIGKILL)  # no close_notify, no SCTP ABORT: it just vanishes
        killed = time.monotonic()
        await wait_for(lambda: pc.connectionState == "failed", timeout=10)
        names = [s for _, s in states]
        assert names[-2:] == ["disconnected", "failed"], names
        failed_at = states[-1][0]
        assert failed_at - killed < 1.5 + 1.0  # within the consent timeout (+ slack)
        await pc.close()
        await signaling.close()

    try:
        asyncio.run(asyncio.wait_for(main(), 40))
    finally:
        child.kill()
        child.wait(10)
