"""RTCDataChannel (W3C webrtc-pc §6.2), aiortc-compatible, over a
:class:`~rtcengine.sctp_channels.DataChannelManager`.

Events (``channel.on(name, f)`` / ``@channel.on(name)``): ``open``,
``message`` (str or bytes), ``bufferedamountlow``, ``closing``, ``close``,
``error``.  :func:`dispatch` turns the manager's events into those; the SCTP
transport calls it after each burst.

Two ways to make one:

* aiortc's: ``RTCDataChannel(sctp_transport, RTCDataChannelParameters(...))``
  (what ``RTCPeerConnection.createDataChannel`` does).  Before the SCTP
  transport has started the channel waits (``id`` is None until the DTLS
  role picks the parity, RFC 8832 §6); it is opened when the transport starts.
* over a bare manager: :func:`create_data_channel` (tests, custom drivers).

``open`` fires once the DATA_CHANNEL_OPEN is sent on an established
association, not when its ACK arrives (webrtc-pc §6.2, as Chromium): sending
from the ``open`` handler is fine, ordered messages follow the OPEN to the
peer.  Unordered messages wait for the ACK (RFC 8832 §6), counted in
``bufferedAmount`` meanwhile.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rtcengine.events import EventEmitter
from rtcengine.exceptions import InvalidStateError
from rtcengine.sctp_channels import ChannelEvent, ChannelState, DataChannelManager

__all__ = [
    "RTCDataChannel",
    "RTCDataChannelParameters",
    "create_data_channel",
    "dispatch",
]


class InvalidDataChannelParameters(TypeError, ValueError):
    """Bad createDataChannel arguments: TypeError in webrtc-pc §6.1, ValueError in aiortc."""


@dataclass
class RTCDataChannelParameters:
    """aiortc's RTCDataChannelParameters (webrtc-pc §6.2 RTCDataChannelInit)."""

    label: str = ""
    maxPacketLifeTime: int | None = None
    maxRetransmits: int | None = None
    ordered: bool = True
    protocol: str = ""
    negotiated: bool = False
    id: int | None = None


