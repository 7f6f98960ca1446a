"""The answer to a browser's offer, written by Séance (RFC 8829 section 5.3) with
``aiortc.sdp``'s public description classes.

Codecs and header extensions are chosen exactly as aiortc's answerer chooses them
(``find_common_codecs`` / ``find_common_header_extensions`` against aiortc's codec
list: Opus, VP8 and H.264 with their RTX, ``mid``, ``ssrc-audio-level``,
``abs-send-time``), so the Producers and Consumers see the parameters they always saw;
then Opus in-band FEC (:mod:`sfu.sdp_answer`) and the kiosk's simulcast encodings
(:mod:`sfu.simulcast`: ``a=rid``, ``a=simulcast:recv``, the rid extensions) are added to
the text as before. One BUNDLE group, one ICE/DTLS transport (``max-bundle``), ``rtcp-mux``
(RFC 8843, RFC 5761). Séance is the DTLS client (``a=setup:active``).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field

from aiortc import sdp
from aiortc.codecs import CODECS, HEADER_EXTENSIONS
from aiortc.rtcdtlstransport import RTCDtlsFingerprint, RTCDtlsParameters
from aiortc.rtcicetransport import RTCIceCandidate, RTCIceParameters
from aiortc.rtcpeerconnection import find_common_codecs, find_common_header_extensions
from aiortc.rtcrtpparameters import (
    RTCRtcpParameters,
    RTCRtpCodecParameters,
    RTCRtpDecodingParameters,
    RTCRtpHeaderExtensionParameters,
    RTCRtpReceiveParameters,
    RTCRtpRtxParameters,
    RTCRtpSendParameters,
)

from ..sdp_answer import with_opus_fec
from ..simulcast import SimulcastOffer, with_simulcast

PUBLISH = "publish"  # the salle's own track: answered recvonly, a Producer
SLOT = "slot"  # a receive slot: answered sendonly, a Consumer
INACTIVE = "inactive"


@dataclass
class Section:
    """What Séance does with one m-section of the offer."""

    role: str
    slot: str | None = None  # a SLOT's name (its msid stream id)
    track_id: str | None = None
    ssrc: int = 0  # a SLOT's media SSRC, or the SSRC of a PUBLISH section's RTCP
    rtx_ssrc: int = 0  # a SLOT's retransmission SSRC (RFC 4588)
    mid: str = ""
    kind: str = ""
    codecs: list[RTCRtpCodecParameters] = field(default_factory=list)
    extensions: list[RTCRtpHeaderExtensionParameters] = field(default_factory=list)


@dataclass(frozen=True)
class LocalTransport:
    ice: RTCIceParameters
    candidates: list[RTCIceCandidate]
    fingerprint: str  # sha-256
    cname: str


def _is_rtx(codec: RTCRtpCodecParameters) -> bool:
    return codec.name.lower() == "rtx"


def negotiate(media: sdp.MediaDescription, section: Section) -> None:
    """Fill ``section``'s codecs and extensions from the offer's, as aiortc does."""
    section.kind = media.kind
    section.mid = media.rtp.muxId
    section.codecs = find_common_codecs(copy.deepcopy(CODECS[media.kind]), media.rtp.codecs)
    section.extensions = find_common_header_extensions(HEADER_EXTENSIONS[media.kind], media.rtp.headerExtensions)
    if not section.codecs:
        section.role = INACTIVE


def receive_parameters(media: sdp.MediaDescription, section: Section) -> RTCRtpReceiveParameters:
    """What the Producer of a PUBLISH section reads (aiortc's ``__remoteRtp``: the
    offer's first ``a=ssrc`` as the stream's, the second as its RTX)."""
    parameters = RTCRtpReceiveParameters(
        codecs=section.codecs, headerExtensions=section.extensions, muxId=section.mid, rtcp=media.rtp.rtcp
    )
    if media.ssrc:
        encodings: dict[int, RTCRtpDecodingParameters] = {}
        for codec in section.codecs:
            if _is_rtx(codec):
                apt = codec.parameters.get("apt")
                if isinstance(apt, int) and apt in encodings and len(media.ssrc) == 2:
                    encodings[apt].rtx = RTCRtpRtxParameters(ssrc=media.ssrc[1].ssrc)
                continue
            encodings[codec.payloadType] = RTCRtpDecodingParameters(
                ssrc=media.ssrc[0].ssrc, payloadType=codec.payloadType
            )
        parameters.encodings = list(encodings.values())
    return parameters


def send_parameters(section: Section, cname: str) -> RTCRtpSendParameters:
    """What the Consumer of a SLOT section reads."""
    return RTCRtpSendParameters(
        codecs=section.codecs,
        headerExtensions=section.extensions,
        muxId=section.mid,
        rtcp=RTCRtcpParameters(cname=cname, ssrc=section.ssrc, mux=True),
    )


def _media(offered: sdp.MediaDescription, section: Section, local: LocalTransport) -> sdp.MediaDescription:
    if not section.codecs:  # refused (RFC 8829 section 5.3.1: port 0)
        media = sdp.MediaDescription(kind=offered.kind, port=0, profile=offered.profile, fmt=offered.fmt[:1])
        media.rtp.muxId = offered.rtp.muxId
        media.direction = "inactive"
        return media
    media = _media_common(section, local, role="client")
    media.direction = {PUBLISH: "recvonly", SLOT: "sendonly"}.get(section.role, "inactive")
    if section.role == SLOT:
        media.msid = f"{section.slot} {section.track_id}"
        media.ssrc = [sdp.SsrcDescription(ssrc=section.ssrc, cname=local.cname)]
        if any(_is_rtx(c) for c in section.codecs):
            media.ssrc.append(sdp.SsrcDescription(ssrc=section.rtx_ssrc, cname=local.cname))
            media.ssrc_group = [sdp.GroupDescription(semantic="FID", items=[section.ssrc, section.rtx_ssrc])]
    return media


def _media_common(section: Section, local: LocalTransport, role: str) -> sdp.MediaDescription:
    """An m-section's codecs, extensions, ICE and DTLS (``role``: RFC 8842 ``a=setup``,
    "client" active, "auto" actpass)."""
    media = sdp.MediaDescription(
        kind=section.kind, port=9, profile="UDP/TLS/RTP/SAVPF", fmt=[c.payloadType for c in section.codecs]
    )
    media.rtp.codecs = section.codecs
    media.rtp.headerExtensions = section.extensions
    media.rtp.muxId = section.mid
    media.rtcp_host, media.rtcp_port, media.rtcp_mux = "0.0.0.0", 9, True
    media.ice = local.ice
    media.ice_candidates = list(local.candidates)
    media.ice_candidates_complete = True
    if local.candidates:
        media.host, media.port = local.candidates[0].ip, local.candidates[0].port
    else:
        media.host = "0.0.0.0"
    media.dtls = RTCDtlsParameters(fingerprints=[RTCDtlsFingerprint("sha-256", local.fingerprint)], role=role)
    return media


def write_answer(
    offer: sdp.SessionDescription,
    sections: list[Section],
    local: LocalTransport,
    simulcast: dict[str, SimulcastOffer],
    session_id: int,
) -> str:
    """The answer's text, one m-section per offered one, in the offer's order."""
    answer = sdp.SessionDescription()
    answer.origin = f"- {session_id} {session_id} IN IP4 0.0.0.0"
    answer.msid_semantic.append(sdp.GroupDescription(semantic="WMS", items=["*"]))
    answer.type = "answer"
    for offered, section in zip(offer.media, sections, strict=True):
        answer.media.append(_media(offered, section, local))
    answer.group.append(
        sdp.GroupDescription(semantic="BUNDLE", items=[m.rtp.muxId for m in answer.media if m.port != 0])
    )
    return with_simulcast(with_opus_fec(str(answer)), simulcast)


def write_offer(
    kinds: list[str], local: LocalTransport, session_id: int, sending: Mapping[int, int] | None = None
) -> str:
    """An offer of one ``recvonly`` m-section per kind in ``kinds`` (mids "0", "1"...),
    with aiortc's codecs and header extensions, as aiortc's ``createOffer`` writes them
    (a cascade's edge subscribing to its origin: ``a=setup:actpass``, one BUNDLE).

    ``sending`` (m-section index -> SSRC): those sections are offered ``sendonly``
    instead, their stream announced with ``a=ssrc`` (cname) and ``a=msid`` (RFC 8830), as
    a browser's offer publishes a track (the benchmark's synthetic salles)."""
    sending = sending or {}
    offer = sdp.SessionDescription()
    offer.origin = f"- {session_id} {session_id} IN IP4 0.0.0.0"
    offer.msid_semantic.append(sdp.GroupDescription(semantic="WMS", items=["*"]))
    offer.type = "offer"
    for index, kind in enumerate(kinds):
        section = Section(role=INACTIVE, mid=str(index), kind=kind)
        section.codecs = copy.deepcopy(CODECS[kind])
        section.extensions = list(HEADER_EXTENSIONS[kind])
        media = _media_common(section, local, role="auto")
        media.direction = "recvonly"
        if index in sending:
            media.direction = "sendonly"
            media.msid = f"{local.cname} {kind}-{index}"
            media.ssrc = [sdp.SsrcDescription(ssrc=sending[index], cname=local.cname)]
        offer.media.append(media)
    offer.group.append(sdp.GroupDescription(semantic="BUNDLE", items=[m.rtp.muxId for m in offer.media]))
    return str(offer)
