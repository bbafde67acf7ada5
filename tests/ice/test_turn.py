"""TURN client (RFC 8656), sans-IO: a scripted fake server in virtual time.

Each test plays the server by hand: it takes what the client transmits,
parses it, checks it against the RFC, and answers with bytes a TURN server
would send.  Time is a number the test moves."""

from __future__ import annotations

import itertools
import random
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rtcengine._core import stun
from rtcengine.ice import turn
from rtcengine.ice.turn import (
    Allocated,
    AllocationFailed,
    ChannelBindFailed,
    ChannelBound,
    Closed,
    DataReceived,
    PermissionCreated,
    PermissionFailed,
    Refreshed,
    TryAlternate,
    TurnClient,
    TurnEvent,
    TurnState,
)

USER = "alice"
PASSWORD = "secret"
REALM = "example.org"
NONCE = b"nonce-1"
RELAYED = ("198.51.100.7", 50000)
MAPPED = ("203.0.113.9", 40000)
PEER = ("192.0.2.15", 6000)
PEER2 = ("192.0.2.15", 6001)
KEY = stun.long_term_key(USER, REALM, PASSWORD)


class FakeServer:
    """Plays the TURN server against one TurnClient."""

    def __init__(self, client: TurnClient, key: bytes = KEY, nonce: bytes = NONCE) -> None:
        self.client = client
        self.key = key
        self.nonce = nonce
        self.algorithm: Any = "sha1"

    def take(self) -> bytes:
        data = self.client.poll_transmit()
        assert data is not None, "client sent nothing"
        return data

    def request(self, method: int | None = None) -> stun.Message:
        msg = stun.Message.parse(self.take())
        assert msg.message_class == stun.REQUEST
        if method is not None:
            assert msg.message_method == method, msg
        return msg

    def assert_authenticated(self, msg: stun.Message) -> None:
        # RFC 8489 §9.2.4: USERNAME, REALM, NONCE and a valid MESSAGE-INTEGRITY.
        assert msg.get(stun.ATTR_USERNAME) == USER
        assert msg.get(stun.ATTR_REALM) == REALM
        assert msg.get(stun.ATTR_NONCE) == self.nonce
        assert msg.check_integrity(self.key)

    def answer(
        self,
        req: stun.Message,
        attrs: list[tuple[int | str, Any]] | None = None,
        *,
        error: tuple[int, str] | None = None,
        integrity: bool = True,
        key: bytes | None = None,
    ) -> bytes:
        cls = stun.ERROR_RESPONSE if error else stun.SUCCESS_RESPONSE
        a: list[tuple[int | str, Any]] = list(attrs or [])
        if error:
            a.insert(0, (stun.ATTR_ERROR_CODE, error))
        msg = stun.Message(req.message_method, cls, req.transaction_id, a)
        return msg.marshal(
            integrity_key=(key or self.key) if integrity else None,
            fingerprint=True,
            integrity_algorithm=self.algorithm,
        )

    def challenge(self, req: stun.Message, nonce: bytes | None = None) -> bytes:
        # RFC 8489 §9.2.4: 401 with REALM and NONCE, no integrity.
        return self.answer(
            req,
            [(stun.ATTR_REALM, REALM), (stun.ATTR_NONCE, nonce or self.nonce)],
            error=(401, "Unauthorized"),
            integrity=False,
        )

    def allocated(self, req: stun.Message, lifetime: int = 600) -> bytes:
        return self.answer(
            req,
            [
                (stun.ATTR_XOR_RELAYED_ADDRESS, RELAYED),
                (stun.ATTR_LIFETIME, lifetime),
                (stun.ATTR_XOR_MAPPED_ADDRESS, MAPPED),
            ],
        )

    def feed(self, data: bytes, now: float) -> None:
        self.client.receive(data, now)


def state(client: TurnClient) -> TurnState:
    return client.state  # a call, so mypy does not narrow across calls that change it


def events(client: TurnClient) -> list[TurnEvent]:
    out = []
    while (e := client.poll_event()) is not None:
        out.append(e)
    return out


def allocated_client(
    transport: turn.TransportName = "udp", lifetime: int = 600, **kw: Any
) -> tuple[TurnClient, FakeServer]:
    client = TurnClient(USER, PASSWORD, transport=transport, **kw)
    server = FakeServer(client)
    client.allocate(0.0)
    server.feed(server.challenge(server.request(stun.ALLOCATE)), 0.01)
    req = server.request(stun.ALLOCATE)
    server.feed(server.allocated(req, lifetime), 0.02)
    assert events(client) == [Allocated(RELAYED, MAPPED, lifetime)]
    assert client.poll_transmit() is None
    return client, server


