"""RTCDataChannel (W3C webrtc-pc §6.2), aiortc-compatible, over a
:class:`~rtcengine.sctp_channels.DataChannelManager`.

Events (``channel.on(name, f)`` / ``@channel.on(name)``): ``open``,
``message`` (str or bytes), ``bufferedamountlow``, ``closing``, ``close``,
``error``.  :func:`dispatch` turns the manager's events into those; the
peer-connection layer (issue 6) calls it after each burst.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rtcengine.events import EventEmitter
from rtcengine.sctp_channels import ChannelEvent, ChannelState, DataChannelManager


class RTCDataChannel(EventEmitter):
    """One data channel; created by ``createDataChannel`` or announced by the
    ``datachannel`` event."""

    def __init__(self, manager: DataChannelManager, state: ChannelState) -> None:
        super().__init__()
        self._manager = manager
        self._state = state
        state.owner = self

    # W3C attributes, with aiortc's names.
    @property
    def label(self) -> str:
        return self._state.label

    @property
    def id(self) -> int | None:
        return self._state.id

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
        return self._manager.buffered_amount(self._state)

    @property
    def bufferedAmountLowThreshold(self) -> int:  # noqa: N802
        return self._state._threshold

    @bufferedAmountLowThreshold.setter
    def bufferedAmountLowThreshold(self, value: int) -> None:  # noqa: N802
        if not 0 <= value <= 0xFFFFFFFF:
            raise ValueError("bufferedAmountLowThreshold must be in range 0 - 4294967295")
        self._manager.set_buffered_amount_low_threshold(self._state, value)

    @property
    def transport(self) -> Any:
        return self._manager.association

    def send(self, data: str | bytes | bytearray | memoryview) -> None:
        """Send a string or binary message (InvalidStateError unless open)."""
        self._manager.send(self._state, data)

    def close(self) -> None:
        """Start the closing procedure (stream reset, RFC 8831 §6.7)."""
        self._manager.close(self._state)

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
        if name == "datachannel":
            continue
        channel.emit(name, *ev[2:])
