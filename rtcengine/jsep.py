"""JSEP (RFC 8829) building blocks over :mod:`rtcengine.sdp`, for
RTCPeerConnection.

Pure functions: build the session part of an offer or answer, the data
channel ``m=application`` section, rejected sections; answer an offer;
extract what the ICE, DTLS and SCTP transports need from a remote
description; validate a remote description against the local one.  Errors
use the webrtc-pc names: a syntax error is an :class:`SdpSyntaxError` (an
``OperationError`` with ``errorDetail == "sdp-syntax-error"`` and
``sdpLineNumber``, webrtc-pc §4.4.1.6 / §11.1), inconsistent content an
``InvalidAccessError`` naming the m-section.

Policy: max-bundle (RFC 8829 §4.1.1): one transport for every m-section we
accept.  Audio and video are not supported yet (the media issue): offered
audio/video sections are answered rejected (port 0, ``a=inactive``, same
mid), and kept rejected in later offers.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final

from rtcengine.exceptions import InvalidAccessError, OperationError
from rtcengine.ice.candidate import Candidate
from rtcengine.sdp import (
    DATACHANNEL_FMT,
    Connection,
    Fingerprint,
    Group,
    MediaDescription,
    MsidSemantic,
    Origin,
    ParseError,
    Sctpmap,
    SessionDescription,
)

__all__ = [
    "DEFAULT_MAX_MESSAGE_SIZE",
    "DEFAULT_SCTP_PORT",
    "LocalTransport",
    "RemoteParameters",
    "RemoteSctpParameters",
    "RemoteTransportParameters",
    "SdpSyntaxError",
    "answer_setup",
    "create_answer",
    "create_offer",
    "datachannel_section",
    "dtls_role",
    "new_session_id",
    "next_session_version",
    "parse_description",
    "rejected_section",
    "remote_parameters",
    "session_description",
    "validate_remote_description",
]

# RFC 8841 §5.2 / RFC 8831 §6: the SCTP port browsers use for data channels.
DEFAULT_SCTP_PORT: Final = 5000
# RFC 8841 §6: what we advertise in a=max-message-size (Chromium's value).
DEFAULT_MAX_MESSAGE_SIZE: Final = 262144
# RFC 8841 §6.1: a peer that sends no a=max-message-size accepts 64 KiB.
IMPLIED_MAX_MESSAGE_SIZE: Final = 65536
# RFC 8829 §5.2.1 / RFC 8840 §4.1.1: the discard port, when no candidate is known yet.
DISCARD_PORT: Final = 9
# RFC 8829 §5.2.1: c= placeholder address before candidates are known.
PLACEHOLDER_CONNECTION: Final = Connection("IN", "IP4", "0.0.0.0")
# RFC 8829 §5.2.1: o= placeholder address.
PLACEHOLDER_ORIGIN_ADDRESS: Final = "0.0.0.0"
# RFC 8829 §5.1.2: the proto of a data channel m= section.
DATACHANNEL_PROTO: Final = "UDP/DTLS/SCTP"
# Legacy SCTP SDP (draft-ietf-mmusic-sctp-sdp-05): proto, and sctpmap streams.
LEGACY_SCTP_PROTO: Final = "DTLS/SCTP"
LEGACY_SCTP_STREAMS: Final = 1024
# RFC 8839 §5.4: ice-ufrag is 4..256 ice-chars, ice-pwd 22..256.
ICE_UFRAG_LENGTH: Final = (4, 256)
ICE_PWD_LENGTH: Final = (22, 256)
# RFC 8843 §7.1: the BUNDLE grouping semantics.
BUNDLE: Final = "BUNDLE"
# RFC 8840 §4.1.1 (trickle) — the ICE options we send.
DEFAULT_ICE_OPTIONS: Final = ("trickle",)


class SdpSyntaxError(OperationError):
    """webrtc-pc §4.4.1.6: SDP that cannot be parsed rejects with an RTCError
    (an OperationError) whose ``errorDetail`` is ``"sdp-syntax-error"`` and
    ``sdpLineNumber`` the offending line."""

    errorDetail: Final = "sdp-syntax-error"

    def __init__(self, error: ParseError) -> None:
        super().__init__(f"Failed to parse SessionDescription: {error}")
        self.sdpLineNumber: int | None = error.line_number or None
        self.line = error.line
        self.reason = error.reason


def parse_description(sdp: str) -> SessionDescription:
    """Parse SDP for setLocalDescription/setRemoteDescription; a syntax error
    is an :class:`SdpSyntaxError` naming the line."""
    try:
        return SessionDescription.parse(sdp)
    except ParseError as exc:
        raise SdpSyntaxError(exc) from exc


# ------------------------------------------------------------------ origin


def new_session_id() -> int:
    """RFC 8829 §5.2.1: a random sess-id below 2^63 - 1 (63 random bits,
    top bit zero)."""
    return secrets.randbelow(2**63 - 1)


def next_session_version(previous: SessionDescription | None, new: SessionDescription) -> int:
    """RFC 8829 §5.2.2/§5.3.2: sess-version starts at 0 and goes up by one
    when a new local description differs from the previous one in anything
    but the o= line."""
    if previous is None:
        return 0
    old_version = previous.origin.session_version
    if _same_body(previous, new):
        return old_version
    return old_version + 1


def _same_body(a: SessionDescription, b: SessionDescription) -> bool:
    """Equal but for the o= line (the second line)."""
    la, lb = a.lines(), b.lines()
    return la[:1] + la[2:] == lb[:1] + lb[2:]


# ------------------------------------------------------------ local pieces


@dataclass
class LocalTransport:
    """Our ICE and DTLS parameters: with max-bundle, every accepted m-section
    carries the same ones (RFC 8843 §7.1.3 / RFC 8829 §5.2.1)."""

    ice_ufrag: str
    ice_pwd: str
    fingerprints: list[Fingerprint]
    ice_lite: bool = False
    ice_options: Sequence[str] = DEFAULT_ICE_OPTIONS
    candidates: list[Candidate] = field(default_factory=list)
    end_of_candidates: bool = False


def session_description(
    session_id: int,
    session_version: int,
    *,
    bundle_mids: Sequence[str] = (),
    groups: Sequence[Group] = (),
    ice_lite: bool = False,
    ice_options: Sequence[str] = DEFAULT_ICE_OPTIONS,
    extmap_allow_mixed: bool = True,
    msid_semantic: bool = True,
) -> SessionDescription:
    """The session part (RFC 8829 §5.2.1): ``o=- <id> <version> IN IP4
    0.0.0.0``, ``s=-``, ``t=0 0``, then BUNDLE, extmap-allow-mixed,
    msid-semantic and ice-options (or ice-lite).  ``bundle_mids`` makes one
    BUNDLE group; ``groups`` adds others."""
    desc = SessionDescription()
    desc.origin = Origin("-", session_id, session_version, "IN", "IP4", PLACEHOLDER_ORIGIN_ADDRESS)
    if ice_lite:
        desc.ice_lite = True  # RFC 8839 §5.3: session level only
    if bundle_mids:
        groups = [Group(BUNDLE, tuple(bundle_mids)), *groups]
    for group in groups:
        desc.add("group", group)  # RFC 5888 §5, RFC 8843 §7.1
    if extmap_allow_mixed:
        desc.extmap_allow_mixed = True  # RFC 8285 §6 / RFC 8829 §5.2.1
    if msid_semantic:
        desc.add("msid-semantic", MsidSemantic("WMS", ("*",)))  # draft-ietf-mmusic-msid-05
    if ice_options:
        desc.ice_options = ice_options  # RFC 8839 §5.6, RFC 8840 §4.1.1
    return desc


def _transport_attributes(
    m: MediaDescription, transport: LocalTransport, setup: str, *, candidates: bool
) -> None:
    m.connections = [PLACEHOLDER_CONNECTION]
    m.ice_ufrag = transport.ice_ufrag  # RFC 8839 §5.4
    m.ice_pwd = transport.ice_pwd  # RFC 8839 §5.4
    if transport.ice_options:
        m.ice_options = transport.ice_options  # RFC 8839 §5.6
    m.fingerprints = transport.fingerprints  # RFC 8122 §5
    m.setup = setup  # RFC 8842 §5.1
    if candidates:
        for cand in transport.candidates:
            m.add_candidate(cand)  # RFC 8839 §5.1
        if transport.end_of_candidates:
            m.end_of_candidates = True  # RFC 8840 §8.2


def datachannel_section(
    mid: str,
    transport: LocalTransport,
    setup: str,
    *,
    sctp_port: int = DEFAULT_SCTP_PORT,
    max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
    bundle_only: bool = False,
    legacy: bool = False,
    candidates: bool = True,
) -> MediaDescription:
    """The data channel section as Chromium and Firefox write it
    (RFC 8829 §5.2.1, RFC 8841 §5-6)::

        m=application 9 UDP/DTLS/SCTP webrtc-datachannel
        c=IN IP4 0.0.0.0
        a=ice-ufrag/ice-pwd/ice-options/fingerprint/setup
        a=mid:<mid>
        a=sctp-port:5000
        a=max-message-size:<n>

    ``bundle_only``: port 0 and ``a=bundle-only`` (RFC 8843 §6).
    ``legacy``: the pre-RFC 8841 form (``DTLS/SCTP <port>`` + ``a=sctpmap``).
    """
    port = 0 if bundle_only else DISCARD_PORT
    if legacy:
        m = MediaDescription("application", port, LEGACY_SCTP_PROTO, [str(sctp_port)])
    else:
        m = MediaDescription("application", port, DATACHANNEL_PROTO, [DATACHANNEL_FMT])
    _transport_attributes(m, transport, setup, candidates=candidates)
    m.mid = mid
    if bundle_only:
        m.bundle_only = True
    if legacy:
        m.add("sctpmap", Sctpmap(sctp_port, DATACHANNEL_FMT, LEGACY_SCTP_STREAMS))
    else:
        m.sctp_port = sctp_port  # RFC 8841 §5.2
    m.max_message_size = max_message_size  # RFC 8841 §6
    return m


def rejected_section(
    offered: MediaDescription,
    transport: LocalTransport | None = None,
    setup: str | None = None,
) -> MediaDescription:
    """A rejected m-section (RFC 3264 §6, RFC 8829 §5.3.1): same kind, proto
    and formats, port 0, the same mid, ``a=inactive`` for RTP, and not in a
    BUNDLE group (RFC 8843 §7.3.3).  With ``transport`` and ``setup`` it also
    carries our ICE/DTLS attributes (no candidates) and, for RTP, rtcp-mux and
    the offered rtpmap/fmtp lines: RFC 3264 §6 says a rejected section's
    formats and attributes are ignored, and aiortc refuses a description
    whose sections lack them (it has no notion of a rejected section)."""
    m = MediaDescription(offered.kind, 0, offered.proto, offered.fmt or ["0"])
    m.connections = [PLACEHOLDER_CONNECTION]
    if transport is not None and setup is not None:
        _transport_attributes(m, transport, setup, candidates=False)
    if offered.mid is not None:
        m.mid = offered.mid
    if offered.is_rtp():
        m.direction = "inactive"  # RFC 8866 §6.7.4
        if transport is not None:
            m.rtcp_mux = True  # RFC 5761 §5.1.1 (webrtc requires it, RFC 8829 §5.1.3)
            m.attributes.extend(a for a in offered.attributes if a.name in ("rtpmap", "fmtp"))
    return m


# ------------------------------------------------------------------- DTLS


def answer_setup(offer_setup: str | None) -> str:
    """RFC 8842 §5.2 / RFC 8829 §5.3.1: the answer's a=setup.  actpass →
    active (the answerer picks active), active → passive, passive → active;
    no a=setup means the offerer is active (RFC 4145 §4)."""
    if offer_setup in (None, "active"):
        return "passive"
    if offer_setup in ("actpass", "passive"):
        return "active"
    if offer_setup == "holdconn":
        return "holdconn"
    raise InvalidAccessError(f"unknown a=setup value {offer_setup!r}")


def dtls_role(local_setup: str, remote_setup: str | None) -> str:
    """Our DTLS role once both a=setup values are known (RFC 8842 §5.1):
    ``client`` (we send the ClientHello) or ``server``."""
    if local_setup == "active":
        return "client"
    if local_setup == "passive":
        return "server"
    if local_setup == "actpass":
        # We offered actpass; the answerer chose (RFC 4145 §4 default: active).
        if remote_setup in (None, "active"):
            return "server"
        if remote_setup == "passive":
            return "client"
    raise InvalidAccessError(
        f"no DTLS role from local a=setup:{local_setup} and remote a=setup:{remote_setup}"
    )


# --------------------------------------------------------------- offers


def _free_mid(used: set[str], wanted: str) -> str:
    if wanted not in used:
        return wanted
    n = 0
    while str(n) in used:
        n += 1
    return str(n)


def create_offer(
    transport: LocalTransport,
    session_id: int,
    session_version: int,
    *,
    datachannel: bool = True,
    datachannel_mid: str = "0",
    previous: SessionDescription | None = None,
    setup: str = "actpass",
    sctp_port: int = DEFAULT_SCTP_PORT,
    max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
    bundle_only: bool = False,
) -> SessionDescription:
    """An offer (RFC 8829 §5.2).  ``previous`` is the current local or remote
    description: its m-sections keep their order and mids (RFC 8829 §5.2.2);
    audio/video stay rejected; a data section is kept or appended.
    ``bundle_only``: mark every accepted section after the first bundle-only
    (RFC 8829 §5.2.1 max-bundle; off by default, as in Chromium)."""
    sections: list[MediaDescription] = []
    have_data = False
    if previous is not None:
        for old in previous.media:
            if old.is_datachannel() and not old.rejected and not have_data and old.mid:
                sections.append(
                    datachannel_section(
                        old.mid,
                        transport,
                        setup,
                        sctp_port=sctp_port,
                        max_message_size=max_message_size,
                        legacy=old.proto == LEGACY_SCTP_PROTO,
                    )
                )
                have_data = True
            else:
                sections.append(rejected_section(old, transport, setup))
    if datachannel and not have_data:
        used = {m.mid for m in sections if m.mid is not None}
        mid = _free_mid(used, datachannel_mid)
        sections.append(
            datachannel_section(
                mid, transport, setup, sctp_port=sctp_port, max_message_size=max_message_size
            )
        )
    accepted = [m for m in sections if not m.rejected]
    if bundle_only:
        for m in accepted[1:]:
            m.port = 0
            m.bundle_only = True
    mids = [m.mid for m in accepted if m.mid is not None]
    desc = session_description(
        session_id,
        session_version,
        bundle_mids=mids,
        ice_lite=transport.ice_lite,
        ice_options=transport.ice_options,
    )
    desc.media = sections
    desc.type = "offer"
    return desc


# --------------------------------------------------------------- answers


def create_answer(
    offer: SessionDescription,
    transport: LocalTransport,
    session_id: int,
    session_version: int,
    *,
    accept_datachannel: bool = True,
    setup: str | None = None,
    sctp_port: int = DEFAULT_SCTP_PORT,
    max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
) -> SessionDescription:
    """An answer (RFC 8829 §5.3.1) to a parsed, validated offer: one m-section
    per offered one, same order, kind and mid.  The first data channel section
    is accepted (``setup`` defaults to :func:`answer_setup` of the offer's);
    everything else is rejected.  BUNDLE: each offered group is echoed with
    the mids we accept (the first is our tagged section, RFC 8843 §7.3.1)."""
    sections: list[MediaDescription] = []
    have_data = False
    remote = remote_parameters(offer)
    for offered in offer.media:
        accept = (
            accept_datachannel
            and not have_data
            and offered.is_datachannel()
            and not offered.rejected
            and offered.mid is not None
        )
        # The offered setup: the section's, its BUNDLE tag's, or the session's.
        shared = None if offered.mid is None else remote.transport_for(offered.mid)
        offered_setup = _effective_setup(offer, offered) if shared is None else shared.setup
        our_setup = setup or answer_setup(offered_setup)
        if not accept:
            sections.append(rejected_section(offered, transport, our_setup))
            continue
        assert offered.mid is not None
        legacy = offered.proto == LEGACY_SCTP_PROTO
        m = datachannel_section(
            offered.mid,
            transport,
            our_setup,
            sctp_port=sctp_port,
            max_message_size=max_message_size,
            legacy=legacy,
        )
        if not legacy:
            m.proto = offered.proto  # UDP/DTLS/SCTP or TCP/DTLS/SCTP, as offered
        sections.append(m)
        have_data = True
    accepted = {m.mid for m in sections if not m.rejected and m.mid is not None}
    # RFC 8843 §7.3: echo each BUNDLE group with the accepted mids, in offer order.
    groups = []
    for group in offer.bundle_groups:
        mids = tuple(mid for mid in group.mids if mid in accepted)
        if mids:
            groups.append(Group(BUNDLE, mids))
    desc = session_description(
        session_id,
        session_version,
        groups=groups,
        ice_lite=transport.ice_lite,
        ice_options=transport.ice_options,
    )
    desc.media = sections
    desc.type = "answer"
    return desc


# ------------------------------------------------- remote parameters


@dataclass
class RemoteTransportParameters:
    """What one ICE+DTLS transport needs from the remote description: a
    BUNDLE group (``mids[0]`` its tagged section) or one unbundled section."""

    mids: list[str]
    ice_ufrag: str | None
    ice_pwd: str | None
    ice_lite: bool
    ice_options: list[str]
    fingerprints: list[Fingerprint]
    setup: str | None
    candidates: list[Candidate] = field(default_factory=list)
    end_of_candidates: bool = False


@dataclass
class RemoteSctpParameters:
    """RFC 8841: the remote SCTP port and message size limit of the data section."""

    mid: str
    port: int
    max_message_size: int
    legacy: bool = False


@dataclass
class RemoteParameters:
    transports: list[RemoteTransportParameters]
    sctp: RemoteSctpParameters | None
    bundle_groups: list[list[str]]
    ice_lite: bool

    def transport_for(self, mid: str) -> RemoteTransportParameters | None:
        for transport in self.transports:
            if mid in transport.mids:
                return transport
        return None


def _effective_setup(desc: SessionDescription, m: MediaDescription) -> str | None:
    return m.setup if m.setup is not None else desc.setup  # RFC 4145 §4


def _effective(desc: SessionDescription, m: MediaDescription) -> RemoteTransportParameters:
    """Media-level values, else session-level (RFC 8839 §5.4/§5.6 ICE,
    RFC 8122 §5 fingerprint, RFC 4145 §4 setup)."""
    return RemoteTransportParameters(
        mids=[m.mid] if m.mid is not None else [],
        ice_ufrag=m.ice_ufrag if m.ice_ufrag is not None else desc.ice_ufrag,
        ice_pwd=m.ice_pwd if m.ice_pwd is not None else desc.ice_pwd,
        ice_lite=desc.ice_lite,
        ice_options=m.ice_options or desc.ice_options,
        fingerprints=m.fingerprints or desc.fingerprints,
        setup=_effective_setup(desc, m),
        # Component 1 only: everything we accept is RTCP-muxed or SCTP.
        candidates=[c for c in m.candidates if c.component == 1],
        end_of_candidates=m.end_of_candidates or desc.end_of_candidates,
    )


def _bundles(desc: SessionDescription) -> list[list[MediaDescription]]:
    """Sections per BUNDLE group (tag first: the first listed non-rejected
    mid, RFC 8843 §7.2.1/§7.3.1); each unbundled live section alone."""
    by_mid = {m.mid: m for m in desc.media if m.mid is not None}
    out: list[list[MediaDescription]] = []
    grouped: set[int] = set()
    for group in desc.bundle_groups:
        members = [by_mid[mid] for mid in group.mids if mid in by_mid]
        members = [m for m in members if not m.rejected]
        if members:
            out.append(members)
            grouped.update(id(m) for m in members)
    for m in desc.media:
        if id(m) not in grouped and not m.rejected:
            out.append([m])
    return out


def remote_parameters(desc: SessionDescription) -> RemoteParameters:
    """The transports' view of a remote description: per BUNDLE group (or
    unbundled section) the ICE credentials, options, candidates, DTLS
    fingerprints and setup, taken from the tagged section and inherited from
    the session level; and the data section's SCTP port and max-message-size."""
    transports: list[RemoteTransportParameters] = []
    for members in _bundles(desc):
        tag = _effective(desc, members[0])
        for m in members[1:]:
            if m.mid is not None:
                tag.mids.append(m.mid)
            # Candidates may sit in any bundled section (trickled by mid).
            tag.candidates.extend(c for c in m.candidates if c.component == 1)
            tag.end_of_candidates = tag.end_of_candidates or m.end_of_candidates
        transports.append(tag)
    sctp = None
    for m in desc.media:
        if m.is_datachannel() and not m.rejected and m.mid is not None:
            port = m.sctp_port
            size = m.max_message_size
            sctp = RemoteSctpParameters(
                mid=m.mid,
                port=DEFAULT_SCTP_PORT if port is None else port,
                max_message_size=IMPLIED_MAX_MESSAGE_SIZE if size is None else size,
                legacy=m.proto == LEGACY_SCTP_PROTO,
            )
            break
    return RemoteParameters(
        transports=transports,
        sctp=sctp,
        bundle_groups=[list(g.mids) for g in desc.bundle_groups],
        ice_lite=desc.ice_lite,
    )