def with_permission(client: TurnClient, server: FakeServer, now: float = 1.0) -> None:
    client.create_permission(PEER[0], now)
    req = server.request(stun.CREATE_PERMISSION)
    server.feed(server.answer(req), now)
    assert events(client) == [PermissionCreated(PEER[0])]


# ----------------------------------------------------------------- allocate


def test_allocate_401_then_long_term_credentials() -> None:
    client = TurnClient(USER, PASSWORD, software="rtcengine-test")
    server = FakeServer(client)
    client.allocate(0.0)
    assert state(client) is TurnState.ALLOCATING
    first = server.request(stun.ALLOCATE)
    # RFC 8656 §7.1: REQUESTED-TRANSPORT UDP; first request has no credentials.
    assert first.get(stun.ATTR_REQUESTED_TRANSPORT) == stun.TRANSPORT_UDP
    assert first.get(stun.ATTR_SOFTWARE) == "rtcengine-test"
    assert stun.ATTR_USERNAME not in first
    assert stun.ATTR_MESSAGE_INTEGRITY not in first
    server.feed(server.challenge(first), 0.05)
    second = server.request(stun.ALLOCATE)
    # RFC 8489 §6.1: a retry is a new transaction.
    assert second.transaction_id != first.transaction_id
    server.assert_authenticated(second)
    assert second.check_fingerprint()
    assert second.get(stun.ATTR_REQUESTED_TRANSPORT) == stun.TRANSPORT_UDP
    server.feed(server.allocated(second, 600), 0.1)
    assert events(client) == [Allocated(RELAYED, MAPPED, 600)]
    assert state(client) is TurnState.ALLOCATED
    assert client.relayed_address == RELAYED
    assert client.mapped_address == MAPPED
    # RFC 8656 §8: refresh a minute before expiry.
    assert client.next_deadline() == pytest.approx(0.1 + 540)


def test_saslprep_applies_to_the_password() -> None:
    # RFC 8489 §9.2.2: key = MD5(username ":" realm ":" SASLprep(password)).
    client = TurnClient(USER, "I\u00adX")  # soft hyphen is mapped to nothing
    server = FakeServer(client, key=stun.long_term_key(USER, REALM, "IX"))
    client.allocate(0.0)
    server.feed(server.challenge(server.request()), 0.0)
    server.assert_authenticated(server.request(stun.ALLOCATE))


def test_second_401_means_bad_credentials() -> None:
    client = TurnClient(USER, "wrong")
    server = FakeServer(client)
    client.allocate(0.0)
    server.feed(server.challenge(server.request()), 0.0)
    server.feed(server.challenge(server.request()), 0.0)
    [failed] = events(client)
    assert isinstance(failed, AllocationFailed) and failed.code == 401
    assert state(client) is TurnState.FAILED
    assert client.poll_transmit() is None
    assert client.next_deadline() is None


def test_401_without_realm_fails() -> None:
    client = TurnClient(USER, PASSWORD)
    server = FakeServer(client)
    client.allocate(0.0)
    req = server.request()
    server.feed(server.answer(req, error=(401, "Unauthorized"), integrity=False), 0.0)
    [failed] = events(client)
    assert isinstance(failed, AllocationFailed) and failed.code == 401


def test_438_stale_nonce_retries_with_the_new_nonce() -> None:
    client = TurnClient(USER, PASSWORD)
    server = FakeServer(client)
    client.allocate(0.0)
    server.feed(server.challenge(server.request()), 0.0)
    req = server.request()
    server.assert_authenticated(req)
    # RFC 8489 §9.2.5: 438 carries the new NONCE (and REALM).
    server.nonce = b"nonce-2"
    stale = server.answer(
        req,
        [(stun.ATTR_REALM, REALM), (stun.ATTR_NONCE, server.nonce)],
        error=(438, "Stale Nonce"),
        integrity=False,
    )
    server.feed(stale, 0.1)
    retry = server.request(stun.ALLOCATE)
    server.assert_authenticated(retry)
    assert retry.transaction_id != req.transaction_id
    server.feed(server.allocated(retry), 0.2)
    assert isinstance(events(client)[0], Allocated)