class RTCDataChannel(EventEmitter):
    """One data channel; created by ``createDataChannel`` or announced by the
    ``datachannel`` event."""

    def __init__(self, transport: Any, parameters: Any = None, send_open: bool = True) -> None:
        super().__init__()
        if isinstance(transport, DataChannelManager):
            # Internal form: (manager, ChannelState) of an existing channel.
            self._manager: DataChannelManager | None = transport
            self._state: ChannelState = parameters
            self._transport: Any = transport.transport
            parameters.owner = self
            return
        p: RTCDataChannelParameters = parameters or RTCDataChannelParameters()
        if p.maxPacketLifeTime is not None and p.maxRetransmits is not None:
            raise InvalidDataChannelParameters(
                "maxPacketLifeTime and maxRetransmits cannot both be set (webrtc-pc §6.1)")
        if p.negotiated and (p.id is None or not 0 <= p.id <= 65534):
            raise InvalidDataChannelParameters(
                "a negotiated data channel needs an id in 0..65534 (webrtc-pc §6.1)")
        if p.id is not None and not 0 <= p.id <= 65534:
            raise InvalidDataChannelParameters(f"data channel id must be 0..65534, got {p.id}")
        # Until the transport adopts it: a detached state, id -1 = not chosen yet.
        self._manager = None
        self._state = ChannelState(
            -1 if p.id is None else p.id, p.label, p.protocol, p.ordered, p.maxRetransmits,
            p.maxPacketLifeTime, p.negotiated, 0)
        self._state.owner = self
        self._transport = transport
        transport._data_channel_add(self)

    def _bind(self, manager: DataChannelManager, state: ChannelState) -> None:
        """The transport adopted the channel: from now on it is ``state``."""
        self._manager = manager
        self._state = state
        state.owner = self

    # W3C attributes, with aiortc's names.
    @property
    def label(self) -> str:
        return self._state.label

    @property
    def id(self) -> int | None:
        """The SCTP stream id, None until chosen (webrtc-pc §6.2)."""
        i = self._state.id
        return None if i < 0 else i

    @property
    def ordered(self) -> bool:
        return self._state.ordered

    @property
    def maxRetransmits(self) -> int | None:  # noqa: N802
        return self._state.max_retransmits

    @property
    def maxPacketLifeTime(self) -> int | None:  # noqa: N802
        return self._state.max_packet_lifetime

    @property
    def protocol(self) -> str:
        return self._state.protocol

    @property
    def negotiated(self) -> bool:
        return self._state.negotiated

    @property
    def readyState(self) -> str:  # noqa: N802
        return self._state.ready_state

    @property
    def bufferedAmount(self) -> int:  # noqa: N802
        m = self._manager
        return 0 if m is None else m.buffered_amount(self._state)

    @property
    def bufferedAmountLowThreshold(self) -> int:  # noqa: N802
        return self._state._threshold

    @bufferedAmountLowThreshold.setter
    def bufferedAmountLowThreshold(self, value: int) -> None:  # noqa: N802
        if not 0 <= value <= 0xFFFFFFFF:
            raise ValueError("bufferedAmountLowThreshold must be in range 0 - 4294967295")
        m = self._manager
        if m is None:
            self._state._threshold = value
        else:
            m.set_buffered_amount_low_threshold(self._state, value)

    @property
    def transport(self) -> Any:
        """The RTCSctpTransport (the association for a bare manager)."""
        if self._transport is not None:
            return self._transport
        m = self._manager
        assert m is not None
        return m.association

    def send(self, data: str | bytes | bytearray | memoryview) -> None:
        """Send a string or binary message (InvalidStateError unless open,
        TypeError above the peer's max-message-size)."""
        m = self._manager
        if m is None:
            raise InvalidStateError(f"data channel is {self._state.ready_state}")
        m.send(self._state, data)
        wake = m.wake
        if wake is not None:
            wake()

    def close(self) -> None:
        """Start the closing procedure (stream reset, RFC 8831 §6.7)."""
        m = self._manager
        if m is None:
            t = self._transport
            if t is not None and self._state.ready_state != "closed":
                t._data_channel_forget(self)
                self._state.ready_state = "closed"
                self.emit("close")
            return
        m.close(self._state)
        wake = m.wake
        if wake is not None:
            wake()

    def __repr__(self) -> str:
        return f"RTCDataChannel(id={self.id}, label={self.label!r}, {self.readyState})"


def create_data_channel(manager: DataChannelManager, label: str = "", *,
                        ordered: bool = True, maxPacketLifeTime: int | None = None,  # noqa: N803
                        maxRetransmits: int | None = None, protocol: str = "",  # noqa: N803
                        negotiated: bool = False, id: int | None = None) -> RTCDataChannel:
    """createDataChannel (W3C webrtc-pc §6.1) on a manager."""
    state = manager.create(label, ordered=ordered, max_retransmits=maxRetransmits,
                           max_packet_lifetime=maxPacketLifeTime, protocol=protocol,
                           negotiated=negotiated, id=id)
    return RTCDataChannel(manager, state)


def dispatch(manager: DataChannelManager, events: list[ChannelEvent],
             on_datachannel: Callable[[RTCDataChannel], None] | None = None) -> None:
    """Emit the manager's channel events on their RTCDataChannel objects;
    a channel the peer opened is announced through ``on_datachannel``."""
    for ev in events:
        name, state = ev[0], ev[1]
        channel = state.owner
        if channel is None:
            channel = RTCDataChannel(manager, state)
            if name == "datachannel" and on_datachannel is not None:
                on_datachannel(channel)
        if name == "message":
            channel.emit("message", ev[2])
        elif name != "datachannel":
            channel.emit(name, *ev[2:])
