"""A fake TransportSet for unit tests of RTCPeerConnection's signaling (no network)."""

from __future__ import annotations

import asyncio
from typing import Any

from rtcengine import jsep
from rtcengine.events import EventEmitter
from rtcengine.ice.candidate import Candidate
from rtcengine.rtcpeerconnection import RTCPeerConnection


class FakeChannel(EventEmitter):
    def __init__(self, label: str, **options: Any) -> None:
        super().__init__()
        self.label = label
        self.options = options
        self.readyState = "connecting"


class FakeTransports:
    """Gathers one host candidate at once; 'connects' by recording the call."""

    instances: list[FakeTransports] = []

    def __init__(self, pc: RTCPeerConnection, ufrag: str, pwd: str) -> None:
        self.pc = pc
        self.ufrag, self.pwd = ufrag, pwd
        self.ice_gatherer: Any = None
        self.ice_transport: Any = None
        self.dtls_transport: Any = None
        self.gathering_state = "new"
        self.ice_state = "new"
        self.dtls_state = "new"
        self.candidates: list[Candidate] = []
        self.remote_candidates: list[Candidate | None] = []
        self.controlling: bool | None = None
        self.connected: list[tuple[jsep.RemoteTransportParameters, str]] = []
        self.sctp: Any = None
        self.sctp_started: list[jsep.RemoteSctpParameters] = []
        self.channels: list[FakeChannel] = []
        self.restarts: list[tuple[str, str]] = []
        self.closed = False
        self.port = 50000 + len(FakeTransports.instances)
        FakeTransports.instances.append(self)

    def local_candidates(self) -> list[Candidate]:
        return list(self.candidates)

    async def gather(self) -> None:
        if self.gathering_state == "complete":
            return
        self.gathering_state = "gathering"
        self.pc._on_transport_state()
        await asyncio.sleep(0)
        c = Candidate.from_sdp(f"candidate:1 1 udp 2130706431 127.0.0.1 {self.port} typ host")
        self.candidates.append(c)
        self.pc._on_local_candidate(c)
        self.gathering_state = "complete"
        self.pc._on_local_candidate(None)
        self.pc._on_transport_state()

    def set_ice_role(self, controlling: bool) -> None:
        self.controlling = controlling

    async def add_remote_candidate(self, candidate: Candidate | None) -> None:
        self.remote_candidates.append(candidate)

    async def connect(self, remote: jsep.RemoteTransportParameters, dtls_role: str) -> None:
        self.connected.append((remote, dtls_role))

    def set_states(self, ice: str, dtls: str) -> None:
        self.ice_state, self.dtls_state = ice, dtls
        self.pc._on_transport_state()

    def restart_ice(self) -> tuple[str, str]:
        self.ufrag, self.pwd = f"r{len(self.restarts)}uf", f"restartpassword{len(self.restarts):08d}"
        self.restarts.append((self.ufrag, self.pwd))
        return self.ufrag, self.pwd

    def ensure_sctp(self) -> Any:
        if self.sctp is None:
            self.sctp = object()
        return self.sctp

    def create_data_channel(self, label: str, **options: Any) -> FakeChannel:
        ch = FakeChannel(label, **options)
        self.channels.append(ch)
        return ch

    def start_sctp(self, remote: jsep.RemoteSctpParameters) -> None:
        self.sctp_started.append(remote)

    async def close(self) -> None:
        self.closed = True
        self.ice_state = "closed"
        self.dtls_state = "closed"


class FakePeerConnection(RTCPeerConnection):
    transport_factory = FakeTransports
