"""rtcengine.contrib.signaling: aiortc's helpers, same wire format."""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import socket
from pathlib import Path

import pytest

from rtcengine import RTCSessionDescription
from rtcengine.contrib.signaling import (
    BYE,
    CopyAndPasteSignaling,
    TcpSocketSignaling,
    UnixSocketSignaling,
    add_signaling_arguments,
    create_signaling,
    object_from_string,
    object_to_string,
)
from rtcengine.ice.candidate import Candidate

LINE = "candidate:842163049 1 udp 1677729535 192.0.2.7 40000 typ srflx raddr 10.0.0.2 rport 5000"


def test_description_round_trip() -> None:
    for kind in ("offer", "answer", "pranswer"):
        desc = RTCSessionDescription(sdp="v=0\r\n", type=kind)
        text = object_to_string(desc)
        assert json.loads(text) == {"sdp": "v=0\r\n", "type": kind}
        assert object_from_string(text) == desc


def test_candidate_round_trip() -> None:
    c = Candidate.from_sdp(LINE)
    c.sdpMid, c.sdpMLineIndex = "0", 0
    text = object_to_string(c)
    assert json.loads(text) == {"candidate": LINE, "id": "0", "label": 0, "type": "candidate"}
    back = object_from_string(text)
    assert isinstance(back, Candidate)
    assert back.to_sdp() == c.to_sdp() and back.sdpMid == "0" and back.sdpMLineIndex == 0


def test_bye_and_end_of_candidates() -> None:
    assert object_to_string(BYE) == '{"type": "bye"}'
    assert object_from_string('{"type": "bye"}') is BYE
    assert object_from_string('{"type": "candidate", "candidate": "", "id": "0"}') is None
    with pytest.raises(ValueError):
        object_from_string('{"type": "nonsense"}')


def test_interoperates_with_aiortc_format() -> None:
    aiortc_signaling = pytest.importorskip("aiortc.contrib.signaling")
    from aiortc.sdp import candidate_from_sdp

    theirs = candidate_from_sdp(LINE.removeprefix("candidate:"))
    theirs.sdpMid, theirs.sdpMLineIndex = "0", 0
    ours = object_from_string(aiortc_signaling.object_to_string(theirs))
    assert isinstance(ours, Candidate) and ours.to_sdp() == LINE.removeprefix("candidate:")
    back = aiortc_signaling.object_from_string(object_to_string(theirs))
    assert back.ip == "192.0.2.7" and back.sdpMid == "0"
    desc = RTCSessionDescription(sdp="v=0\r\n", type="offer")
    assert aiortc_signaling.object_from_string(object_to_string(desc)).type == "offer"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def _exchange(a: object, b: object) -> None:
    desc = RTCSessionDescription(sdp="v=0\r\n", type="offer")
    sender = asyncio.ensure_future(a.send(desc))  # type: ignore[attr-defined]
    got = await b.receive()  # type: ignore[attr-defined]
    await sender
    assert got == desc
    await b.send(BYE)  # type: ignore[attr-defined]
    assert await a.receive() is BYE  # type: ignore[attr-defined]
    await a.close()  # type: ignore[attr-defined]
    await b.close()  # type: ignore[attr-defined]


def test_tcp_socket() -> None:
    port = _free_port()
    asyncio.run(_exchange(TcpSocketSignaling("127.0.0.1", port),
                          TcpSocketSignaling("127.0.0.1", port)))


def test_unix_socket(tmp_path: Path) -> None:
    path = str(tmp_path / "sig.sock")
    asyncio.run(_exchange(UnixSocketSignaling(path), UnixSocketSignaling(path)))
    assert not os.path.exists(path)


def test_peer_gone_receives_none() -> None:
    async def main() -> None:
        port = _free_port()
        server, client = TcpSocketSignaling("127.0.0.1", port), TcpSocketSignaling(
            "127.0.0.1", port)
        sender = asyncio.ensure_future(server.send(BYE))
        assert await client.receive() is BYE
        await sender
        await server.close()  # sends BYE, then hangs up
        assert await client.receive() is BYE
        assert await client.receive() is None
        await client.close()

    asyncio.run(main())


def test_copy_and_paste() -> None:
    async def main() -> None:
        r, w = os.pipe()
        out = io.StringIO()
        with os.fdopen(r, "r") as read_pipe:
            sig = CopyAndPasteSignaling(read_pipe=read_pipe, write_pipe=out)
            await sig.connect()
            desc = RTCSessionDescription(sdp="v=0\r\n", type="answer")
            os.write(w, (object_to_string(desc) + "\n").encode())
            assert await sig.receive() == desc
            await sig.send(desc)
            assert object_to_string(desc) in out.getvalue()
            await sig.close()
        os.close(w)

    asyncio.run(main())


def test_argparse_helpers() -> None:
    parser = argparse.ArgumentParser()
    add_signaling_arguments(parser)
    args = parser.parse_args(["-s", "tcp-socket", "--signaling-port", "4321"])
    sig = create_signaling(args)
    assert isinstance(sig, TcpSocketSignaling) and sig._port == 4321
    args = parser.parse_args(["-s", "unix-socket", "--signaling-path", "/tmp/x.sock"])
    assert isinstance(create_signaling(args), UnixSocketSignaling)
    assert isinstance(create_signaling(parser.parse_args([])), CopyAndPasteSignaling)