def test_438_forever_gives_up() -> None:
    client = TurnClient(USER, PASSWORD)
    server = FakeServer(client)
    client.allocate(0.0)
    server.feed(server.challenge(server.request()), 0.0)
    for i in range(turn.MAX_STALE_NONCE + 1):
        req = server.request(stun.ALLOCATE)
        server.nonce = f"n{i}".encode()
        server.feed(
            server.answer(
                req, [(stun.ATTR_NONCE, server.nonce)], error=(438, "Stale"), integrity=False
            ),
            0.0,
        )
    [failed] = events(client)
    assert isinstance(failed, AllocationFailed) and failed.code == 438
    assert client.poll_transmit() is None


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        (403, "Forbidden"),
        (437, "Allocation Mismatch"),
        (440, "Address Family not Supported"),
        (442, "Unsupported Transport Protocol"),
        (486, "Allocation Quota Reached"),
        (508, "Insufficient Capacity"),
    ],
)
def test_allocate_errors_are_reported_with_the_reason(code: int, reason: str) -> None:
    client = TurnClient(USER, PASSWORD)
    server = FakeServer(client)
    client.allocate(0.0)
    server.feed(server.challenge(server.request()), 0.0)
    server.feed(server.answer(server.request(), error=(code, reason)), 0.0)
    assert events(client) == [AllocationFailed(code, f"Allocate failed: {code} {reason}")]
    assert state(client) is TurnState.FAILED


def test_300_try_alternate_is_reported() -> None:
    client = TurnClient(USER, PASSWORD)
    server = FakeServer(client)
    client.allocate(0.0)
    req = server.request()
    alt = server.answer(
        req,
        [(stun.ATTR_ALTERNATE_SERVER, ("192.0.2.99", 3479))],
        error=(300, "Try Alternate"),
        integrity=False,
    )
    server.feed(alt, 0.0)
    got = events(client)
    assert got[0] == TryAlternate(("192.0.2.99", 3479), None)
    assert isinstance(got[1], AllocationFailed) and got[1].code == 300


def test_success_without_xor_relayed_address_fails() -> None:
    client = TurnClient(USER, PASSWORD)
    server = FakeServer(client)
    client.allocate(0.0)
    server.feed(server.challenge(server.request()), 0.0)
    server.feed(server.answer(server.request(), [(stun.ATTR_LIFETIME, 600)]), 0.0)
    [failed] = events(client)
    assert isinstance(failed, AllocationFailed) and "XOR-RELAYED-ADDRESS" in failed.reason


def test_sha256_password_algorithm_when_offered() -> None:
    # RFC 8489 §9.2.4: PASSWORD-ALGORITHMS in the 401; the client picks the
    # first it supports in the server's order (SHA-256 here), echoes the
    # list, names its choice and uses MESSAGE-INTEGRITY-SHA256.
    client = TurnClient(USER, PASSWORD)
    server = FakeServer(client, key=stun.long_term_key(USER, REALM, PASSWORD, "sha256"))
    server.algorithm = "sha256"
    client.allocate(0.0)
    offered = [(stun.PASSWORD_ALGORITHM_SHA256, b""), (stun.PASSWORD_ALGORITHM_MD5, b"")]
    req = server.request()
    server.feed(
        server.answer(
            req,
            [
                (stun.ATTR_REALM, REALM),
                (stun.ATTR_NONCE, b"obMatJos2AAACf//499k954d6OL34oL9FSTvy64sA"),
                (stun.ATTR_PASSWORD_ALGORITHMS, offered),
            ],
            error=(401, "Unauthorized"),
            integrity=False,
        ),
        0.0,
    )
    req = server.request(stun.ALLOCATE)
    assert req.get(stun.ATTR_PASSWORD_ALGORITHMS) == offered
    assert req.get(stun.ATTR_PASSWORD_ALGORITHM) == (stun.PASSWORD_ALGORITHM_SHA256, b"")
    assert stun.ATTR_MESSAGE_INTEGRITY_SHA256 in req
    assert req.check_integrity(server.key, "sha256")
    server.feed(server.allocated(req), 0.0)
    assert isinstance(events(client)[0], Allocated)


# --------------------------------------------------------- bad input dropped


def test_bad_integrity_is_dropped_and_counted() -> None:
    client = TurnClient(USER, PASSWORD)
    server = FakeServer(client)
    client.allocate(0.0)
    server.feed(server.challenge(server.request()), 0.0)
    req = server.request()
    forged = server.answer(req, [(stun.ATTR_XOR_RELAYED_ADDRESS, RELAYED)], key=b"not the key 1234")
    server.feed(forged, 0.0)
    assert client.stats.dropped_bad_integrity == 1
    assert state(client) is TurnState.ALLOCATING and events(client) == []
    # A success with no integrity at all could be forged too.
    server.feed(server.answer(req, [(stun.ATTR_XOR_RELAYED_ADDRESS, RELAYED)], integrity=False), 0)
    assert client.stats.dropped_bad_integrity == 2
    assert state(client) is TurnState.ALLOCATING
    # The real answer still works: the transaction was not consumed.
    server.feed(server.allocated(req), 0.0)
    assert state(client) is TurnState.ALLOCATED


