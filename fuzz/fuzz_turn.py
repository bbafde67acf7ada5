"""atheris target: the sans-IO TURN client (rtcengine.ice.turn) fed arbitrary
server bytes, over UDP (datagrams) and TCP (a stream in arbitrary chunks),
with time moving between inputs.

Input layout: byte 0 picks the transport (even: UDP, odd: TCP); the rest is
a sequence of records ``[n: 1 byte][dt: 1 byte][n bytes]``: feed n bytes,
then advance time by dt seconds and run the timers.  Transaction ids are
deterministic (a counter), so the fuzzer can reach real responses from the
seeds.  The client must never raise on input; its outputs must stay
well-formed."""

from __future__ import annotations

import sys
from pathlib import Path

if __name__ == "__main__":  # run as a script: make `fuzz` and `rtcengine` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rtcengine._core import stun
from rtcengine.ice.turn import TurnClient, TurnState

USER, PASSWORD, REALM, NONCE = "u", "p", "r", b"n"
KEY = stun.long_term_key(USER, REALM, PASSWORD)
PEER = ("192.0.2.1", 5000)


class _Counter:
    def __init__(self) -> None:
        self.n = 0

    def __call__(self, size: int) -> bytes:
        self.n += 1
        return self.n.to_bytes(size, "big")


def _answer(req: bytes, attrs: list[tuple[int | str, object]], error: bool = False) -> bytes:
    m = stun.Message.parse(req)
    cls = stun.ERROR_RESPONSE if error else stun.SUCCESS_RESPONSE
    return stun.Message(m.message_method, cls, m.transaction_id, list(attrs)).marshal(
        integrity_key=None if error else KEY
    )


def allocated(transport: str) -> TurnClient:
    """A client with an allocation, a permission for PEER and a channel."""
    c = TurnClient(USER, PASSWORD, transport=transport, random_bytes=_Counter())  # type: ignore[arg-type]
    c.allocate(0.0)
    req = c.poll_transmit()
    assert req is not None
    challenge: list[tuple[int | str, object]] = [
        (stun.ATTR_ERROR_CODE, (401, "Unauthorized")),
        (stun.ATTR_REALM, REALM),
        (stun.ATTR_NONCE, NONCE),
    ]
    c.receive(_answer(req, challenge, error=True), 0.0)
    req = c.poll_transmit()
    assert req is not None
    c.receive(
        _answer(
            req,
            [(stun.ATTR_XOR_RELAYED_ADDRESS, ("198.51.100.1", 4000)), (stun.ATTR_LIFETIME, 600)],
        ),
        0.0,
    )
    c.bind_channel(PEER, 0.0)
    req = c.poll_transmit()
    assert req is not None
    c.receive(_answer(req, []), 0.0)
    while c.poll_event() is not None:
        pass
    assert c.state is TurnState.ALLOCATED and c.channel_for(PEER) is not None
    return c


def _drain(c: TurnClient) -> None:
    while (out := c.poll_transmit()) is not None:
        assert stun.is_stun(out) or stun.is_channel_data(out), out[:8]
    while c.poll_event() is not None:
        pass
    d = c.next_deadline()
    assert d is None or d >= 0.0


def TestOneInput(data: bytes) -> None:
    if not data:
        return
    c = allocated("tcp" if data[0] & 1 else "udp")
    now = 0.0
    pos = 1
    while pos + 2 <= len(data):
        n, dt = data[pos], data[pos + 1]
        chunk = data[pos + 2 : pos + 2 + n]
        pos += 2 + n
        c.receive(chunk, now)
        _drain(c)
        c.send(b"x" * (dt % 7), PEER, now)
        now += dt
        c.handle_timeout(now)
        _drain(c)
    c.close(now)
    _drain(c)


def _record(payload: bytes, dt: int = 0) -> bytes:
    out = b""
    for i in range(0, max(len(payload), 1), 255):
        part = payload[i : i + 255]
        out += bytes([len(part), dt]) + part
    return out


def seeds() -> list[bytes]:
    ind = stun.Message(
        stun.DATA,
        stun.INDICATION,
        b"\x00" * 12,
        [(stun.ATTR_XOR_PEER_ADDRESS, PEER), (stun.ATTR_DATA, b"hi")],
    ).marshal()
    cd = stun.ChannelData(stun.CHANNEL_MIN, b"hello").marshal(pad=True)
    # The next transaction (id 5 of the counter) is the allocation refresh at 540 s.
    refresh_tid = (5).to_bytes(12, "big")
    refresh_ok = stun.Message(
        stun.REFRESH, stun.SUCCESS_RESPONSE, refresh_tid, [(stun.ATTR_LIFETIME, 600)]
    ).marshal(integrity_key=KEY)
    stale = stun.Message(
        stun.REFRESH,
        stun.ERROR_RESPONSE,
        refresh_tid,
        [(stun.ATTR_ERROR_CODE, (438, "Stale Nonce")), (stun.ATTR_NONCE, b"n2")],
    ).marshal()
    out = []
    for t in (0, 1):
        out.append(bytes([t]) + _record(ind) + _record(cd))
        out.append(bytes([t]) + _record(b"", 255) * 3 + _record(refresh_ok))
        out.append(bytes([t]) + _record(b"", 255) * 3 + _record(stale))
    out.append(b"\x01" + _record(cd[:3]) + _record(cd[3:] + ind[:10]) + _record(ind[10:]))
    return out


if __name__ == "__main__":
    from fuzz._harness import main

    main(TestOneInput, seeds(), sys.argv)
