"""RTCP: compound parse, TWCC, NACK build, allocation-free walks (vs aiortc)."""

from __future__ import annotations

import array

from rtcengine._bench import Case
from rtcengine._core import rtcp

# The packets the workloads use, from tests/data/vectors/rtcp/rtcp_packets.json
# (ids as keys; tests/core/test_rtcp.py checks they still match that file).
# Kept here so the benchmark runs from an installed wheel.
PACKETS: dict[str, bytes] = {
    # concatenation of aiortc tests/rtcp_sr.bin + tests/rtcp_sdes.bin (same SSRC 0x6d2453ea; a standard SR+SDES compound)
    "aiortc-compound-sr-sdes": bytes.fromhex(
        "81c8000c6d2453eade46475b151a005c66a8dd3e0000010d000034f58ef891ed"
        "00000000000000f60000007f000000000000000081ca000c6d2453ea01267b36"
        "336634353965612d343166652d343437342d396433332d393730376339656537"
        "3964317d00000000"
    ),
    # pion/rtcp packet_test.go realPacket() ('An RTCP packet from a packet dump')
    "pion-compound-real-dump": bytes.fromhex(
        "81c90007902f9e2ebc5e9a4000000000000046e10000011109f3643200024a79"
        "81ca000c902f9e2e01267b39633030656239322d316166622d396434392d6134"
        "37642d3931663634656565363966357d0000000081cb0001902f9e2e81ce0002"
        "902f9e2e902f9e2e85cd0002902f9e2e902f9e2e80cc00034baae1ab4e414d45"
        "41424344"
    ),
    # pion/rtcp transport_layer_cc_test.go TestTransportLayerCC_Unmarshal 'example6'
    "pion-twcc-example6": bytes.fromhex(
        "afcd00079b74f61f9371dcbc853c000963f916b3d55200309baa6aaa7b010901"
    ),
}


def cases() -> list[Case]:
    vec = PACKETS
    sr_sdes = vec["aiortc-compound-sr-sdes"]
    dump = vec["pion-compound-real-dump"]  # RR + SDES + BYE + PLI + RRR + APP
    twcc = vec["pion-twcc-example6"]
    lost = [100, 101, 105, 130, 131, 132, 200, 250, 251, 270]

    # 64 datagrams (SR+SDES and the dump, alternating) in one buffer.
    batch = 64
    datagrams = [sr_sdes if i % 2 == 0 else dump for i in range(batch)]
    blob = b"".join(datagrams)
    offsets = array.array("i")
    lengths = array.array("i")
    pos = 0
    for d in datagrams:
        offsets.append(pos)
        lengths.append(len(d))
        pos += len(d)
    counts = array.array("i", [0] * batch)
    out = array.array("i", [0] * (4 * 8 * batch))
    one = array.array("i", [0] * 64)

    def twcc_parse() -> object:
        packet = rtcp.parse_compound(twcc)[0]
        assert isinstance(packet, rtcp.RtcpTwccPacket)
        return packet.arrivals

    out_cases = [
        Case(
            name="RTCP compound parse (SR+SDES)",
            ours=lambda: rtcp.parse_compound(sr_sdes),
            bytes_per_op=len(sr_sdes),
            target_ratio=10.0,
        ),
        Case(
            name="RTCP compound parse (RR+SDES+BYE+PLI+RRR+APP)",
            ours=lambda: rtcp.parse_compound(dump),
            bytes_per_op=len(dump),
            note="aiortc skips the APP packet",
        ),
        Case(
            name="RTCP TWCC parse + arrivals (9 statuses)",
            ours=twcc_parse,
            note="aiortc cannot parse TWCC",
        ),
        Case(
            name="RTCP NACK build+marshal (10 lost)",
            ours=lambda: rtcp.RtcpNackPacket(1, 2, lost=lost).marshal(),
        ),
        Case(
            name="RTCP walk_compound (6 packets, no allocation)",
            ours=lambda: rtcp.walk_compound(dump, one),
            bytes_per_op=len(dump),
            note="C-level walk, no Python object per packet",
        ),
        Case(
            name=f"RTCP walk_batch ({batch} compounds)",
            ours=lambda: rtcp.walk_batch(blob, offsets, lengths, counts, out),
            ops_per_call=batch,
            bytes_per_op=len(blob) // batch,
            note="per compound; C-level batch",
        ),
    ]
    try:
        from aiortc.rtp import RtcpPacket, RtcpRtpfbPacket

        for case, data in ((out_cases[0], sr_sdes), (out_cases[1], dump)):
            case.baseline = lambda data=data: RtcpPacket.parse(data)
            case.baseline_name = "aiortc RtcpPacket.parse"
        out_cases[3].baseline = lambda: bytes(
            RtcpRtpfbPacket(fmt=1, ssrc=1, media_ssrc=2, lost=lost)
        )
        out_cases[3].baseline_name = "aiortc RtcpRtpfbPacket"
    except ImportError:
        pass
    return out_cases