def test_bad_fingerprint_is_dropped() -> None:
    client = TurnClient(USER, PASSWORD)
    server = FakeServer(client)
    client.allocate(0.0)
    req = server.request()
    raw = bytearray(server.challenge(req))
    raw[-1] ^= 1
    server.feed(bytes(raw), 0.0)
    assert client.stats.dropped_malformed == 1
    assert client.poll_transmit() is None and state(client) is TurnState.ALLOCATING


def test_unknown_transaction_is_dropped() -> None:
    client, server = allocated_client()
    fake = stun.Message(
        stun.REFRESH, stun.SUCCESS_RESPONSE, b"\x01" * 12, [(stun.ATTR_LIFETIME, 0)]
    )
    server.feed(fake.marshal(integrity_key=KEY), 1.0)
    assert client.stats.dropped_unknown_transaction == 1
    assert events(client) == [] and state(client) is TurnState.ALLOCATED


def test_response_with_the_wrong_method_is_dropped() -> None:
    client = TurnClient(USER, PASSWORD)
    server = FakeServer(client)
    client.allocate(0.0)
    req = server.request()
    wrong = stun.Message(stun.BINDING, stun.ERROR_RESPONSE, req.transaction_id, [])
    server.feed(wrong.marshal(), 0.0)
    assert client.stats.dropped_unknown_transaction == 1
    assert state(client) is TurnState.ALLOCATING


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("empty", b""),
        ("short STUN header", b"\x00\x01\x00"),
        ("bad cookie", b"\x01\x01\x00\x00" + b"\x00" * 16),
        ("channel data past end", b"\x40\x00\x00\x10abc"),
        ("RTP-looking", b"\x80" + b"\x00" * 20),
    ],
)
def test_malformed_datagrams_are_dropped(name: str, data: bytes) -> None:
    client, _ = allocated_client()
    client.receive(data, 1.0)
    assert events(client) == [] and state(client) is TurnState.ALLOCATED
    assert client.poll_transmit() is None


@given(st.binary(max_size=200))
def test_random_datagrams_never_raise(data: bytes) -> None:
    client, _ = allocated_client()
    client.receive(data, 1.0)
    client.receive(stun.ChannelData(0x4000, data).marshal(), 1.0)
    assert state(client) is TurnState.ALLOCATED


@given(st.lists(st.binary(max_size=64), max_size=8))
def test_random_stream_never_raises(chunks: list[bytes]) -> None:
    client, _ = allocated_client("tcp")
    for c in chunks:
        client.receive(c, 1.0)
    assert client.state in (TurnState.ALLOCATED, TurnState.FAILED)


# ------------------------------------------------- retransmissions, timeouts


def test_udp_retransmissions_rfc8489_schedule() -> None:
    # RFC 8489 §6.2.1: RTO 500 ms doubling, Rc = 7 sends at 0, 0.5, 1.5, 3.5,
    # 7.5, 15.5, 31.5 s, then Rm * RTO = 8 s: timeout at 39.5 s.
    client = TurnClient(USER, PASSWORD)
    client.allocate(0.0)
    first = client.poll_transmit()
    sends = [0.0]
    while (deadline := client.next_deadline()) is not None:
        client.handle_timeout(deadline)
        data = client.poll_transmit()
        if data is not None:
            assert data == first  # same transaction, same bytes
            sends.append(deadline)
        else:
            break
    assert sends == [0.0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5]
    assert client.next_deadline() is None
    [failed] = events(client)
    assert isinstance(failed, AllocationFailed) and failed.code == turn.ERR_TIMEOUT
    assert "timed out" in failed.reason
    assert state(client) is TurnState.FAILED
    assert client.stats.retransmissions == 6
    assert client.stats.transaction_timeouts == 1


def test_udp_timeout_at_39_5_seconds() -> None:
    client = TurnClient(USER, PASSWORD)
    client.allocate(0.0)
    for t in (0.5, 1.5, 3.5, 7.5, 15.5, 31.5):
        client.handle_timeout(t)
    assert client.next_deadline() == pytest.approx(39.5)
    client.handle_timeout(39.4)
    assert state(client) is TurnState.ALLOCATING
    client.handle_timeout(39.5)
    [failed] = events(client)
    assert isinstance(failed, AllocationFailed) and failed.code == turn.ERR_TIMEOUT


