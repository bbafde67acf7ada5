"""``rtcengine demo``: a browser connects to the engine.

One asyncio HTTP server on 127.0.0.1 (stdlib only): ``GET /`` is the page,
``POST /offer`` takes the browser's offer (JSON ``{"type", "sdp"}``, with
its candidates: the page waits for ICE gathering) and returns the engine's
answer plus a session id, ``GET /stats/<id>`` returns a summary of
``RTCPeerConnection.getStats()``.  The engine echoes every message on the
``echo`` channel and counts what arrives on ``flood``; the page charts
throughput and round-trip time from the stats every half second.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from rtcengine.rtcpeerconnection import RTCPeerConnection
from rtcengine.rtcsessiondescription import RTCSessionDescription

__all__ = ["DemoServer", "serve"]

logger = logging.getLogger(__name__)

# Bodies above this are refused (an offer is a few kB).
MAX_BODY = 1 << 20


@dataclass
class _Session:
    pc: RTCPeerConnection
    created: float = field(default_factory=time.monotonic)
    echoed: int = 0
    flood_bytes: int = 0


def _summary(report: dict[str, Any], session: _Session) -> dict[str, Any]:
    """What the page charts: transport byte counters, RTTs, channels."""
    out: dict[str, Any] = {"time": time.time(), "echoed": session.echoed,
                           "floodBytes": session.flood_bytes,
                           "connectionState": session.pc.connectionState}
    for stats in report.values():
        if stats.type == "transport":
            out["bytesSent"] = stats.bytesSent
            out["bytesReceived"] = stats.bytesReceived
            pair = report.get(stats.selectedCandidatePairId or "")
            if pair is not None:
                out["iceRtt"] = pair.currentRoundTripTime
                local = report.get(pair.localCandidateId or "")
                remote = report.get(pair.remoteCandidateId or "")
                if local is not None and remote is not None:
                    out["pair"] = f"{local.address}:{local.port} <-> {remote.address}:{remote.port}"
        elif stats.type == "sctp-transport":
            out["sctpRtt"] = stats.smoothedRoundTripTime
        elif stats.type == "peer-connection":
            out["dataChannelsOpened"] = stats.dataChannelsOpened
    return out


class DemoServer:
    """The demo's HTTP server and its peer connections."""

    def __init__(self, host: str = "127.0.0.1", port: int = 8080) -> None:
        self.host = host
        self.port = port
        self.sessions: dict[str, _Session] = {}
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._client, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        sessions, self.sessions = self.sessions, {}
        for session in sessions.values():
            await session.pc.close()

    # ------------------------------------------------------------ HTTP

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError, ValueError):
                while True:
                    head = await reader.readuntil(b"\r\n\r\n")
                    lines = head.decode("latin-1").split("\r\n")
                    method, path, _ = lines[0].split(" ", 2)
                    headers = {}
                    for line in lines[1:]:
                        if ":" in line:
                            k, v = line.split(":", 1)
                            headers[k.strip().lower()] = v.strip()
                    length = int(headers.get("content-length", "0"))
                    if length > MAX_BODY:
                        await self._respond(writer, 413, "text/plain", b"too large")
                        return
                    body = await reader.readexactly(length) if length else b""
                    status, kind, payload = await self._route(method, path, body)
                    await self._respond(writer, status, kind, payload)
                    if headers.get("connection", "").lower() == "close":
                        return
        finally:
            writer.close()

    @staticmethod
    async def _respond(writer: asyncio.StreamWriter, status: int, kind: str, body: bytes) -> None:
        reason = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
                  413: "Payload Too Large", 500: "Internal Server Error"}.get(status, "")
        writer.write(
            f"HTTP/1.1 {status} {reason}\r\nContent-Type: {kind}\r\n"
            f"Content-Length: {len(body)}\r\nCache-Control: no-store\r\n\r\n".encode() + body
        )
        await writer.drain()

    async def _route(self, method: str, path: str, body: bytes) -> tuple[int, str, bytes]:
        path = path.split("?", 1)[0]
        if path in ("/", "/index.html"):
            if method != "GET":
                return 405, "text/plain", b"GET only"
            return 200, "text/html; charset=utf-8", PAGE.encode()
        if path == "/offer":
            if method != "POST":
                return 405, "text/plain", b"POST only"
            try:
                answer = await self._offer(json.loads(body))
            except Exception as exc:  # noqa: BLE001 - reported to the page
                logger.exception("offer failed")
                return 400, "application/json", json.dumps(
                    {"error": type(exc).__name__, "message": str(exc)}).encode()
            return 200, "application/json", json.dumps(answer).encode()
        if path.startswith("/stats/"):
            session = self.sessions.get(path[len("/stats/"):])
            if session is None:
                return 404, "text/plain", b"no such session"
            report = await session.pc.getStats()
            return 200, "application/json", json.dumps(_summary(report, session)).encode()
        return 404, "text/plain", b"not found"

    # ------------------------------------------------------------ WebRTC

    async def _offer(self, message: dict[str, Any]) -> dict[str, Any]:
        pc = RTCPeerConnection()
        session_id = secrets.token_hex(8)
        session = _Session(pc)
        self.sessions[session_id] = session

        @pc.on("datachannel")
        def on_datachannel(channel: Any) -> None:
            if channel.label == "flood":
                def count(data: str | bytes) -> None:
                    session.flood_bytes += len(data)

                channel.on("message", count)
            else:
                def echo(data: str | bytes) -> None:
                    session.echoed += 1
                    channel.send(data)

                channel.on("message", echo)

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            if pc.connectionState in ("failed", "closed"):
                self.sessions.pop(session_id, None)
                await pc.close()

        await pc.setRemoteDescription(
            RTCSessionDescription(sdp=message["sdp"], type=message["type"]))
        await pc.setLocalDescription()
        local = pc.localDescription
        assert local is not None
        return {"id": session_id, "type": local.type, "sdp": local.sdp}


