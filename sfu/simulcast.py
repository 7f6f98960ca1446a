"""Simulcast in the offer/answer and on the wire (issue 11, point 1).

A kiosk publishes its camera as several encodings of one track, each an RTP stream
with its own SSRC, named by a *rid* (RFC 8851) and listed in the offer's
``a=simulcast:send`` (RFC 8853). Chromium announces no SSRC for them: the server
learns each stream's SSRC from the first packets, which carry the rid in the
``rtp-stream-id`` header extension (RFC 8852 section 3.1; its retransmissions, RFC 4588,
carry it in ``repaired-rtp-stream-id``, section 3.2). aiortc 1.16 knows none of this
(its SDP parser ignores ``a=rid``/``a=simulcast`` and its answer keeps only the header
extensions it implements), so the Peer reads them from the offer here and adds them
to aiortc's answer; without ``a=simulcast`` in the answer Chromium sends one layer.

Layer order: the rids in the order of ``a=simulcast``, the first the smallest picture —
Chromium lists them in ``sendEncodings`` order, and the kiosk lists its encodings from
the smallest to the largest, as mediasoup requires of its producers' encodings. Paused
(``~rid``) and alternative (``a,b``: the first is taken) streams follow RFC 8853 5.2.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .rtp_rewrite import extension_value

URI_RID = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id"
URI_REPAIRED_RID = "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id"

_EXTMAP = re.compile(r"^a=extmap:(\d+)(?:/\w+)? (\S+)")
_RID = re.compile(r"^a=rid:([A-Za-z0-9_-]{1,16}) send\b")
_RID_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,16}$")
#: more encodings than this in one offer are refused (Chromium offers at most 3 or 4)
MAX_LAYERS = 4


@dataclass(frozen=True)
class SimulcastOffer:
    """One m-section of the offer that sends simulcast: its ``mid``, its rids from the
    smallest picture to the largest, and the ids of the rid extensions it offers."""

    mid: str
    rids: tuple[str, ...]
    rid_id: int
    repaired_rid_id: int = 0  # 0: not offered (no RTX repair of the layers)


def _sections(sdp: str) -> list[list[str]]:
    """The session part then each m-section, as lists of lines (line endings kept)."""
    out: list[list[str]] = [[]]
    for line in sdp.split("\n"):
        if line.startswith("m="):
            out.append([])
        out[-1].append(line)
    return out


def _simulcast_streams(value: str) -> list[str]:
    """The rids of ``a=simulcast:send <list>`` (RFC 8853 5.1), paused ones left out."""
    rids = []
    for stream in value.split(";"):
        first = stream.split(",", 1)[0].strip()
        if first and not first.startswith("~") and _RID_TOKEN.match(first):
            rids.append(first)
    return rids


def simulcast_offers(sdp: str) -> dict[str, SimulcastOffer]:
    """The offer's video m-sections that send simulcast, by mid. A section counts only
    with at least two rids declared ``send`` and listed in ``a=simulcast:send``, and the
    ``rtp-stream-id`` extension offered (without it the streams cannot be told apart)."""
    offers: dict[str, SimulcastOffer] = {}
    for section in _sections(sdp)[1:]:
        if not section[0].startswith("m=video"):
            continue
        body = [line.rstrip("\r") for line in section]
        mid = next((line[len("a=mid:") :] for line in body if line.startswith("a=mid:")), None)
        declared = {m.group(1) for line in body if (m := _RID.match(line))}
        extmap = {m.group(2): int(m.group(1)) for line in body if (m := _EXTMAP.match(line))}
        listed: list[str] = []
        for line in body:
            if line.startswith("a=simulcast:"):
                words = line[len("a=simulcast:") :].split()
                for direction, value in zip(words[::2], words[1::2], strict=False):
                    if direction == "send":
                        listed = _simulcast_streams(value)
        rids = tuple(dict.fromkeys(r for r in listed if r in declared))
        rid_id = extmap.get(URI_RID, 0)
        if mid is None or len(rids) < 2 or len(rids) > MAX_LAYERS or not 0 < rid_id < 15:
            continue
        repaired = extmap.get(URI_REPAIRED_RID, 0)
        offers[mid] = SimulcastOffer(mid, rids, rid_id, repaired if 0 < repaired < 15 else 0)
    return offers


def with_simulcast(answer: str, offers: dict[str, SimulcastOffer]) -> str:
    """aiortc's ``answer`` with simulcast accepted in each m-section of ``offers`` that
    it answered ``recvonly``: the rid extensions (same ids as offered, RFC 8285 section
    6), ``a=rid:<rid> recv`` per layer and ``a=simulcast:recv`` (RFC 8853 section 5.3)."""
    if not offers:
        return answer
    sections = _sections(answer)
    for section in sections[1:]:
        body = [line.rstrip("\r") for line in section]
        mid = next((line[len("a=mid:") :] for line in body if line.startswith("a=mid:")), None)
        offer = offers.get(mid or "")
        if offer is None or "a=recvonly" not in body or any(line.startswith("a=simulcast:") for line in body):
            continue
        eol = "\r" if section[0].endswith("\r") else ""
        have = {int(m.group(1)) for line in body if (m := _EXTMAP.match(line))}
        added = [f"a=extmap:{offer.rid_id} {URI_RID}"] if offer.rid_id not in have else []
        if offer.repaired_rid_id and offer.repaired_rid_id not in have:
            added.append(f"a=extmap:{offer.repaired_rid_id} {URI_REPAIRED_RID}")
        added += [f"a=rid:{rid} recv" for rid in offer.rids]
        added.append("a=simulcast:recv " + ";".join(offer.rids))
        # before the trailing empty line of the last section, if any
        at = len(section)
        while at > 1 and section[at - 1].rstrip("\r") == "":
            at -= 1
        section[at:at] = [line + eol for line in added]
    return "\n".join(line for section in sections for line in section)


def rid_of(data: bytes | bytearray, ext_id: int) -> str | None:
    """The rid carried by an RTP packet in extension ``ext_id`` (RFC 8852 section 3: the
    identifier's US-ASCII characters), or None when absent or not a valid rid."""
    value = extension_value(data, ext_id)
    if not value:
        return None
    try:
        rid = value.rstrip(b"\x00").decode("ascii")
    except UnicodeDecodeError:
        return None
    return rid if _RID_TOKEN.match(rid) else None
