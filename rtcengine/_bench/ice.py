"""ICE: binding requests answered per second by an agent (RFC 8445 §7.3):
rtcengine's sans-IO agent (``handle_datagram`` + ``poll_transmit``) against
aioice's ``Connection.request_received`` on the same bytes."""

from __future__ import annotations

from typing import Any

from rtcengine._bench import Case
from rtcengine._core import stun
from rtcengine.ice.agent import IceAgent
from rtcengine.ice.candidate import Candidate, candidate_foundation, candidate_priority

LOCAL = ("192.0.2.1", 40000)
REMOTE = ("192.0.2.2", 50000)
LOCAL_UFRAG, LOCAL_PWD = "h6vY", "VOkJxbRl1RmTxUk/WvJxBt"
REMOTE_UFRAG, REMOTE_PWD = "evtj", "xbRl1RmTxUk/WvJxBtVOkJ"


def _host(addr: tuple[str, int]) -> Candidate:
    return Candidate(
        component=1,
        foundation=candidate_foundation("host", "udp", addr[0]),
        ip=addr[0],
        port=addr[1],
        priority=candidate_priority(1, "host"),
        protocol="udp",
        type="host",
    )


def request_bytes() -> bytes:
    """A browser-style check from the controlling peer (RFC 8445 §7.1)."""
    msg = stun.Message(
        stun.BINDING,
        stun.REQUEST,
        bytes.fromhex("b7e7a701bc34d686fa87dfae"),
        [
            (stun.ATTR_USERNAME, f"{LOCAL_UFRAG}:{REMOTE_UFRAG}"),
            (stun.ATTR_PRIORITY, 1845494271),
            (stun.ATTR_ICE_CONTROLLING, 0x932FF9B151263B36),
            (stun.ATTR_USE_CANDIDATE, None),
        ],
    )
    return msg.marshal(LOCAL_PWD.encode(), True)


def cases() -> list[Case]:
    data = request_bytes()
    agent = IceAgent(False, ufrag=LOCAL_UFRAG, pwd=LOCAL_PWD, tie_breaker=1)
    key = "socket"
    agent.add_local_candidate(_host(LOCAL), key)
    agent.set_remote_credentials(REMOTE_UFRAG, REMOTE_PWD)
    agent.add_remote_candidate(_host(REMOTE))
    handle = agent.handle_datagram
    poll = agent.poll_transmit
    # Warm up: the first check creates the pair; drain the agent's queues.
    handle(key, REMOTE, data, 0.0)
    while poll() is not None:
        pass
    while agent.poll_event() is not None:
        pass

    def ours() -> bytes:
        handle(key, REMOTE, data, 1.0)
        t = poll()
        assert t is not None
        return t.data

    answer = ours()
    assert stun.Message.parse(answer).verify(LOCAL_PWD)
    out = [
        Case(
            name="ICE binding request answered by an agent (parse, verify, respond)",
            ours=ours,
            bytes_per_op=len(data),
        )
    ]
    try:
        import aioice
        import aioice.ice as aice
        import aioice.stun as astun
    except ImportError:
        return out

    conn = aioice.Connection(ice_controlling=False, components=1)
    conn._local_username = LOCAL_UFRAG  # the bytes are fixed: use the same credentials
    conn._local_password = LOCAL_PWD
    conn.remote_username = REMOTE_UFRAG
    conn.remote_password = REMOTE_PWD
    conn._early_checks_done = True
    sent: list[bytes] = []

    class Protocol:
        """What aioice's StunProtocol offers request_received: send_stun."""

        local_candidate = aioice.Candidate(
            candidate_foundation("host", "udp", LOCAL[0]), 1, "udp", 2130706431, *LOCAL, "host"
        )

        def send_stun(self, message: Any, addr: tuple[str, int]) -> None:
            sent.append(bytes(message))

    protocol = Protocol()
    remote = aioice.Candidate("1", 1, "udp", 2130706431, *REMOTE, "host")
    conn._remote_candidates.append(remote)
    pair = aice.CandidatePair(protocol, remote)  # type: ignore[arg-type]
    pair.state = aice.CandidatePair.State.SUCCEEDED
    conn._check_list.append(pair)
    parse = astun.parse_message
    received = conn.request_received

    def baseline() -> bytes:
        received(parse(data), REMOTE, protocol)  # type: ignore[arg-type]
        return sent.pop()

    theirs = stun.Message.parse(baseline())
    assert theirs.verify(LOCAL_PWD) and theirs.get(stun.ATTR_XOR_MAPPED_ADDRESS) == REMOTE
    out[0].baseline = baseline
    out[0].baseline_name = "aioice"
    return out