# ------------------------------------------------------------ validation


def _name(index: int, m: MediaDescription) -> str:
    mid = "" if m.mid is None else f", mid {m.mid!r}"
    return f"m-section {index} ({m.kind}{mid})"


def validate_remote_description(
    desc: SessionDescription, sdp_type: str, local: SessionDescription | None = None
) -> None:
    """Check a parsed remote description before applying it (webrtc-pc
    §4.4.1.6, RFC 8829 §5.7-5.8); raises InvalidAccessError naming the
    m-section.  ``local`` is our pending offer when ``sdp_type`` is an answer
    or pranswer."""
    if sdp_type in ("answer", "pranswer"):
        if local is None:
            raise InvalidAccessError(f"cannot apply a remote {sdp_type} without a local offer")
        if len(desc.media) != len(local.media):
            raise InvalidAccessError(
                f"the {sdp_type} has {len(desc.media)} m-sections, the offer has "
                f"{len(local.media)} (RFC 8829 §5.3.1: one per offered m-section, same order)"
            )
        for i, (theirs, ours) in enumerate(zip(desc.media, local.media, strict=True)):
            if theirs.kind != ours.kind:
                raise InvalidAccessError(
                    f"{_name(i, theirs)}: the {sdp_type} has {theirs.kind} where the offer has "
                    f"{ours.kind}"
                )
            if theirs.mid != ours.mid:
                raise InvalidAccessError(
                    f"{_name(i, theirs)}: the {sdp_type} has mid {theirs.mid!r} where the offer "
                    f"has {ours.mid!r}"
                )
    for i, m in enumerate(desc.media):
        if m.mid is None and not m.rejected:
            raise InvalidAccessError(f"{_name(i, m)} has no a=mid (RFC 8829 §5.2.1)")
    mids = {m.mid for m in desc.media}
    grouped: set[str] = set()
    for group in desc.bundle_groups:
        for mid in group.mids:
            if mid not in mids:
                raise InvalidAccessError(f"BUNDLE group names mid {mid!r}, which no m-section has")
            if mid in grouped:
                raise InvalidAccessError(f"mid {mid!r} is in two BUNDLE groups (RFC 8843 §7.1)")
            grouped.add(mid)
    index = {id(m): i for i, m in enumerate(desc.media)}
    for members in _bundles(desc):
        tag = members[0]
        params = _effective(desc, tag)
        where = _name(index[id(tag)], tag)
        if params.ice_ufrag is None or params.ice_pwd is None:
            missing = "a=ice-ufrag" if params.ice_ufrag is None else "a=ice-pwd"
            raise InvalidAccessError(f"{where} has no {missing} (RFC 8839 §5.4)")
        low, high = ICE_UFRAG_LENGTH
        if not low <= len(params.ice_ufrag) <= high:
            raise InvalidAccessError(
                f"{where}: ice-ufrag must be {low}..{high} characters, got "
                f"{len(params.ice_ufrag)} (RFC 8839 §5.4)"
            )
        low, high = ICE_PWD_LENGTH
        if not low <= len(params.ice_pwd) <= high:
            raise InvalidAccessError(
                f"{where}: ice-pwd must be {low}..{high} characters, got "
                f"{len(params.ice_pwd)} (RFC 8839 §5.4)"
            )
        if not params.fingerprints:
            raise InvalidAccessError(f"{where} has no a=fingerprint (RFC 8122 §5, RFC 8827 §6.5)")
        if sdp_type in ("answer", "pranswer") and params.setup == "actpass":
            raise InvalidAccessError(
                f"{where}: an answer must not use a=setup:actpass (RFC 8842 §5.3)"
            )
        for m in members[1:]:
            own = _effective(desc, m)
            if m.ice_ufrag is not None and own.ice_ufrag != params.ice_ufrag:
                raise InvalidAccessError(
                    f"{_name(index[id(m)], m)}: ice-ufrag differs from its BUNDLE tag "
                    f"{tag.mid!r} (RFC 8843 §7.1.3)"
                )


def accepted_mids(desc: SessionDescription) -> list[str]:
    """Mids of the sections that are not rejected."""
    return [m.mid for m in desc.media if not m.rejected and m.mid is not None]


def offered_mids(descs: Iterable[SessionDescription]) -> set[str]:
    """Every mid used by any of the descriptions (for choosing a fresh one)."""
    return {m.mid for d in descs for m in d.media if m.mid is not None}
