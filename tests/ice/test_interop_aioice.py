"""rtcengine's ICE driver against aioice (aiortc's ICE) on this host, both roles."""

from __future__ import annotations

import asyncio

import pytest

from rtcengine.ice.agent import IceState
from rtcengine.ice.candidate import Candidate
from rtcengine.ice.config import IceConfig
from rtcengine.ice.driver import IceDriver, host_addresses

aioice = pytest.importorskip("aioice")

pytestmark = pytest.mark.interop


def _config() -> IceConfig:
    return IceConfig(use_ipv6=False)


@pytest.mark.skipif(not host_addresses(IceConfig(use_ipv6=False)), reason="no non-loopback IPv4")
@pytest.mark.parametrize(
    "we_control", [True, False], ids=["rtcengine-controlling", "aioice-controlling"]
)
@pytest.mark.parametrize("aggressive", [False, True], ids=["regular", "aggressive"])
def test_connect_and_exchange(we_control: bool, aggressive: bool) -> None:
    async def main() -> None:
        cfg = _config()
        cfg.aggressive_nomination = aggressive
        ours = IceDriver(we_control, cfg)
        theirs = aioice.Connection(ice_controlling=not we_control, components=1, use_ipv6=False)
        received: list[bytes] = []
        ours.on_data = received.append
        try:
            await asyncio.gather(ours.gather(), theirs.gather_candidates())
            ours.set_remote_credentials(theirs.local_username, theirs.local_password)
            theirs.remote_username = ours.local_username
            theirs.remote_password = ours.local_password
            for c in theirs.local_candidates:
                ours.add_remote_candidate(Candidate.from_sdp(c.to_sdp()))
            ours.add_remote_candidate(None)
            for c in ours.local_candidates:
                await theirs.add_remote_candidate(aioice.Candidate.from_sdp(c.to_sdp()))
            await theirs.add_remote_candidate(None)
            await asyncio.wait_for(asyncio.gather(ours.connect(), theirs.connect()), 10)
            assert ours.state in (IceState.CONNECTED, IceState.COMPLETED)
            # Application data both ways (DTLS-looking first byte, RFC 7983).
            await theirs.send(b"\x16hello from aioice")
            for _ in range(200):
                if received:
                    break
                await asyncio.sleep(0.005)
            assert received == [b"\x16hello from aioice"]
            assert ours.send(b"\x17hello from rtcengine")
            data = await asyncio.wait_for(theirs.recv(), 2)
            assert data == b"\x17hello from rtcengine"
            sel = ours.selected_pair
            assert sel is not None and sel.nominated
            assert ours.agent.controlling == we_control
        finally:
            await theirs.close()
            await ours.close()

    asyncio.run(main())


@pytest.mark.skipif(not host_addresses(IceConfig(use_ipv6=False)), reason="no non-loopback IPv4")
def test_consent_against_aioice() -> None:
    """aioice answers our consent checks (RFC 7675): state stays connected."""

    async def main() -> None:
        ours = IceDriver(True, _config(), consent_interval=0.05)
        theirs = aioice.Connection(ice_controlling=False, components=1, use_ipv6=False)
        try:
            await asyncio.gather(ours.gather(), theirs.gather_candidates())
            ours.set_remote_credentials(theirs.local_username, theirs.local_password)
            theirs.remote_username = ours.local_username
            theirs.remote_password = ours.local_password
            for c in theirs.local_candidates:
                ours.add_remote_candidate(Candidate.from_sdp(c.to_sdp()))
            ours.add_remote_candidate(None)
            for c in ours.local_candidates:
                await theirs.add_remote_candidate(aioice.Candidate.from_sdp(c.to_sdp()))
            await theirs.add_remote_candidate(None)
            await asyncio.wait_for(asyncio.gather(ours.connect(), theirs.connect()), 10)
            await asyncio.sleep(0.5)
            sel = ours.selected_pair
            assert sel is not None and sel.consentRequestsSent >= 3
            assert ours.state in (IceState.CONNECTED, IceState.COMPLETED)
        finally:
            await theirs.close()
            await ours.close()

    asyncio.run(main())
