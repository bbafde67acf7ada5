"""RTCPeerConnection's transports: the ORTC ICE, DTLS and SCTP objects
behind :class:`rtcengine.rtcpeerconnection.TransportSet`.

Max-bundle (RFC 8843, RFC 8829 §4.1.1): one RTCIceGatherer, RTCIceTransport,
RTCDtlsTransport and (once data channels are wanted) RTCSctpTransport per
peer connection, used the way aiortc's peer connection uses its ORTC
objects: ``iceTransport.start(remote ICE parameters)``, then
``dtlsTransport.start(remote fingerprints)`` with the role from a=setup,
then ``sctpTransport.start(remote capabilities, remote port)``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from typing import TYPE_CHECKING, Any

from rtcengine import jsep
from rtcengine.ice.candidate import Candidate
from rtcengine.ice.config import IceConfig
from rtcengine.rtccertificate import RTCDtlsFingerprint
from rtcengine.rtcconfiguration import ice_servers
from rtcengine.rtcdatachannel import RTCDataChannel, RTCDataChannelParameters
from rtcengine.rtcdtlstransport import RTCDtlsParameters, RTCDtlsTransport
from rtcengine.rtcicetransport import RTCIceGatherer, RTCIceParameters, RTCIceTransport
from rtcengine.rtcsctptransport import RTCSctpCapabilities, RTCSctpTransport

if TYPE_CHECKING:
    from rtcengine.rtcpeerconnection import RTCPeerConnection

__all__ = ["OrtcTransports", "create_transport_set"]

logger = logging.getLogger(__name__)

_ICE_CONFIG_FIELDS = frozenset(f.name for f in dataclasses.fields(IceConfig))


class OrtcTransports:
    """One ICE + DTLS (+ SCTP) stack for a peer connection."""

    def __init__(self, pc: RTCPeerConnection, ufrag: str, pwd: str) -> None:
        config = pc._config
        policy = "relay" if str(
            getattr(config.iceTransportPolicy, "value", config.iceTransportPolicy)
        ) == "relay" else "all"
        ice = IceConfig(iceServers=ice_servers(config.iceServers),
                        iceTransportPolicy="relay" if policy == "relay" else "all")
        agent_options: dict[str, Any] = {}
        # RTCConfiguration.extra: IceConfig knobs and IceAgent options (timers).
        for key, value in config.extra.items():
            if key in _ICE_CONFIG_FIELDS:
                setattr(ice, key, value)
            else:
                agent_options[key] = value
        self._pc = pc
        self.ice_gatherer = RTCIceGatherer(
            iceTransportPolicy=policy, local_username=ufrag, local_password=pwd,
            config=ice, **agent_options,
        )
        self.ice_transport = RTCIceTransport(self.ice_gatherer)
        self.dtls_transport = RTCDtlsTransport(self.ice_transport, pc._certificates)
        self.sctp: RTCSctpTransport | None = None
        self._sctp_task: asyncio.Task[None] | None = None
        self._gather_task: asyncio.Future[None] | None = None
        self.ice_gatherer.on("icecandidate", pc._on_local_candidate)
        self.ice_gatherer.on("statechange", pc._on_transport_state)
        self.ice_transport.on("statechange", pc._on_transport_state)
        self.dtls_transport.on("statechange", pc._on_transport_state)

    # ------------------------------------------------------------ states

    @property
    def gathering_state(self) -> str:
        state: str = self.ice_gatherer.state
        return "complete" if state == "closed" else state

    @property
    def ice_state(self) -> str:
        return self.ice_transport.state

    @property
    def dtls_state(self) -> str:
        return self.dtls_transport.state

    # ------------------------------------------------------------ ICE

    def local_candidates(self) -> list[Candidate]:
        return list(self.ice_gatherer.getLocalCandidates())

    async def gather(self) -> None:
        if self.ice_gatherer.state in ("complete", "closed"):
            return
        # One gathering for all callers (setLocalDescription, pool prefetch).
        if self._gather_task is None or self._gather_task.done():
            self._gather_task = asyncio.ensure_future(self.ice_gatherer.gather())
        await asyncio.shield(self._gather_task)

    def set_ice_role(self, controlling: bool) -> None:
        self.ice_transport.role = "controlling" if controlling else "controlled"

    async def add_remote_candidate(self, candidate: Candidate | None) -> None:
        await self.ice_transport.addRemoteCandidate(candidate)

    def restart_ice(self) -> tuple[str, str]:
        self.ice_transport.restart()
        params = self.ice_gatherer.getLocalParameters()
        assert params.usernameFragment is not None and params.password is not None
        return params.usernameFragment, params.password

    async def connect(self, remote: jsep.RemoteTransportParameters, dtls_role: str) -> None:
        """ICE with the remote credentials (again after an ICE restart), then
        the DTLS handshake once (RFC 8842: role from a=setup)."""
        dtls = self.dtls_transport
        if dtls.state == "new":
            dtls._set_role(dtls_role)
        ice_start = self.ice_transport.start(
            RTCIceParameters(remote.ice_ufrag, remote.ice_pwd, remote.ice_lite)
        )
        if dtls.state != "new":
            await ice_start
            return
        fingerprints = [RTCDtlsFingerprint(f.algorithm, f.value) for f in remote.fingerprints]

        def on_dtls_state() -> None:
            # RFC 8841 §9.3: SCTP starts once DTLS is up.  Started from the
            # state change itself, the data path flushes the INIT with the
            # input that finished the handshake (no task hops).
            if dtls.state != "connecting":
                dtls.remove_listener("statechange", on_dtls_state)
            if dtls.state == "connected":
                self._pc._maybe_start_sctp()

        dtls.on("statechange", on_dtls_state)
        # The DTLS transport waits for ICE itself: run both, so the handshake
        # starts the moment ICE has a usable pair.
        await asyncio.gather(
            ice_start,
            dtls.start(RTCDtlsParameters(fingerprints=fingerprints, role="auto")),
        )

    # ------------------------------------------------------------ SCTP

    def ensure_sctp(self) -> RTCSctpTransport:
        if self.sctp is None:
            self.sctp = RTCSctpTransport(self.dtls_transport)
            self.sctp.on("datachannel", self._pc._on_remote_datachannel)
        return self.sctp

    def create_data_channel(self, label: str, **options: Any) -> RTCDataChannel:
        sctp = self.ensure_sctp()
        return RTCDataChannel(sctp, RTCDataChannelParameters(label=label, **options))

    def start_sctp(self, remote: jsep.RemoteSctpParameters) -> None:
        sctp = self.sctp
        if sctp is None or self._sctp_task is not None or sctp._association is not None:
            return
        if self.dtls_transport.state == "connected" and sctp.state == "new":
            # DTLS is up: start now, synchronously (see connect()).
            try:
                sctp._start_now(RTCSctpCapabilities(remote.max_message_size), remote.port)
            except Exception as exc:  # noqa: BLE001 - the DTLS failure is the state
                logger.debug("SCTP start: %r", exc)
            return

        async def start() -> None:
            try:
                await sctp.start(RTCSctpCapabilities(remote.max_message_size), remote.port)
            except Exception as exc:  # noqa: BLE001 - the DTLS failure is the state
                logger.debug("SCTP start: %r", exc)

        self._sctp_task = asyncio.ensure_future(start())

    # ------------------------------------------------------------ close

    async def close(self) -> None:
        if self._sctp_task is not None and not self._sctp_task.done():
            self._sctp_task.cancel()
            await asyncio.gather(self._sctp_task, return_exceptions=True)
        if self._gather_task is not None and not self._gather_task.done():
            self._gather_task.cancel()
            await asyncio.gather(self._gather_task, return_exceptions=True)
        if self.sctp is not None:
            await self.sctp.stop()
        await self.dtls_transport.stop()
        await self.ice_transport.stop()
        await self.ice_gatherer.close()


def create_transport_set(pc: RTCPeerConnection, ufrag: str, pwd: str) -> OrtcTransports:
    return OrtcTransports(pc, ufrag, pwd)
