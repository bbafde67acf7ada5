"""atheris target: an ICE agent (rtcengine.ice.agent) fed random datagrams,
candidate lines and timer steps.  Every input is network input: the agent must
never raise, and its outputs must stay well-formed."""

from __future__ import annotations

import sys
from pathlib import Path

if __name__ == "__main__":  # run as a script: make `fuzz` and `rtcengine` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import math

from rtcengine._core import stun
from rtcengine.ice.agent import IceAgent
from rtcengine.ice.candidate import Candidate, ParseError, candidate_priority

LOCAL = ("10.0.0.1", 1000)
REMOTE = ("10.0.0.2", 2000)
UFRAG, PWD = "locl", "localpasswordlocalpass1"
R_UFRAG, R_PWD = "remt", "remotepasswordremotepa1"


def _agent(controlling: bool, lite: bool) -> IceAgent:
    agent = IceAgent(controlling, ice_lite=lite, ufrag=UFRAG, pwd=PWD, tie_breaker=77)
    host = Candidate(1, "1", LOCAL[0], LOCAL[1], candidate_priority(1, "host"), "udp", "host")
    agent.add_local_candidate(host, LOCAL)
    agent.set_remote_credentials(R_UFRAG, R_PWD)
    agent.add_remote_candidate(
        Candidate(1, "2", REMOTE[0], REMOTE[1], candidate_priority(1, "host"), "udp", "host")
    )
    return agent


def _signed_request(payload: bytes, flags: int) -> bytes:
    """A correctly authenticated check whose attributes come from the input,
    so the fuzzer reaches past integrity checking."""
    attrs: list[tuple[int | str, object]] = [(stun.ATTR_USERNAME, f"{UFRAG}:{R_UFRAG}")]
    if flags & 1:
        attrs.append((stun.ATTR_PRIORITY, int.from_bytes(payload[:4].ljust(4, b"\0"), "big")))
    if flags & 2:
        attrs.append(
            (stun.ATTR_ICE_CONTROLLING, int.from_bytes(payload[:8].ljust(8, b"\0"), "big"))
        )
    if flags & 4:
        attrs.append((stun.ATTR_ICE_CONTROLLED, int.from_bytes(payload[:8].ljust(8, b"\0"), "big")))
    if flags & 8:
        attrs.append((stun.ATTR_USE_CANDIDATE, None))
    if flags & 16:
        attrs.append((0x7F00 | (payload[0] if payload else 0), payload[:16]))
    msg = stun.Message(stun.BINDING, stun.REQUEST, None, attrs)  # type: ignore[arg-type]
    return msg.marshal(PWD, bool(flags & 32))


def _response_to(request: bytes, payload: bytes, flags: int) -> bytes:
    """A response (success or error) to one of the agent's own requests."""
    tid = stun.peek_transaction_id(request)
    if flags & 1:
        code = 400 + (payload[0] if payload else 87) % 200
        msg = stun.Message(
            stun.BINDING, stun.ERROR_RESPONSE, tid, [(stun.ATTR_ERROR_CODE, (code, "x"))]
        )
    else:
        msg = stun.Message(
            stun.BINDING,
            stun.SUCCESS_RESPONSE,
            tid,
            [(stun.ATTR_XOR_MAPPED_ADDRESS, ("10.9.9.9", 9))],
        )
    key = R_PWD if not flags & 2 else "wrong"
    return msg.marshal(key, True)


def run(data: bytes) -> IceAgent:
    """Interpret ``data`` as a sequence of operations on one agent."""
    if not data:
        return _agent(True, False)
    agent = _agent(bool(data[0] & 1), bool(data[0] & 2))
    now = 0.0
    sent: list[bytes] = []
    pos = 1
    while pos + 2 <= len(data):
        op, n = data[pos], data[pos + 1]
        chunk = data[pos + 2 : pos + 2 + n]
        pos += 2 + n
        kind = op % 8
        if kind == 0:
            agent.handle_datagram(LOCAL, REMOTE, chunk, now)
        elif kind == 1:
            agent.handle_datagram(LOCAL, ("10.7.7.7", 7 + op), chunk, now)
        elif kind == 2:
            agent.handle_datagram(LOCAL, REMOTE, _signed_request(chunk, op >> 3), now)
        elif kind == 3 and sent:
            req = sent[(op >> 3) % len(sent)]
            src = REMOTE if not op & 0x80 else ("10.7.7.7", 7)
            agent.handle_datagram(LOCAL, src, _response_to(req, chunk, op >> 3), now)
        elif kind == 4:
            deadline = agent.next_deadline()
            step = (chunk[0] if chunk else 1) / 10.0
            now = max(now, deadline if deadline is not None and op & 8 else now + step)
            agent.handle_timeout(now)
        elif kind == 5:
            try:
                agent.add_remote_candidate(Candidate.from_sdp(chunk.decode("latin-1")))
            except ParseError:
                pass
        elif kind == 6:
            if op & 8:
                agent.add_remote_candidate(None)
            elif op & 16:
                agent.restart()
                agent.set_remote_credentials(R_UFRAG + "x", R_PWD)
        else:
            pair = agent.send_pair()
            if pair is not None:
                agent.data_sent(pair, n, now)
        while (t := agent.poll_transmit()) is not None:
            assert isinstance(t.data, bytes) and t.data
            if stun.is_stun(t.data):
                parsed = stun.Message.parse(t.data)
                if parsed.message_class == stun.REQUEST:
                    sent.append(t.data)
        while agent.poll_event() is not None:
            pass
        deadline = agent.next_deadline()
        assert deadline is None or not math.isnan(deadline)
    agent.get_stats()
    return agent


def TestOneInput(data: bytes) -> None:
    run(data)


def seeds() -> list[bytes]:
    return [
        b"\x00" + b"\x02\x04abcd" + b"\x04\x01\x05" + b"\x03\x00" + b"\x0c\x00",
        b"\x01" + b"\x12\x02ab" + b"\x43\x01\x01" + b"\x04\x01\x50" + b"\x0b\x00",
        b"\x02" + b"\x1a\x04abcd" + b"\x06\x00" + b"\x04\x01\x05",
        b"\x00\x05\x2bcandidate:1 1 udp 5 10.0.0.3 9 typ host\x04\x01\x09",
    ]


if __name__ == "__main__":
    from fuzz._harness import main

    main(TestOneInput, seeds(), sys.argv)