@pytest.mark.parametrize("transport", ["tcp", "tls"])
def test_no_retransmission_over_reliable_transports(transport: turn.TransportName) -> None:
    client = TurnClient(USER, PASSWORD, transport=transport)
    client.allocate(0.0)
    assert client.poll_transmit() is not None
    # RFC 8489 §6.2.2: sent once, Ti = 39.5 s.
    assert client.next_deadline() == pytest.approx(39.5)
    client.handle_timeout(20.0)
    assert client.poll_transmit() is None
    client.handle_timeout(39.5)
    assert client.poll_transmit() is None
    [failed] = events(client)
    assert isinstance(failed, AllocationFailed) and failed.code == turn.ERR_TIMEOUT
    assert client.stats.retransmissions == 0


def test_retransmission_then_answer() -> None:
    client = TurnClient(USER, PASSWORD)
    server = FakeServer(client)
    client.allocate(0.0)
    server.take()
    client.handle_timeout(0.5)
    req = server.request(stun.ALLOCATE)
    server.feed(server.challenge(req), 0.6)
    server.feed(server.challenge(req), 0.6)  # duplicate answer: transaction is gone
    assert client.stats.dropped_unknown_transaction == 1
    server.assert_authenticated(server.request(stun.ALLOCATE))
    assert client.poll_transmit() is None


# ----------------------------------------------------------- refresh, close


def test_refresh_a_minute_before_expiry() -> None:
    client, server = allocated_client(lifetime=600)
    assert client.next_deadline() == pytest.approx(540.02)
    client.handle_timeout(539.0)
    assert client.poll_transmit() is None
    client.handle_timeout(540.02)
    req = server.request(stun.REFRESH)
    server.assert_authenticated(req)
    assert stun.ATTR_LIFETIME not in req
    server.feed(server.answer(req, [(stun.ATTR_LIFETIME, 300)]), 541.0)
    assert events(client) == [Refreshed(300)]
    # RFC 8656 §8: the new lifetime counts from the response.
    assert client.next_deadline() == pytest.approx(541.0 + 240)


def test_short_lifetime_refreshes_halfway() -> None:
    client, _ = allocated_client(lifetime=100)
    assert client.next_deadline() == pytest.approx(0.02 + 50)


def test_refresh_437_loses_the_allocation() -> None:
    client, server = allocated_client()
    client.handle_timeout(540.02)
    req = server.request(stun.REFRESH)
    server.feed(server.answer(req, error=(437, "Allocation Mismatch")), 541.0)
    [failed] = events(client)
    assert isinstance(failed, AllocationFailed) and failed.code == 437
    assert state(client) is TurnState.FAILED


def test_refresh_stale_nonce_retried() -> None:
    client, server = allocated_client()
    client.handle_timeout(540.02)
    req = server.request(stun.REFRESH)
    server.nonce = b"nonce-3"
    server.feed(
        server.answer(req, [(stun.ATTR_NONCE, server.nonce)], error=(438, "Stale Nonce")), 541.0
    )
    retry = server.request(stun.REFRESH)
    server.assert_authenticated(retry)
    server.feed(server.answer(retry, [(stun.ATTR_LIFETIME, 600)]), 541.5)
    assert events(client) == [Refreshed(600)]


def test_unanswered_refresh_expires_the_allocation() -> None:
    client, server = allocated_client("tcp")
    client.handle_timeout(540.02)
    server.request(stun.REFRESH)
    client.handle_timeout(579.52)  # Ti later: retried while time is left
    server.request(stun.REFRESH)
    client.handle_timeout(600.02)
    [failed] = events(client)
    assert isinstance(failed, AllocationFailed) and "expired" in failed.reason


def test_close_deallocates_with_lifetime_zero() -> None:
    client, server = allocated_client()
    client.close(10.0)
    assert state(client) is TurnState.CLOSING
    req = server.request(stun.REFRESH)
    server.assert_authenticated(req)
    assert req.get(stun.ATTR_LIFETIME) == 0
    server.feed(server.answer(req, [(stun.ATTR_LIFETIME, 0)]), 10.1)
    assert events(client) == [Closed()]
    assert state(client) is TurnState.CLOSED and client.next_deadline() is None
    client.send(b"late", PEER, 11.0)
    assert client.poll_transmit() is None
    assert client.stats.dropped_not_allocated == 1


def test_close_times_out_to_closed() -> None:
    client, server = allocated_client()
    client.close(10.0)
    server.request(stun.REFRESH)
    client.handle_timeout(10.0 + 39.5)
    assert events(client) == [Closed()]


