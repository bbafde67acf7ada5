"""A peer for the "peer vanishes" test: answers one offer received over
TcpSocketSignaling (127.0.0.1, argv[1]), then runs until it is killed."""

from __future__ import annotations

import asyncio
import sys

from rtcengine import RTCPeerConnection, RTCSessionDescription
from rtcengine.contrib.signaling import TcpSocketSignaling


async def main(port: int) -> None:
    signaling = TcpSocketSignaling("127.0.0.1", port)
    pc = RTCPeerConnection()
    pc.on("datachannel", lambda channel: channel.on("message", channel.send))
    offer = await signaling.receive()
    assert isinstance(offer, RTCSessionDescription)
    await pc.setRemoteDescription(offer)
    await pc.setLocalDescription()
    await signaling.send(pc.localDescription)
    await asyncio.sleep(3600)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
