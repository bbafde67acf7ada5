"""webrtc-pc §4.3.1: the signaling state machine, as a table.

Every (state, setLocalDescription/setRemoteDescription, type) pair: the
transitions the spec's diagram lists, and InvalidStateError for the rest
(RFC 8829 §5.5/§5.6), plus implicit rollback of a local offer when a remote
offer arrives (perfect negotiation, webrtc-pc §4.4.1.6).  No network: the
transports are a fake (tests/pc_fakes.py)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from rtcengine import RTCSessionDescription
from rtcengine.exceptions import InvalidStateError
from tests.pc_fakes import FakePeerConnection

STATES = ["stable", "have-local-offer", "have-remote-offer", "have-local-pranswer",
          "have-remote-pranswer"]
ACTIONS = [(side, t) for side in ("local", "remote")
           for t in ("offer", "answer", "pranswer", "rollback")]

# webrtc-pc §4.3.1 (the state diagram) + RFC 8829 §5.5/§5.6; None = InvalidStateError.
TABLE: dict[tuple[str, str, str], str | None] = {
    ("stable", "local", "offer"): "have-local-offer",
    ("stable", "remote", "offer"): "have-remote-offer",
    ("have-local-offer", "local", "offer"): "have-local-offer",
    ("have-local-offer", "remote", "answer"): "stable",
    ("have-local-offer", "remote", "pranswer"): "have-remote-pranswer",
    ("have-local-offer", "local", "rollback"): "stable",
    ("have-local-offer", "remote", "rollback"): "stable",
    # Perfect negotiation: implicit rollback, then the remote offer.
    ("have-local-offer", "remote", "offer"): "have-remote-offer",
    ("have-remote-pranswer", "remote", "pranswer"): "have-remote-pranswer",
    ("have-remote-pranswer", "remote", "answer"): "stable",
    ("have-remote-offer", "remote", "offer"): "have-remote-offer",
    ("have-remote-offer", "local", "answer"): "stable",
    ("have-remote-offer", "local", "pranswer"): "have-local-pranswer",
    ("have-remote-offer", "local", "rollback"): "stable",
    ("have-remote-offer", "remote", "rollback"): "stable",
    ("have-local-pranswer", "local", "pranswer"): "have-local-pranswer",
    ("have-local-pranswer", "local", "answer"): "stable",
}


async def reach(state: str) -> tuple[FakePeerConnection, FakePeerConnection]:
    """(pc in ``state``, the remote peer it negotiates with)."""
    pc, remote = FakePeerConnection(), FakePeerConnection()
    if state in ("have-local-offer", "have-remote-pranswer"):
        pc.createDataChannel("x")
        await pc.setLocalDescription(await pc.createOffer())
        await remote.setRemoteDescription(pc.localDescription)
        if state == "have-remote-pranswer":
            answer = await remote.createAnswer()
            await pc.setRemoteDescription(RTCSessionDescription(sdp=answer.sdp, type="pranswer"))
    elif state in ("have-remote-offer", "have-local-pranswer"):
        remote.createDataChannel("x")
        await remote.setLocalDescription(await remote.createOffer())
        await pc.setRemoteDescription(remote.localDescription)
        if state == "have-local-pranswer":
            await pc.setLocalDescription({"type": "pranswer"})
    assert pc.signalingState == state
    return pc, remote


async def remote_description(pc: FakePeerConnection, remote: FakePeerConnection,
                             sdp_type: str) -> RTCSessionDescription:
    """A remote description of ``sdp_type`` that is valid content-wise."""
    if sdp_type == "rollback":
        return RTCSessionDescription(sdp="", type="rollback")
    if sdp_type == "offer":
        other = FakePeerConnection()
        other.createDataChannel("y")
        await other.setLocalDescription(await other.createOffer())
        desc = other.localDescription
        await other.close()
        assert desc is not None
        return desc
    # An answer/pranswer to our pending offer if we have one, else to anything.
    if remote.signalingState == "have-remote-offer":
        answer = await remote.createAnswer()
        return RTCSessionDescription(sdp=answer.sdp, type=sdp_type)
    other = FakePeerConnection()
    helper = FakePeerConnection()
    helper.createDataChannel("z")
    await helper.setLocalDescription(await helper.createOffer())
    await other.setRemoteDescription(helper.localDescription)
    answer = await other.createAnswer()
    await other.close()
    await helper.close()
    return RTCSessionDescription(sdp=answer.sdp, type=sdp_type)


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("side,sdp_type", ACTIONS)
def test_transition(state: str, side: str, sdp_type: str) -> None:
    expected = TABLE.get((state, side, sdp_type))

    async def main() -> None:
        pc, remote = await reach(state)
        changes: list[str] = []
        pc.on("signalingstatechange", lambda: changes.append(pc.signalingState))
        action: Any
        if side == "local":
            action = pc.setLocalDescription({"type": sdp_type})
        else:
            action = pc.setRemoteDescription(await remote_description(pc, remote, sdp_type))
        if expected is None:
            with pytest.raises(InvalidStateError):
                await action
            assert pc.signalingState == state
            assert changes == []
        else:
            await action
            assert pc.signalingState == expected
            if (state, side, sdp_type) == ("have-local-offer", "remote", "offer"):
                assert changes == ["stable", "have-remote-offer"]  # implicit rollback
            elif expected != state:
                assert changes == [expected]
        await pc.close()
        await remote.close()

    asyncio.run(main())


@pytest.mark.parametrize("side,sdp_type", ACTIONS)
def test_closed_rejects_everything(side: str, sdp_type: str) -> None:
    async def main() -> None:
        pc = FakePeerConnection()
        await pc.close()
        assert pc.signalingState == "closed"
        with pytest.raises(InvalidStateError):
            if side == "local":
                await pc.setLocalDescription({"type": sdp_type})
            else:
                await pc.setRemoteDescription({"type": sdp_type, "sdp": ""})

    asyncio.run(main())


def test_descriptions_follow_the_state_machine() -> None:
    """pending/current local/remote descriptions (webrtc-pc §4.4.1.5)."""

    async def main() -> None:
        a, b = FakePeerConnection(), FakePeerConnection()
        a.createDataChannel("c")
        await a.setLocalDescription()
        assert a.pendingLocalDescription is not None and a.currentLocalDescription is None
        assert a.localDescription == a.pendingLocalDescription
        await b.setRemoteDescription(a.localDescription)
        assert b.pendingRemoteDescription is not None and b.currentRemoteDescription is None
        await b.setLocalDescription({"type": "pranswer"})
        assert b.pendingLocalDescription is not None
        assert b.pendingLocalDescription.type == "pranswer"
        await a.setRemoteDescription(b.localDescription)
        assert a.signalingState == "have-remote-pranswer"
        assert a.pendingRemoteDescription is not None
        await b.setLocalDescription()
        assert b.signalingState == "stable"
        assert b.pendingLocalDescription is None and b.pendingRemoteDescription is None
        assert b.currentLocalDescription is not None
        assert b.currentLocalDescription.type == "answer"
        assert b.currentRemoteDescription is not None
        await a.setRemoteDescription(b.localDescription)
        assert a.signalingState == "stable"
        assert a.currentRemoteDescription is not None
        assert a.currentRemoteDescription.type == "answer"
        assert a.pendingLocalDescription is None and a.pendingRemoteDescription is None
        assert a.currentLocalDescription is not None
        assert a.currentLocalDescription.type == "offer"
        # Rollback drops only the pending descriptions.
        await a.setLocalDescription()
        await a.setLocalDescription({"type": "rollback"})
        assert a.pendingLocalDescription is None
        assert a.currentLocalDescription is not None
        await a.close()
        await b.close()

    asyncio.run(main())