def test_close_before_allocation() -> None:
    client = TurnClient(USER, PASSWORD)
    client.allocate(0.0)
    client.poll_transmit()
    client.close(0.1)
    assert events(client) == [Closed()]
    assert client.next_deadline() is None


# --------------------------------------------------------------- permissions


def test_send_waits_for_the_permission_then_uses_send_indications() -> None:
    client, server = allocated_client()
    client.send(b"one", PEER, 1.0)
    client.send(b"two", PEER, 1.0)
    req = server.request(stun.CREATE_PERMISSION)
    server.assert_authenticated(req)
    assert req.get(stun.ATTR_XOR_PEER_ADDRESS)[0] == PEER[0]
    assert client.poll_transmit() is None  # data waits
    server.feed(server.answer(req), 1.1)
    assert events(client) == [PermissionCreated(PEER[0])]
    for payload in (b"one", b"two"):
        ind = stun.Message.parse(server.take())
        # RFC 8656 §10.1: Send indication, XOR-PEER-ADDRESS + DATA, no integrity.
        assert (ind.message_method, ind.message_class) == (stun.SEND, stun.INDICATION)
        assert ind.get(stun.ATTR_XOR_PEER_ADDRESS) == PEER
        assert ind.get(stun.ATTR_DATA) == payload
        assert stun.ATTR_MESSAGE_INTEGRITY not in ind
    assert client.has_permission(PEER[0])
    # The same IP on another port shares the permission (RFC 8656 §9).
    client.send(b"three", PEER2, 1.2)
    assert stun.Message.parse(server.take()).message_method == stun.SEND


def test_permission_refresh_every_four_minutes() -> None:
    client, server = allocated_client()
    with_permission(client, server, now=1.0)
    assert client.next_deadline() == pytest.approx(241.0)
    client.handle_timeout(241.0)
    req = server.request(stun.CREATE_PERMISSION)
    assert req.get(stun.ATTR_XOR_PEER_ADDRESS)[0] == PEER[0]
    server.feed(server.answer(req), 241.1)
    assert events(client) == []  # a refresh is silent
    assert client.next_deadline() == pytest.approx(481.1)


def test_permission_refresh_failure_drops_the_permission() -> None:
    client, server = allocated_client()
    with_permission(client, server, now=1.0)
    client.handle_timeout(241.0)
    req = server.request(stun.CREATE_PERMISSION)
    server.feed(server.answer(req, error=(403, "Forbidden")), 241.1)
    [failed] = events(client)
    assert isinstance(failed, PermissionFailed) and failed.code == 403
    assert not client.has_permission(PEER[0])
    client.send(b"x", PEER, 242.0)
    assert client.poll_transmit() is None
    assert client.stats.dropped_no_permission == 1


def test_permission_forbidden_drops_queued_data() -> None:
    client, server = allocated_client()
    client.send(b"x", PEER, 1.0)
    req = server.request(stun.CREATE_PERMISSION)
    server.feed(server.answer(req, error=(403, "Forbidden IP")), 1.1)
    assert events(client) == [
        PermissionFailed(PEER[0], 403, "CreatePermission failed: 403 Forbidden IP")
    ]
    assert client.poll_transmit() is None
    # create_permission retries an IP that failed.
    client.create_permission(PEER[0], 2.0)
    assert server.request(stun.CREATE_PERMISSION)


def test_pending_queue_is_bounded() -> None:
    client, server = allocated_client()
    for i in range(turn.MAX_PENDING_PER_PEER_IP + 5):
        client.send(bytes([i]), PEER, 1.0)
    req = server.request(stun.CREATE_PERMISSION)
    assert client.stats.dropped_no_permission == 5
    server.feed(server.answer(req), 1.1)
    sent = []
    while (d := client.poll_transmit()) is not None:
        sent.append(stun.Message.parse(d).get(stun.ATTR_DATA))
    # oldest dropped, newest kept; after the threshold a ChannelBind appears
    assert sent[0] == bytes([5])


def test_data_indication_delivers() -> None:
    client, server = allocated_client()
    with_permission(client, server)
    ind = stun.Message(
        stun.DATA,
        stun.INDICATION,
        b"\x02" * 12,
        [(stun.ATTR_XOR_PEER_ADDRESS, PEER), (stun.ATTR_DATA, b"hello")],
    )
    server.feed(ind.marshal(), 2.0)
    assert events(client) == [DataReceived(PEER, b"hello")]
    # From an IP we never permitted: the server should not relay it; dropped.
    other = stun.Message(
        stun.DATA,
        stun.INDICATION,
        b"\x03" * 12,
        [(stun.ATTR_XOR_PEER_ADDRESS, ("192.0.2.200", 1)), (stun.ATTR_DATA, b"x")],
    )
    server.feed(other.marshal(), 2.0)
    assert events(client) == [] and client.stats.dropped_no_permission == 1


