"""Simple signaling for examples and tools, with the helpers of
``aiortc.contrib.signaling``: JSON encoding of descriptions and candidates
(:func:`object_to_string`, :func:`object_from_string`), :data:`BYE`,
signaling over a TCP socket, a Unix socket or copy and paste, and the
argparse helpers :func:`add_signaling_arguments` / :func:`create_signaling`.

Messages are one JSON object per line: ``{"type": "offer"|"answer"|
"pranswer"|"rollback", "sdp": ...}``, ``{"type": "candidate", "candidate":
"candidate:...", "id": <sdpMid>, "label": <sdpMLineIndex>}`` or
``{"type": "bye"}`` (aiortc's format, so the two interoperate).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from abc import ABC, abstractmethod
from typing import Any, TextIO

from rtcengine.ice.candidate import Candidate
from rtcengine.rtcsessiondescription import SDP_TYPES, RTCSessionDescription

__all__ = [
    "BYE",
    "BaseSignaling",
    "CopyAndPasteSignaling",
    "SignalingBye",
    "TcpSocketSignaling",
    "UnixSocketSignaling",
    "add_signaling_arguments",
    "create_signaling",
    "object_from_string",
    "object_to_string",
]


# How long the receiving side keeps trying to reach a peer that does not
# listen yet, and how often.
CONNECT_TIMEOUT = 30.0
CONNECT_RETRY = 0.05


class SignalingBye:
    """The end of the session (``{"type": "bye"}``)."""

    def __repr__(self) -> str:
        return "BYE"


BYE = SignalingBye()

SignalingObject = RTCSessionDescription | Candidate | SignalingBye


def object_from_string(message_str: str) -> SignalingObject | None:
    """Decode one message.  A candidate message with an empty candidate
    (end-of-candidates) decodes to None: pass it to ``addIceCandidate``."""
    message = json.loads(message_str)
    if not isinstance(message, dict):
        raise ValueError(f"a signaling message is a JSON object, got {message_str!r}")
    kind = message.get("type")
    if kind in SDP_TYPES:
        return RTCSessionDescription(sdp=message.get("sdp", ""), type=kind)
    if kind == "candidate" and message.get("candidate"):
        candidate = Candidate.from_sdp(message["candidate"])
        candidate.sdpMid = message.get("id")
        candidate.sdpMLineIndex = message.get("label")
        return _rtc_candidate(candidate)
    if kind == "candidate":
        return None
    if kind == "bye":
        return BYE
    raise ValueError(f"unknown signaling message type {kind!r}")


def _rtc_candidate(candidate: Candidate) -> Candidate:
    try:
        from rtcengine.rtcicetransport import RTCIceCandidate
    except ImportError:  # pragma: no cover - the transports are part of the package
        return candidate
    return RTCIceCandidate(
        candidate.component, candidate.foundation, candidate.ip, candidate.port,
        candidate.priority, candidate.protocol, candidate.type,
        relatedAddress=candidate.relatedAddress, relatedPort=candidate.relatedPort,
        sdpMid=candidate.sdpMid, sdpMLineIndex=candidate.sdpMLineIndex,
        extensions=list(candidate.extensions),
    )


def object_to_string(obj: Any) -> str:
    """Encode a description, a candidate (ours or aiortc's) or :data:`BYE`."""
    message: dict[str, Any]
    if isinstance(obj, SignalingBye):
        message = {"type": "bye"}
    elif isinstance(obj, Candidate):
        message = {"candidate": obj.candidate, "id": obj.sdpMid, "label": obj.sdpMLineIndex,
                   "type": "candidate"}
    elif hasattr(obj, "sdp") and hasattr(obj, "type"):
        message = {"sdp": obj.sdp, "type": obj.type}
    elif hasattr(obj, "foundation") and hasattr(obj, "ip"):
        c = Candidate(obj.component, obj.foundation, obj.ip, obj.port, obj.priority,
                      obj.protocol, obj.type, relatedAddress=obj.relatedAddress,
                      relatedPort=obj.relatedPort, tcpType=getattr(obj, "tcpType", None))
        message = {"candidate": c.candidate, "id": obj.sdpMid, "label": obj.sdpMLineIndex,
                   "type": "candidate"}
    else:
        raise TypeError(f"cannot encode {obj!r} as a signaling message")
    return json.dumps(message, sort_keys=True)


class BaseSignaling(ABC):
    """connect / send / receive / close; ``receive()`` gives None once the
    peer has gone."""

    @abstractmethod
    async def connect(self) -> None: ...

    @abstractmethod
    async def close(self) -> None: ...

    @abstractmethod
    async def send(self, descr: Any) -> None: ...

    @abstractmethod
    async def receive(self) -> SignalingObject | None: ...


class CopyAndPasteSignaling(BaseSignaling):
    """Print messages for the user to carry to the other side; read theirs
    from standard input."""

    def __init__(self, read_pipe: TextIO | None = None, write_pipe: TextIO | None = None) -> None:
        self._read_pipe = read_pipe or sys.stdin
        self._write_pipe = write_pipe or sys.stdout
        self._read_transport: asyncio.ReadTransport | None = None
        self._reader: asyncio.StreamReader | None = None

    async def connect(self) -> None:
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        self._read_transport, _ = await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), self._read_pipe
        )
        self._reader = reader

    async def close(self) -> None:
        if self._reader is not None:
            await self.send(BYE)
            if self._read_transport is not None:
                self._read_transport.close()
            self._reader = None

    async def receive(self) -> SignalingObject | None:
        if self._reader is None:
            await self.connect()
        assert self._reader is not None
        self._write_pipe.write("-- Please enter a message from remote party --\n")
        self._write_pipe.flush()
        data = await self._reader.readline()
        if not data:
            return None
        self._write_pipe.write("\n")
        return object_from_string(data.decode(getattr(self._read_pipe, "encoding", None) or "utf8"))

    async def send(self, descr: Any) -> None:
        self._write_pipe.write("-- Please send this message to the remote party --\n")
        self._write_pipe.write(object_to_string(descr) + "\n\n")
        self._write_pipe.flush()


