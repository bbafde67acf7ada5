"""RTCDtlsTransport (W3C webrtc-pc §5.5, ORTC §5) with aiortc's Python shape,
and the connection's data path.

The data path (one per connection, no task and no future per packet)::

    UDP burst (recvmmsg, RFC 7983 kinds)          IceDriver._on_burst
      -> validated datagrams of the burst          DataSink.handle_data_burst
      -> DtlsEndpoint.handle_datagram (each)       decrypt in C
      -> DtlsEndpoint.recv_all() (once)            the burst's records
      -> receiver._handle_records(records)         SCTP Association.handle_packet
      -> flush (once per burst):
           DtlsEndpoint.poll_datagrams()           handshake / alerts first
           receiver._poll(now)                     events -> data channels,
                                                   then Association.poll_transmits()
           DtlsEndpoint.send_record (each)         encrypt in C
           IceDriver.send_many                     queued on the UDP endpoint,
                                                   sent by sendmmsg once per
                                                   loop iteration

API calls (``RTCDataChannel.send``) only queue in the association and ask for
one flush per loop iteration (``_request_flush``).  Timers: this transport is
the :class:`~rtcengine.ice.driver.DataSink` of the ICE driver, so the
driver's single loop timer covers ICE, DTLS retransmission (RFC 6347 §4.2.4)
and the SCTP timers (``next_deadline`` is the earliest of them).

The receiver (``RTCSctpTransport``) provides ``_handle_records(records, now)``,
``_poll(now) -> list[bytes]`` (packets to encrypt and send),
``next_deadline()``, ``handle_timeout(now)`` and ``_transport_closed()``.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from rtcengine.events import EventEmitter
from rtcengine.exceptions import InvalidAccessError, InvalidStateError, OperationError
from rtcengine.rtccertificate import RTCCertificate, RTCDtlsFingerprint, certificate_fingerprint
from rtcengine.rtcicetransport import RTCIceTransport

if TYPE_CHECKING:
    from rtcengine._core.dtls import DtlsEndpoint
    from rtcengine._core.srtp import SrtpSession

__all__ = ["RTCDtlsFingerprint", "RTCDtlsParameters", "RTCDtlsTransport", "RTCError"]

logger = logging.getLogger(__name__)

# Datagrams kept while nothing can take them yet: DTLS before start() (the
# peer's ClientHello may come first) and records before the SCTP transport
# starts (the peer's INIT may come first).  More are dropped; the peer
# retransmits.
MAX_EARLY = 64


@dataclass
class RTCDtlsParameters:
    """ORTC RTCDtlsParameters: the certificate fingerprints (RFC 8122) and the
    role (``auto``, ``client``, ``server``; SDP a=setup, RFC 4145/5763)."""

    fingerprints: list[RTCDtlsFingerprint] = field(default_factory=list)
    role: str = "auto"


class RTCError(OperationError):
    """webrtc-pc §11.1 RTCError: ``errorDetail`` is ``"dtls-failure"`` or
    ``"fingerprint-failure"`` for a DTLS transport."""

    def __init__(self, message: str, errorDetail: str) -> None:  # noqa: N803
        super().__init__(message)
        self.errorDetail = errorDetail


class DataReceiver(Protocol):
    """What the data path hands records to (the SCTP transport)."""

    def _handle_records(self, records: list[bytes], now: float) -> None: ...
    def _poll(self, now: float) -> list[bytes]: ...
    def next_deadline(self) -> float | None: ...
    def handle_timeout(self, now: float) -> None: ...
    def _transport_closed(self) -> None: ...


class RTCDtlsTransport(EventEmitter):
    """A DTLS association over an :class:`RTCIceTransport`.

    Events: ``statechange``; ``error`` with an :class:`RTCError` when the
    transport fails (webrtc-pc §5.5: ``onerror``).
    """

    def __init__(self, transport: RTCIceTransport, certificates: list[RTCCertificate]) -> None:
        super().__init__()
        if not certificates:
            raise InvalidAccessError("RTCDtlsTransport needs a certificate")
        if transport.state == "closed":
            raise InvalidStateError("the RTCIceTransport is closed")
        self._certificate = certificates[0]
        self._certificate.check_valid()
        self._transport = transport
        self._driver = transport._driver
        self._loop: asyncio.AbstractEventLoop | None = None
        #: aiortc's name: "auto" until start() or _set_role() decides.
        self._role = "auto"
        self._state = "new"
        self._failure: str | None = None
        self._endpoint: DtlsEndpoint | None = None
        # Made by start(), handshaking once ICE is usable (_begin_handshake).
        self._pending_endpoint: DtlsEndpoint | None = None
        self._remote: RTCDtlsParameters | None = None
        self._receiver: DataReceiver | None = None
        self._early: list[bytes] = []
        self._early_records: list[bytes] = []
        self._waiters: list[asyncio.Future[None]] = []
        self._flush_handle: asyncio.Handle | None = None
        self._stats_id = f"T{id(self) & 0xFFFFFF:06X}"
        # SRTP sessions keyed at the handshake (RFC 5764 §4.2), for media.
        self._tx_srtp: SrtpSession | None = None
        self._rx_srtp: SrtpSession | None = None
        # RTCTransportStats counters (datagrams of this transport).
        self._rx_packets = 0
        self._rx_bytes = 0
        self._tx_packets = 0
        self._tx_bytes = 0
        self._driver.sink = self  # weakly: the loop holds the driver, not us
        transport.on("statechange", self._on_ice_state)

    # ------------------------------------------------------------ attributes

    @property
    def state(self) -> str:
        """webrtc-pc §5.5 RTCDtlsTransportState: ``new``, ``connecting``,
        ``connected``, ``closed``, ``failed``."""
        return self._state

    @property
    def transport(self) -> RTCIceTransport:
        """The :class:`RTCIceTransport` under this transport (webrtc-pc ``iceTransport``)."""
        return self._transport

    @property
    def iceTransport(self) -> RTCIceTransport:  # noqa: N802
        return self._transport

    @property
    def role(self) -> str:
        """``auto`` before start, then ``client`` or ``server``."""
        return self._role

    @property
    def failureReason(self) -> str | None:  # noqa: N802
        """Why the transport failed: ``fingerprint-failure``, an alert, a
        timeout, or ``ice-failure``; None unless ``failed``."""
        return self._failure

    def getLocalParameters(self) -> RTCDtlsParameters:  # noqa: N802
        return RTCDtlsParameters(fingerprints=self._certificate.getFingerprints())

    def getRemoteCertificates(self) -> list[bytes]:  # noqa: N802
        """The peer's certificate chain (DER), once its fingerprint matched."""
        ep = self._endpoint
        der = ep.remote_certificate_der if ep is not None else None
        return [der] if der is not None else []

    def _set_role(self, role: str) -> None:
        """Set the DTLS role from signalling (RFC 5763 §5, JSEP a=setup):
        ``client`` (active), ``server`` (passive) or ``auto``."""
        if role not in ("auto", "client", "server"):
            raise TypeError(f"DTLS role must be 'auto', 'client' or 'server', got {role!r}")
        if self._state != "new":
            raise InvalidStateError(f"cannot change the DTLS role in state {self._state}")
        self._role = role

    # ------------------------------------------------------------ start / stop

    async def start(self, remoteParameters: RTCDtlsParameters) -> None:  # noqa: N803
        """Run the handshake with the peer's fingerprints; returns once
        ``connected``, ``failed`` or ``closed`` (as aiortc: failure is a
        state, see ``state`` and ``failureReason``).

        The role: what ``_set_role`` set; else the opposite of an explicit
        remote role; else from the ICE role as aiortc and ORTC do (the
        controlling agent is the DTLS server)."""
        if self._state != "new":
            raise InvalidStateError(f"RTCDtlsTransport.start() in state {self._state}")
        if not remoteParameters.fingerprints:
            raise InvalidAccessError("remote DTLS parameters have no fingerprint (RFC 8122 §5)")
        self._loop = asyncio.get_running_loop()
        self._remote = remoteParameters
        if self._role == "auto":
            remote_role = remoteParameters.role
            if remote_role == "client":
                self._role = "server"
            elif remote_role == "server":
                self._role = "client"
            else:
                self._role = "server" if self._transport.role == "controlling" else "client"
        try:
            endpoint = self._certificate.create_dtls_endpoint(
                "client" if self._role == "client" else "server",
                remoteParameters.fingerprints,
            )
        except ValueError as exc:
            raise InvalidAccessError(f"bad remote DTLS fingerprint: {exc}") from None
        self._pending_endpoint = endpoint
        self._set_state("connecting")
        # The handshake needs a working ICE pair (RFC 8842 §5: DTLS on ICE):
        # it starts now if ICE has one, else from the ICE state change
        # (_on_ice_state), synchronously, so the first flight leaves with the
        # ICE input that made the pair usable.
        if self._transport.state == "closed":
            self._pending_endpoint = None
            self._fail("ice-failure", "ICE closed before the DTLS handshake")
            return
        self._on_ice_state()
        while self._state == "connecting":
            fut = self._loop.create_future()
            self._waiters.append(fut)
            await fut

    async def stop(self) -> None:
        """Close the association (close_notify, RFC 5246 §7.2.1); state ``closed``."""
        if self._state in ("closed", "failed"):
            self._detach()
            return
        ep = self._endpoint
        if ep is not None:
            if self._receiver is not None:
                self._flush(self._now())  # what the SCTP layer still has queued
            ep.close()
            out = ep.poll_datagrams()
            if out:
                self._send(out)
        self._set_state("closed")
        self._detach()

    async def _wait_settled(self) -> str:
        """Wait until the handshake is over (connected, failed or closed)."""
        while self._state in ("new", "connecting"):
            fut = asyncio.get_running_loop().create_future()
            self._waiters.append(fut)
            await fut
        return self._state

    # ------------------------------------------------------------ data path (DataSink)

    def handle_data_burst(self, datagrams: list[bytes], now: float) -> None:
        """The ICE driver's burst of DTLS datagrams (RFC 7983: 20..63)."""
        self._rx_packets += len(datagrams)
        self._rx_bytes += sum(map(len, datagrams))
        ep = self._endpoint
        if ep is None:
            if self._state in ("new", "connecting"):
                room = MAX_EARLY - len(self._early)
                self._early.extend(datagrams[:room])
            return
        handle = ep.handle_datagram
        for data in datagrams:
            handle(data, now)
        self._after_input(now)

    def handle_media_burst(self, datagrams: list[bytes], now: float) -> None:
        """SRTP/SRTCP (RFC 7983: 128..191): counted; the media layer (not
        built yet) will unprotect them with ``_rx_srtp``."""
        self._rx_packets += len(datagrams)
        self._rx_bytes += sum(map(len, datagrams))

    def next_deadline(self) -> float | None:
        ep = self._endpoint
        d = ep.next_timeout() if ep is not None else None
        r = self._receiver
        if r is not None:
            d2 = r.next_deadline()
            if d2 is not None and (d is None or d2 < d):
                d = d2
        return d

    def handle_timeout(self, now: float) -> None:
        ep = self._endpoint
        if ep is None:
            return
        ep.handle_timeout(now)
        r = self._receiver
        if r is not None:
            r.handle_timeout(now)
        self._after_input(now)

    def _after_input(self, now: float) -> None:
        """After datagrams or a timer: records to the receiver, state
        changes, then one flush."""
        ep = self._endpoint
        assert ep is not None
        if self._state == "connecting" or ep.state != "connected":
            self._check_state()
        records = ep.recv_all()
        if records:
            r = self._receiver
            if r is not None:
                r._handle_records(records, now)
            else:
                room = MAX_EARLY - len(self._early_records)
                self._early_records.extend(records[:room])
        self._flush(now)

    def _flush(self, now: float) -> None:
        ep = self._endpoint
        if ep is None:
            return
        # Handshake flights and alerts go before any record that follows them.
        out = ep.poll_datagrams()
        if out:
            self._send(out)
        r = self._receiver
        if r is not None and self._state == "connected":
            packets = r._poll(now)
            if packets:
                send_record = ep.send_record
                self._send([send_record(p) for p in packets])  # type: ignore[misc]

    def _send(self, datagrams: list[bytes]) -> None:
        self._driver.send_many(datagrams)
        self._tx_packets += len(datagrams)
        self._tx_bytes += sum(map(len, datagrams))

    def _request_flush(self) -> None:
        """An API call queued output: flush once at the end of this loop
        iteration (one flush for any number of sends)."""
        if self._flush_handle is None and self._loop is not None:
            self._flush_handle = self._loop.call_soon(self._deferred_flush)

    def _deferred_flush(self) -> None:
        self._flush_handle = None
        if self._endpoint is None or self._state != "connected":
            return
        now = self._now()
        self._flush(now)
        self._driver.schedule(self.next_deadline())

    def _now(self) -> float:
        loop = self._loop or asyncio.get_running_loop()
        return loop.time()

    # ------------------------------------------------------------ the receiver

    def _register_data_receiver(self, receiver: DataReceiver) -> None:
        """The SCTP transport takes the records (aiortc's name)."""
        if self._receiver is not None and self._receiver is not receiver:
            raise InvalidStateError("RTCDtlsTransport already has a data receiver")
        self._receiver = receiver
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        early, self._early_records = self._early_records, []
        if early:
            receiver._handle_records(early, self._now())
        if self._endpoint is not None:
            self._request_flush()

    def _unregister_data_receiver(self, receiver: DataReceiver) -> None:
        if self._receiver is receiver:
            self._receiver = None

    # ------------------------------------------------------------ state

    def _check_state(self) -> None:
        ep = self._endpoint
        assert ep is not None
        new = ep.state
        if new == self._state:
            return
        if new == "connected":
            if ep.srtp_profile is not None:
                # RFC 5764 §4.2: SRTP keys from the handshake, kept for media.
                self._tx_srtp, self._rx_srtp = ep.create_srtp_sessions()
            self._set_state("connected")
        elif new == "failed":
            reason = ep.failure_reason or "DTLS error"
            self._fail(reason, f"DTLS failed: {reason}")
        elif new == "closed":
            # RFC 5246 §7.2.1: the peer sent close_notify.
            self._set_state("closed")
            self._detach()

    def _fail(self, reason: str, message: str) -> None:
        self._failure = reason
        logger.debug("RTCDtlsTransport(%s) failed: %s", self._role, reason)
        self._set_state("failed")
        detail = "fingerprint-failure" if reason == "fingerprint-failure" else "dtls-failure"
        self.emit("error", RTCError(message, detail))
        self._detach()

    def _begin_handshake(self) -> None:
        """ICE is usable: start the handshake with the endpoint start() made."""
        endpoint, self._pending_endpoint = self._pending_endpoint, None
        assert endpoint is not None and self._loop is not None
        self._endpoint = endpoint
        now = self._loop.time()
        endpoint.start(now)
        early, self._early = self._early, []
        for data in early:
            endpoint.handle_datagram(data, now)
        self._after_input(now)
        # The first flight's retransmission timer (RFC 6347 §4.2.4).
        self._driver.schedule(self.next_deadline())

    def _on_ice_state(self) -> None:
        ice = self._transport.state
        if self._pending_endpoint is not None and self._state == "connecting":
            if ice in ("connected", "completed", "disconnected"):
                self._begin_handshake()
                return
            if ice == "failed":
                self._pending_endpoint = None
                self._fail("ice-failure", "ICE failed before the DTLS handshake")
                return
            if ice == "closed":
                self._pending_endpoint = None
        if self._transport.state == "closed" and self._state in ("new", "connecting",
                                                                 "connected"):
            # The ICE transport under us is gone: nothing more can flow.
            if self._endpoint is not None:
                self._endpoint.close()
            self._set_state("closed")
            self._detach()

    def _detach(self) -> None:
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        if self._driver.sink is self and self._state in ("closed", "failed"):
            self._driver.sink = None
        r = self._receiver
        if r is not None:
            r._transport_closed()

    def _set_state(self, state: str) -> None:
        if state == self._state:
            return
        logger.debug("RTCDtlsTransport(%s) %s -> %s", self._role, self._state, state)
        self._state = state
        waiters, self._waiters = self._waiters, []
        for fut in waiters:
            if not fut.done():
                fut.set_result(None)
        self.emit("statechange")

    # ------------------------------------------------------------ stats

    def _get_stats(self) -> dict[str, Any]:
        """webrtc-stats ``transport`` (RTCTransportStats) fields for getStats."""
        ep = self._endpoint
        ice = self._transport
        pair = ice._driver.selected_pair
        version = ep.protocol_version if ep is not None else None
        stats: dict[str, Any] = {
            "id": self._stats_id,
            "type": "transport",
            "packetsSent": self._tx_packets,
            "packetsReceived": self._rx_packets,
            "bytesSent": self._tx_bytes,
            "bytesReceived": self._rx_bytes,
            "iceRole": ice.role,
            "iceState": ice.state,
            "iceLocalUsernameFragment": ice.getLocalParameters().usernameFragment,
            "dtlsState": self._state,
            "dtlsRole": self._role if self._role != "auto" else "unknown",
            "dtlsCipher": ep.cipher_suite if ep is not None else None,
            "srtpCipher": ep.srtp_profile_name if ep is not None else None,
            # webrtc-stats: tlsVersion is the hex of the version bytes (DTLS 1.2: FEFD).
            "tlsVersion": {"DTLSv1.2": "FEFD", "DTLSv1": "FEFF"}.get(version or "", version),
            "selectedCandidatePairId": (
                f"CP{pair.local.candidate.foundation}_{pair.remote.foundation}"
                if pair is not None else None),
            "localCertificateFingerprint": certificate_fingerprint(
                self._certificate.certificate_der).value,
        }
        if ep is not None:
            stats["dtlsRetransmissions"] = ep.retransmissions
        if self._failure is not None:
            stats["dtlsFailureReason"] = self._failure
        return stats