# ------------------------------------------------------------------ channels


def bind_channel(
    client: TurnClient, server: FakeServer, now: float = 2.0
) -> tuple[int, stun.Message]:
    for _ in range(turn.CHANNEL_THRESHOLD):
        client.send(b"ping", PEER, now)
        assert stun.Message.parse(server.take()).message_method == stun.SEND
    req = server.request(stun.CHANNEL_BIND)
    server.assert_authenticated(req)
    number = req.get(stun.ATTR_CHANNEL_NUMBER)
    assert turn.CHANNEL_MIN <= number <= turn.CHANNEL_MAX
    assert req.get(stun.ATTR_XOR_PEER_ADDRESS) == PEER
    return number, req


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_channel_bind_after_a_few_packets(transport: turn.TransportName) -> None:
    client, server = allocated_client(transport)
    with_permission(client, server)
    number, req = bind_channel(client, server)
    # Until bound, Send indications keep flowing.
    client.send(b"still-indication", PEER, 2.1)
    assert stun.Message.parse(server.take()).message_method == stun.SEND
    server.feed(server.answer(req), 2.2)
    assert events(client) == [ChannelBound(PEER, number)]
    assert client.channel_for(PEER) == number
    client.send(b"hello", PEER, 2.3)
    raw = server.take()
    # RFC 8656 §12.4/§12.5: 4-byte header; padded to 4 over TCP only.
    assert raw[:4] == number.to_bytes(2, "big") + (5).to_bytes(2, "big")
    assert raw[4:9] == b"hello"
    assert len(raw) == (12 if transport == "tcp" else 9)
    # Incoming ChannelData on the channel is data from the peer.
    server.feed(stun.ChannelData(number, b"back").marshal(pad=transport == "tcp"), 2.4)
    assert events(client) == [DataReceived(PEER, b"back")]
    # A channel we never bound is dropped.
    server.feed(stun.ChannelData(number + 1, b"x").marshal(pad=True), 2.5)
    assert events(client) == [] and client.stats.dropped_unknown_channel == 1
    assert client.stats.channel_data_sent == 1


def test_channel_data_accepted_while_binding() -> None:
    # The server may use the channel before our success response arrives.
    client, server = allocated_client()
    with_permission(client, server)
    number, _ = bind_channel(client, server)
    server.feed(stun.ChannelData(number, b"early").marshal(), 2.1)
    assert events(client) == [DataReceived(PEER, b"early")]


def test_explicit_bind_channel_and_refresh_timing() -> None:
    client, server = allocated_client()
    client.bind_channel(PEER, 5.0)
    req = server.request(stun.CHANNEL_BIND)
    number = req.get(stun.ATTR_CHANNEL_NUMBER)
    server.feed(server.answer(req), 5.0)
    assert events(client) == [ChannelBound(PEER, number)]
    # ChannelBind installed the permission too (RFC 8656 §12.2): it is kept
    # alive by CreatePermission every 4 minutes, the binding every 9.
    assert client.has_permission(PEER[0])
    client.handle_timeout(245.0)
    perm = server.request(stun.CREATE_PERMISSION)
    server.feed(server.answer(perm), 245.0)
    client.handle_timeout(485.0)
    server.feed(server.answer(server.request(stun.CREATE_PERMISSION)), 485.0)
    client.handle_timeout(540.02)  # the allocation's own refresh comes first
    refresh = server.request(stun.REFRESH)
    server.feed(server.answer(refresh, [(stun.ATTR_LIFETIME, 600)]), 540.1)
    assert events(client) == [Refreshed(600)]
    assert client.next_deadline() == pytest.approx(545.0)
    client.handle_timeout(545.0)
    rebind = server.request(stun.CHANNEL_BIND)
    # RFC 8656 §12.1: refreshed with the same number and peer.
    assert rebind.get(stun.ATTR_CHANNEL_NUMBER) == number
    assert rebind.get(stun.ATTR_XOR_PEER_ADDRESS) == PEER
    server.feed(server.answer(rebind), 545.1)
    assert events(client) == []
    assert client.channel_for(PEER) == number


