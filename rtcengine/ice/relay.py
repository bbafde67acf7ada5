"""The interface between the ICE driver and a TURN client (RFC 8656).

A relayed candidate (RFC 8445 §5.1.1.2) is produced by a :class:`RelayClient`.
The TURN client (``rtcengine/ice/turn.py``) implements it; the ICE driver
(``rtcengine/ice/driver.py``) is its only caller:

1. For every ``turn:``/``turns:`` URL of every configured ``IceServer`` the driver
   calls the factory (:class:`RelayClientFactory`) with the parsed URL (host,
   port, transport ``udp``/``tcp``/``tls``, username, credential) and a
   ``on_datagram(peer_addr, data)`` callback.  The client owns its own
   connection to the server (its own UDP socket, TCP stream or TLS stream).
2. ``await client.allocate()`` runs Allocate with long-term credentials
   (401/438 retries included) and returns the relayed transport address; the
   client keeps the allocation alive (Refresh) until :meth:`RelayClient.close`.
   It raises :class:`RelayError` on failure (the driver then skips the server).
   ``client.mapped_address`` is the XOR-MAPPED-ADDRESS the server saw (the
   driver uses it as the relay candidate's related address, RFC 8445 §5.1.1.2,
   and may add it as a server-reflexive candidate).
3. The driver adds the relay candidate to the agent under a socket key that is
   the client object itself.  When the agent transmits on that key, the driver
   calls ``client.add_permission(peer_addr)`` the first time it sees a peer
   address (the client runs CreatePermission, RFC 8656 §9, and may ChannelBind,
   RFC 8656 §12, and keeps both refreshed), then ``client.send_to(data,
   peer_addr)``; the client wraps it in a Send indication or ChannelData.  A
   datagram sent before the permission is installed may be queued or dropped:
   ICE retransmits its checks.
4. Incoming Data indications / ChannelData are unwrapped by the client and
   handed to ``on_datagram(peer_addr, data)``; the driver feeds them to the
   agent as if received on the relay candidate (``handle_datagram(client,
   peer_addr, data, now)``).  The callback may be called from the event loop
   thread only.
5. ``await client.close()`` deallocates (Refresh with LIFETIME 0) and closes the
   connection.  It must not raise.

The client may read the clock and own sockets (it is I/O code, like the
driver); nothing here is sans-IO.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from rtcengine.ice.config import IceServerUrl

Address = tuple[str, int]


class RelayError(Exception):
    """A TURN allocation could not be made (server unreachable, 4xx, timeout)."""


class RelayClient(Protocol):
    """A TURN allocation seen from the ICE driver (RFC 8656).  The object is
    the agent's socket key, so it must be hashable (identity hash is fine)."""

    def __hash__(self) -> int: ...

    @property
    def relayed_address(self) -> Address | None:
        """XOR-RELAYED-ADDRESS of the allocation, once allocated."""
        ...

    @property
    def mapped_address(self) -> Address | None:
        """XOR-MAPPED-ADDRESS of the Allocate response (our reflexive address)."""
        ...

    @property
    def transport(self) -> str:
        """How we reach the server: ``"udp"``, ``"tcp"`` or ``"tls"``."""
        ...

    async def allocate(self) -> Address:
        """Allocate (RFC 8656 §7); return the relayed address or raise RelayError."""
        ...

    def add_permission(self, peer: Address) -> None:
        """Install (and keep refreshing) a permission for ``peer``'s IP
        (RFC 8656 §9); idempotent, non-blocking."""
        ...

    def send_to(self, data: bytes, peer: Address) -> None:
        """Send ``data`` to ``peer`` through the relay (Send indication,
        RFC 8656 §11, or ChannelData, RFC 8656 §12.4); non-blocking."""
        ...

    async def close(self) -> None:
        """Deallocate and close the server connection; never raises."""
        ...


class RelayClientFactory(Protocol):
    """Makes one :class:`RelayClient` for one TURN URL."""

    def __call__(
        self,
        url: IceServerUrl,
        on_datagram: Callable[[Address, bytes], None],
    ) -> RelayClient: ...
