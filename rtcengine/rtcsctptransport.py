"""RTCSctpTransport (W3C webrtc-pc §6.1.1, ORTC §13) with aiortc's Python
shape: data channels (RFC 8831/8832) over an SCTP association (RFC 9260)
carried in DTLS (RFC 8261).

The association is the sans-IO :class:`~rtcengine._core.sctp_association.Association`
and the channels are a :class:`~rtcengine.sctp_channels.DataChannelManager`.
This object is the :class:`~rtcengine.rtcdtlstransport.RTCDtlsTransport`'s
data receiver: the DTLS data path hands it each burst's records and asks it,
once per burst (or once per loop iteration after API calls), for the
packets to send; channel events are dispatched from there.  No task, future
or timer of its own.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from rtcengine._core.sctp_association import Association
from rtcengine.events import EventEmitter
from rtcengine.exceptions import InvalidStateError
from rtcengine.rtcdatachannel import RTCDataChannel, dispatch
from rtcengine.rtcdtlstransport import RTCDtlsTransport
from rtcengine.sctp_channels import DataChannelManager

__all__ = ["RTCSctpCapabilities", "RTCSctpTransport"]

logger = logging.getLogger(__name__)

# What we accept and advertise (RFC 8841 §6: a=max-message-size); the
# association reassembles up to this.
LOCAL_MAX_MESSAGE_SIZE = 262144
# RFC 8841 §6.1: without a=max-message-size, assume 64 KiB.
DEFAULT_REMOTE_MAX_MESSAGE_SIZE = 65536
# RFC 8841 §6.1: 0 means "any size"; bounded by what one process can hold.
UNLIMITED_MESSAGE_SIZE = 1 << 30
# RFC 8831 §6.2: 65535 streams each way.
MAX_STREAMS = 65535
# Our receive window (RFC 9260 §6.2 a_rwnd).  The bandwidth-delay product a
# bulk transfer needs: 4 MiB keeps 200 MB/s going at 20 ms of RTT (or of
# scheduling delay on a busy host).  The host sockets' kernel buffers match
# (rtcengine.ice.driver.HOST_SOCKET_BUFFER).
RECEIVE_WINDOW = 4 * 1024 * 1024
# stop(): how long the graceful SHUTDOWN (RFC 9260 §9.2) may take before ABORT.
SHUTDOWN_TIMEOUT = 1.0


@dataclass
class RTCSctpCapabilities:
    """ORTC RTCSctpCapabilities: the largest message this side accepts
    (0: any size)."""

    maxMessageSize: int


class RTCSctpTransport(EventEmitter):
    """The SCTP transport of a peer connection.

    Events: ``datachannel`` (an :class:`RTCDataChannel` the peer opened in
    band, RFC 8832), ``statechange``.
    """

    def __init__(self, transport: RTCDtlsTransport, port: int = 5000) -> None:
        if transport.state == "closed":
            raise InvalidStateError("the RTCDtlsTransport is closed")
        super().__init__()
        self.__transport = transport
        self._port = port
        self._remote_port: int | None = None
        self._state = "new"
        self._association: Association | None = None
        self._manager: DataChannelManager | None = None
        self._pending: list[RTCDataChannel] = []
        self._closed_waiters: list[asyncio.Future[None]] = []
        self._remote_max_message_size = DEFAULT_REMOTE_MAX_MESSAGE_SIZE
        # aiortc's peer connection reads/writes these.
        self._bundled = False
        self._outbound_streams_count = MAX_STREAMS
        self.mid: str | None = None

    # ------------------------------------------------------------ attributes

    @property
    def transport(self) -> RTCDtlsTransport:
        """The :class:`RTCDtlsTransport` carrying the association."""
        return self.__transport

    @property
    def port(self) -> int:
        """The local SCTP port (RFC 8841 a=sctp-port)."""
        return self._port

    @property
    def state(self) -> str:
        """webrtc-pc §6.1.1 RTCSctpTransportState (``connecting``,
        ``connected``, ``closed``), ``new`` before start as in aiortc."""
        return self._state

    @property
    def is_server(self) -> bool:
        """RFC 8832 §6 ties the channel-id parity to the DTLS role."""
        return self.__transport.role == "server"

    @property
    def maxChannels(self) -> int | None:  # noqa: N802
        """webrtc-pc §6.1.1: None until connected, then the stream count."""
        return MAX_STREAMS if self._state == "connected" else None

    @property
    def maxMessageSize(self) -> float:  # noqa: N802
        """webrtc-pc §6.1.1.2: the largest message ``send()`` accepts (the
        peer's max-message-size)."""
        return self._remote_max_message_size

    @classmethod
    def getCapabilities(cls) -> RTCSctpCapabilities:  # noqa: N802
        return RTCSctpCapabilities(maxMessageSize=LOCAL_MAX_MESSAGE_SIZE)

    def setTransport(self, transport: RTCDtlsTransport) -> None:  # noqa: N802
        """Move onto another DTLS transport (BUNDLE); only before start."""
        if self._association is not None:
            raise InvalidStateError("cannot change the DTLS transport after start()")
        self.__transport = transport

    # ------------------------------------------------------------ start / stop

    async def start(self, remoteCaps: RTCSctpCapabilities | None,  # noqa: N803
                    remotePort: int) -> None:  # noqa: N803
        """Start the association with the peer's port (a=sctp-port) and
        capabilities (a=max-message-size).  The DTLS client sends INIT
        (RFC 8841 §9.3: the DTLS roles decide); the DTLS server waits for
        it.  Returns without waiting for the association (channels open
        when it is up); a second call does nothing (as aiortc)."""
        if self._state == "closed":
            raise InvalidStateError("RTCSctpTransport is closed")
        if self._association is not None:
            return
        dtls = self.__transport
        if dtls.state == "connecting":
            await dtls._wait_settled()
        self._start_now(remoteCaps, remotePort)

    def _start_now(self, remoteCaps: RTCSctpCapabilities | None,  # noqa: N803
                   remotePort: int) -> None:  # noqa: N803
        """:meth:`start` on a connected DTLS transport, synchronously: the
        peer connection calls it from the DTLS ``connected`` state change, so
        the INIT (RFC 8841 §9.3, RFC 9260 §5.1) leaves with the data path's
        flush of that same input instead of a few loop iterations later."""
        if self._state == "closed":
            raise InvalidStateError("RTCSctpTransport is closed")
        if self._association is not None:
            return
        dtls = self.__transport
        if dtls.state != "connected":
            raise InvalidStateError(f"the RTCDtlsTransport is {dtls.state}")
        now = asyncio.get_running_loop().time()
        client = dtls.role == "client"
        if remoteCaps is not None:
            size = remoteCaps.maxMessageSize
            self._remote_max_message_size = UNLIMITED_MESSAGE_SIZE if size == 0 else size
        self._remote_port = remotePort
        assoc = Association(self._port, remotePort, client,
                            max_message_size=LOCAL_MAX_MESSAGE_SIZE, rwnd=RECEIVE_WINDOW,
                            now=now)
        assoc.remote_max_message_size = self._remote_max_message_size
        manager = DataChannelManager(assoc, dtls_client=client)
        manager.transport = self
        manager.wake = dtls._request_flush
        self._association = assoc
        self._manager = manager
        self._set_state("connecting")
        if client:
            assoc.connect(now)
        pending, self._pending = self._pending, []
        for channel in pending:
            self._adopt(channel)
        dtls._register_data_receiver(self)
        dtls._request_flush()

    async def stop(self) -> None:
        """Close gracefully (SHUTDOWN, RFC 9260 §9.2; ABORT if the peer does
        not answer in time); every channel ends ``closed``."""
        if self._state == "closed":
            return
        assoc = self._association
        dtls = self.__transport
        if (assoc is not None and dtls.state == "connected" and assoc.state != "CLOSED"
                and dtls.transport.state in ("connected", "completed")):
            loop = asyncio.get_running_loop()
            assoc.shutdown(loop.time())
            dtls._request_flush()
            fut = loop.create_future()
            self._closed_waiters.append(fut)
            try:
                await asyncio.wait_for(fut, SHUTDOWN_TIMEOUT)
            except TimeoutError:
                # RFC 9260 §9.1: give up and ABORT.
                assoc.abort()
                if dtls.state == "connected":
                    dtls._flush(loop.time())
        elif assoc is not None and assoc.state != "CLOSED":
            # No path to the peer (ICE down): ABORT what is left, locally.
            assoc.abort()
            if dtls.state == "connected":
                dtls._flush(asyncio.get_running_loop().time())
        self._finish()

    def _finish(self) -> None:
        """Everything closed, listeners told, the DTLS transport released."""
        if self._state == "closed":
            return
        manager = self._manager
        if manager is not None:
            manager.close_all()
            dispatch(manager, manager.poll(), self._announce)
            manager.wake = None
        for channel in self._pending:
            channel._state.ready_state = "closed"
            channel.emit("close")
        self._pending = []
        self.__transport._unregister_data_receiver(self)
        self._set_state("closed")

    # ------------------------------------------------------------ channels (aiortc hooks)

    def _data_channel_add(self, channel: RTCDataChannel) -> None:
        """A channel created with ``RTCDataChannel(transport, parameters)``."""
        if self._state == "closed":
            raise InvalidStateError("RTCSctpTransport is closed")
        if self._manager is None:
            wanted = channel._state.id
            if wanted >= 0 and any(c._state.id == wanted for c in self._pending):
                raise InvalidStateError(f"data channel id {wanted} is in use")
            self._pending.append(channel)
        else:
            self._adopt(channel)
            self.__transport._request_flush()

    def _data_channel_forget(self, channel: RTCDataChannel) -> None:
        if channel in self._pending:
            self._pending.remove(channel)

    def _adopt(self, channel: RTCDataChannel) -> None:
        manager = self._manager
        assert manager is not None
        s = channel._state
        state = manager.create(
            s.label, ordered=s.ordered, max_retransmits=s.max_retransmits,
            max_packet_lifetime=s.max_packet_lifetime, protocol=s.protocol,
            negotiated=s.negotiated, id=None if s.id < 0 else s.id)
        state._threshold = s._threshold
        channel._bind(manager, state)
        if s._threshold:
            manager.set_buffered_amount_low_threshold(state, s._threshold)

    def _announce(self, channel: RTCDataChannel) -> None:
        channel._transport = self
        self.emit("datachannel", channel)

    # ------------------------------------------------------------ data path (DataReceiver)

    def _handle_records(self, records: list[bytes], now: float) -> None:
        assoc = self._association
        if assoc is None:
            return
        handle = assoc.handle_packet
        for record in records:
            handle(record, now)

    def _poll(self, now: float) -> list[bytes]:
        """Dispatch the association's events, then return its packets."""
        assoc = self._association
        manager = self._manager
        if assoc is None or manager is None:
            return []
        events = manager.poll()
        if events:
            dispatch(manager, events, self._announce)
        packets = assoc.poll_transmits(now)
        if packets:
            # Sending may have crossed a bufferedAmountLowThreshold.
            events = manager.poll()
            if events:
                dispatch(manager, events, self._announce)
        if self._state != "connected":
            self._check_state()
        elif not assoc.is_established:
            self._check_state()
        return packets

    def next_deadline(self) -> float | None:
        assoc = self._association
        return assoc.next_deadline() if assoc is not None else None

    def handle_timeout(self, now: float) -> None:
        assoc = self._association
        if assoc is not None:
            assoc.handle_timeout(now)

    def _transport_closed(self) -> None:
        """The DTLS transport closed or failed under us."""
        assoc = self._association
        if assoc is not None and assoc.state != "CLOSED":
            assoc.abort("DTLS transport closed")
            assoc.poll_transmits()  # nowhere to send them
        self._finish()
        self._wake_closed()

    def _check_state(self) -> None:
        assoc = self._association
        assert assoc is not None
        if assoc.is_established or assoc.state.startswith("SHUTDOWN"):
            if self._state == "connecting":
                self._set_state("connected")
        elif assoc.state == "CLOSED" and assoc.close_reason is not None:
            # RFC 9260 §9: the association is gone (SHUTDOWN done or ABORT).
            self._finish()
            self._wake_closed()

    def _wake_closed(self) -> None:
        waiters, self._closed_waiters = self._closed_waiters, []
        for fut in waiters:
            if not fut.done():
                fut.set_result(None)

    def _set_state(self, state: str) -> None:
        if state != self._state:
            logger.debug("RTCSctpTransport %s -> %s", self._state, state)
            self._state = state
            self.emit("statechange")

    # ------------------------------------------------------------ stats

    def _get_stats(self) -> list[dict[str, Any]]:
        """webrtc-stats ``data-channel`` objects (RTCDataChannelStats) and
        the association's counters (``sctp-transport``, non-standard extras)."""
        out: list[dict[str, Any]] = []
        manager = self._manager
        channels = list(manager.channels.values()) if manager is not None else []
        for s in channels:
            out.append({
                "id": f"D{s.id}",
                "type": "data-channel",
                "label": s.label,
                "protocol": s.protocol,
                "dataChannelIdentifier": s.id,
                "state": s.ready_state,
                "messagesSent": s.messages_sent,
                "bytesSent": s.bytes_sent,
                "messagesReceived": s.messages_received,
                "bytesReceived": s.bytes_received,
            })
        assoc = self._association
        if assoc is not None:
            st = assoc.stats
            srtt = st.get("srtt")
            out.append({
                "id": "SCTP",
                "type": "sctp-transport",
                "transportId": self.__transport._stats_id,
                "state": self._state,
                "smoothedRoundTripTime": srtt,
                "congestionWindow": st.get("cwnd"),
                "receiverWindow": st.get("rwnd"),
                "association": st,
            })
        return out