def test_channel_bind_failure_keeps_send_indications() -> None:
    client, server = allocated_client()
    with_permission(client, server)
    number, req = bind_channel(client, server)
    server.feed(server.answer(req, error=(400, "Bad Request")), 2.1)
    [failed] = events(client)
    assert isinstance(failed, ChannelBindFailed) and failed.channel == number
    for _ in range(10):
        client.send(b"x", PEER, 3.0)
        assert stun.Message.parse(server.take()).message_method == stun.SEND
    assert client.poll_transmit() is None  # no new ChannelBind storm


def test_channels_get_distinct_numbers() -> None:
    client, server = allocated_client()
    client.bind_channel(PEER, 1.0)
    client.bind_channel(PEER2, 1.0)
    client.bind_channel(PEER, 1.0)  # already binding: nothing new
    a = server.request(stun.CHANNEL_BIND).get(stun.ATTR_CHANNEL_NUMBER)
    b = server.request(stun.CHANNEL_BIND).get(stun.ATTR_CHANNEL_NUMBER)
    assert a != b
    assert client.poll_transmit() is None


# ------------------------------------------------------------ stream framing


def test_stream_framing_any_chunking() -> None:
    client, server = allocated_client("tcp")
    with_permission(client, server)
    number, req = bind_channel(client, server)
    ind = stun.Message(
        stun.DATA,
        stun.INDICATION,
        b"\x04" * 12,
        [(stun.ATTR_XOR_PEER_ADDRESS, PEER), (stun.ATTR_DATA, b"via-indication")],
    ).marshal()
    stream = (
        server.answer(req)
        + stun.ChannelData(number, b"a").marshal(pad=True)
        + ind
        + stun.ChannelData(number, b"").marshal(pad=True)
        + stun.ChannelData(number, b"abcd").marshal(pad=True)
    )
    want = [
        ChannelBound(PEER, number),
        DataReceived(PEER, b"a"),
        DataReceived(PEER, b"via-indication"),
        DataReceived(PEER, b""),
        DataReceived(PEER, b"abcd"),
    ]
    rng = random.Random(7)
    for trial in range(30):
        c2, s2 = allocated_client("tcp")
        with_permission(c2, s2)
        _, r2 = bind_channel(c2, s2)
        data = stream.replace(req.transaction_id, r2.transaction_id)
        # re-sign the response for this client's transaction
        data = s2.answer(r2) + data[len(server.answer(req)) :]
        cuts = sorted(rng.sample(range(1, len(data)), min(trial, len(data) - 1)))
        for a, b in itertools.pairwise([0, *cuts, len(data)]):
            c2.receive(data[a:b], 3.0)
        assert events(c2) == want


def test_stream_out_of_sync_fails_the_allocation() -> None:
    client, _ = allocated_client("tls")
    client.receive(b"\xff\xff\xff\xff", 1.0)
    [failed] = events(client)
    assert isinstance(failed, AllocationFailed) and "frame" in failed.reason


def test_connection_lost() -> None:
    client, _ = allocated_client("tcp")
    client.connection_lost()
    [failed] = events(client)
    assert isinstance(failed, AllocationFailed)
    assert state(client) is TurnState.FAILED


def test_bad_constructor_arguments() -> None:
    with pytest.raises(ValueError, match="udp, tcp or tls"):
        TurnClient(USER, PASSWORD, transport="sctp")  # type: ignore[arg-type]
    client = TurnClient(USER, PASSWORD)
    with pytest.raises(RuntimeError, match="needs an allocation"):
        client.create_permission("192.0.2.1", 0.0)
    client.allocate(0.0)
    with pytest.raises(RuntimeError, match="allocate"):
        client.allocate(0.0)


def test_error_reason_not_utf8_is_dropped_without_state_change() -> None:
    client = TurnClient(USER, PASSWORD)
    server = FakeServer(client)
    client.allocate(0.0)
    req = server.request()
    raw = bytearray(
        stun.Message(
            stun.ALLOCATE,
            stun.ERROR_RESPONSE,
            req.transaction_id,
            [(stun.ATTR_ERROR_CODE, (401, "Unauthorized")), (stun.ATTR_REALM, REALM)],
        ).marshal()
    )
    # The ERROR-CODE value follows the 20-byte header and its 4-byte
    # attribute header; the reason text starts 4 bytes into the value.
    raw[28] = 0xFF
    with pytest.raises(stun.ParseError, match="UTF-8"):
        stun.Message.parse(bytes(raw)).get(stun.ATTR_ERROR_CODE)
    client.receive(bytes(raw), 0.0)
    assert client.stats.dropped_malformed == 1
    assert state(client) is TurnState.ALLOCATING and events(client) == []
    server.feed(server.challenge(req), 0.1)  # the transaction is still open
    server.assert_authenticated(server.request(stun.ALLOCATE))