async def serve(host: str = "127.0.0.1", port: int = 8080,
                ready: asyncio.Event | None = None) -> None:
    """Run the demo until cancelled."""
    server = DemoServer(host, port)
    await server.start()
    print(f"rtcengine demo: open {server.url} in a browser (Ctrl-C to stop)", flush=True)
    if ready is not None:
        ready.set()
    try:
        await asyncio.Event().wait()
    finally:
        await server.close()


PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>rtcengine demo</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2em; max-width: 60em; }
canvas { border: 1px solid #ccc; width: 100%; height: 180px; }
#log { font-family: monospace; white-space: pre; height: 8em; overflow-y: auto;
       border: 1px solid #eee; padding: .3em; }
.row { margin: .5em 0; }
</style></head>
<body>
<h1>rtcengine demo</h1>
<p>Your browser opens a data channel to the rtcengine WebRTC engine running in Python:
it echoes what you send; <em>Flood</em> streams 64 KiB messages. The charts come from the
engine's <code>getStats()</code>.</p>
<div class="row"><button id="connect">Connect</button>
 <span id="state">not connected</span></div>
<div class="row"><input id="text" value="hello rtcengine" size="40">
 <button id="send" disabled>Send</button>
 <button id="flood" disabled>Flood</button></div>
<div id="log"></div>
<h3>Throughput (MB/s, engine receive / send)</h3><canvas id="tput" width="800" height="180"></canvas>
<h3>Round-trip time (ms: ICE consent, SCTP)</h3><canvas id="rtt" width="800" height="180"></canvas>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
const demo = { pc: null, echo: null, flood: null, id: null, echoed: [], samples: [],
               flooding: false, stats: null };
window.demo = demo;
function log(text) { const l = $("log"); l.textContent += text + "\\n"; l.scrollTop = 1e9; }

async function connect() {
  $("connect").disabled = true;
  const pc = new RTCPeerConnection({ iceServers: [] });
  demo.pc = pc;
  pc.onconnectionstatechange = () => { $("state").textContent = pc.connectionState; };
  demo.echo = pc.createDataChannel("echo");
  demo.flood = pc.createDataChannel("flood", { ordered: true });
  demo.echo.onmessage = (e) => { demo.echoed.push(e.data); log("echo: " + e.data); };
  demo.echo.onopen = () => { $("send").disabled = false; $("flood").disabled = false;
                             log("data channel open"); };
  await pc.setLocalDescription();
  await new Promise((resolve) => {
    if (pc.iceGatheringState === "complete") return resolve();
    pc.onicegatheringstatechange = () => { if (pc.iceGatheringState === "complete") resolve(); };
  });
  const response = await fetch("/offer", { method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ type: pc.localDescription.type, sdp: pc.localDescription.sdp }) });
  const answer = await response.json();
  if (answer.error) { log("error: " + answer.message); return; }
  demo.id = answer.id;
  await pc.setRemoteDescription({ type: answer.type, sdp: answer.sdp });
  setInterval(poll, 500);
}

function send() { if (demo.echo && demo.echo.readyState === "open") demo.echo.send($("text").value); }

function flood() {
  demo.flooding = !demo.flooding;
  $("flood").textContent = demo.flooding ? "Stop" : "Flood";
  const chunk = new Uint8Array(65536);
  const ch = demo.flood;
  ch.bufferedAmountLowThreshold = 1 << 20;
  const pump = () => {
    while (demo.flooding && ch.readyState === "open" && ch.bufferedAmount < (4 << 20)) ch.send(chunk);
  };
  ch.onbufferedamountlow = pump;
  pump();
}

async function poll() {
  if (!demo.id) return;
  const response = await fetch("/stats/" + demo.id);
  if (!response.ok) return;
  const s = await response.json();
  demo.stats = s;
  const prev = demo.samples[demo.samples.length - 1];
  let rx = 0, tx = 0;
  if (prev) {
    const dt = s.time - prev.time;
    rx = (s.bytesReceived - prev.bytesReceived) / dt / 1e6;
    tx = (s.bytesSent - prev.bytesSent) / dt / 1e6;
  }
  demo.samples.push({ time: s.time, bytesReceived: s.bytesReceived || 0, bytesSent: s.bytesSent || 0,
                      rx, tx, iceRtt: (s.iceRtt || 0) * 1000, sctpRtt: (s.sctpRtt || 0) * 1000 });
  if (demo.samples.length > 120) demo.samples.shift();
  draw($("tput"), [["rx", "#1565c0"], ["tx", "#2e7d32"]]);
  draw($("rtt"), [["iceRtt", "#c62828"], ["sctpRtt", "#6a1b9a"]]);
  $("state").textContent = `${demo.pc.connectionState} - ${s.pair || ""} - engine echoed ${s.echoed}`;
}

function draw(canvas, series) {
  const ctx = canvas.getContext("2d"), w = canvas.width, h = canvas.height;
  ctx.clearRect(0, 0, w, h);
  let max = 1e-9;
  for (const [key] of series) for (const p of demo.samples) max = Math.max(max, p[key]);
  ctx.fillStyle = "#555"; ctx.fillText(max.toFixed(2), 4, 12);
  series.forEach(([key, color]) => {
    ctx.strokeStyle = color; ctx.beginPath();
    demo.samples.forEach((p, i) => {
      const x = (i / 119) * w, y = h - (p[key] / max) * (h - 16);
      if (i === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
    });
    ctx.stroke();
  });
}

$("connect").onclick = connect;
$("send").onclick = send;
$("flood").onclick = flood;
</script>
</body></html>
"""