class _StreamSignaling(BaseSignaling):
    """One JSON message per line over a stream.  The first side to send
    becomes the server (it listens, waits for the peer); the first side to
    receive connects, as in aiortc."""

    def __init__(self) -> None:
        self._server: asyncio.Server | None = None
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def connect(self) -> None:
        pass

    @abstractmethod
    async def _listen(
        self, on_client: Any
    ) -> asyncio.Server: ...

    @abstractmethod
    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]: ...

    async def _connect(self, server: bool) -> None:
        if self._writer is not None:
            return
        if server:
            connected = asyncio.Event()

            def on_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
                if self._writer is None:
                    self._reader, self._writer = reader, writer
                    connected.set()
                else:
                    writer.close()

            self._server = await self._listen(on_client)
            await connected.wait()
        else:
            # The peer may not listen yet: retry for a while (aiortc does not).
            loop = asyncio.get_running_loop()
            deadline = loop.time() + CONNECT_TIMEOUT
            while True:
                try:
                    self._reader, self._writer = await self._open()
                    return
                except (ConnectionRefusedError, FileNotFoundError):
                    if loop.time() >= deadline:
                        raise
                    await asyncio.sleep(CONNECT_RETRY)

    async def close(self) -> None:
        if self._writer is not None:
            try:
                await self.send(BYE)
                self._writer.close()
                await self._writer.wait_closed()
            except (ConnectionError, OSError):
                pass
            self._reader = None
            self._writer = None
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def receive(self) -> SignalingObject | None:
        await self._connect(False)
        assert self._reader is not None
        try:
            data = await self._reader.readuntil()
        except (asyncio.IncompleteReadError, ConnectionError):
            return None
        return object_from_string(data.decode("utf8"))

    async def send(self, descr: Any) -> None:
        await self._connect(True)
        assert self._writer is not None
        self._writer.write(object_to_string(descr).encode("utf8") + b"\n")
        await self._writer.drain()


class TcpSocketSignaling(_StreamSignaling):
    """Signaling over TCP (``host``, ``port``)."""

    def __init__(self, host: str, port: int) -> None:
        super().__init__()
        self._host = host
        self._port = int(port)

    async def _listen(self, on_client: Any) -> asyncio.Server:
        return await asyncio.start_server(on_client, host=self._host, port=self._port)

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.open_connection(host=self._host, port=self._port)


class UnixSocketSignaling(_StreamSignaling):
    """Signaling over a Unix socket at ``path`` (removed on close)."""

    def __init__(self, path: str) -> None:
        super().__init__()
        self._path = path

    async def _listen(self, on_client: Any) -> asyncio.Server:
        return await asyncio.start_unix_server(on_client, path=self._path)

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.open_unix_connection(self._path)

    async def close(self) -> None:
        listening = self._server is not None
        await super().close()
        if listening and os.path.exists(self._path):
            os.unlink(self._path)


def add_signaling_arguments(parser: argparse.ArgumentParser) -> None:
    """``--signaling/-s {copy-and-paste,tcp-socket,unix-socket}``,
    ``--signaling-host``, ``--signaling-port``, ``--signaling-path``."""
    parser.add_argument("--signaling", "-s",
                        choices=["copy-and-paste", "tcp-socket", "unix-socket"])
    parser.add_argument("--signaling-host", default="127.0.0.1",
                        help="Signaling host (tcp-socket only)")
    parser.add_argument("--signaling-port", type=int, default=1234,
                        help="Signaling port (tcp-socket only)")
    parser.add_argument("--signaling-path", default="rtcengine.socket",
                        help="Signaling socket path (unix-socket only)")


def create_signaling(args: argparse.Namespace) -> BaseSignaling:
    """The signaling the parsed arguments ask for (copy and paste by default)."""
    if args.signaling == "tcp-socket":
        return TcpSocketSignaling(args.signaling_host, args.signaling_port)
    if args.signaling == "unix-socket":
        return UnixSocketSignaling(args.signaling_path)
    return CopyAndPasteSignaling()
