"""``--simulcast``: a synthetic salle publishes its camera as three VP8 layers, as a kiosk does.

A kiosk (``web/static/rtc.js``, Chromium) offers one video m-section with
``a=rid:<rid> send`` per encoding and ``a=simulcast:send q;h;f`` (RFC 8851, RFC 8853),
the ``rtp-stream-id`` and ``repaired-rtp-stream-id`` header extensions (RFC 8852) and no
``a=ssrc``; each layer is its own RTP stream whose packets carry the layer's rid. The
salle's own offer (:meth:`sfu.transport.connection.Connection.offer`, aiortc's codecs and
extensions) has one ``sendonly`` video section with one SSRC, so :func:`simulcast_offer`
rewrites it the way Chromium writes it and :func:`layer_header` builds each layer's RTP
header (mid and rid in RFC 8285 one-byte extensions); each layer is sent by
:func:`bench.synthetic_salle.run_stream`. The same offer goes to Séance and to
Janus (with ``rid_order: "lmh"`` in the JSEP: Janus 1.1 takes the first rid as the
largest picture unless told).

:func:`answered_rids` reads the server's answer: a server that did not list the rids in
``a=simulcast:recv`` negotiated no simulcast (Chromium then sends one layer; the
synthetic salle sends three anyway and the report says the answer lacked it).
"""

from __future__ import annotations

import re
import struct

from bench.samples import SIMULCAST_LAYERS

URI_MID = "urn:ietf:params:rtp-hdrext:sdes:mid"
URI_RID = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id"
URI_REPAIRED_RID = "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id"
#: the extension ids this offer gives the rids (aiortc's own offer uses 1..4)
RID_EXT, REPAIRED_RID_EXT = 10, 11
RIDS: tuple[str, ...] = tuple(rid for rid, *_ in SIMULCAST_LAYERS)
#: the trailer's ``kind`` of a layer's packets: 2 + its index, smallest first (0 audio, 1 video)
FIRST_LAYER_KIND = 2

_EXTMAP = re.compile(r"^a=extmap:(\d+)(?:/\w+)? (\S+)")


def layer_kind(rid: str) -> int:
    return FIRST_LAYER_KIND + RIDS.index(rid)


def rid_of_kind(kind: int) -> str | None:
    i = kind - FIRST_LAYER_KIND
    return RIDS[i] if 0 <= i < len(RIDS) else None


def _sections(sdp: str) -> tuple[str, list[str]]:
    eol = "\r\n" if "\r\n" in sdp else "\n"
    return eol, re.split(r"(?=^m=)", sdp, flags=re.M)


def simulcast_offer(sdp: str, rids: tuple[str, ...] = RIDS) -> tuple[str, str, int]:
    """The offer ``sdp`` with its ``sendonly`` video m-section offered as Chromium offers
    simulcast (rids, ``a=simulcast:send``, the rid extensions, no ``a=ssrc``/``a=ssrc-group``).
    Returns ``(offer, mid, mid_extension_id)`` of that section."""
    eol, sections = _sections(sdp)
    for i, section in enumerate(sections):
        if not (section.startswith("m=video") and "a=sendonly" in section):
            continue
        lines = [line for line in section.split(eol) if line and not line.startswith(("a=ssrc:", "a=ssrc-group:"))]
        mid = next(line[len("a=mid:") :] for line in lines if line.startswith("a=mid:"))
        extmap = {m.group(2): int(m.group(1)) for line in lines if (m := _EXTMAP.match(line))}
        if URI_MID not in extmap:
            raise ValueError("the offer has no mid extension on its video section")
        if {RID_EXT, REPAIRED_RID_EXT} & set(extmap.values()):
            raise ValueError(f"the offer already uses extension ids {RID_EXT}/{REPAIRED_RID_EXT}")
        lines += [f"a=extmap:{RID_EXT} {URI_RID}", f"a=extmap:{REPAIRED_RID_EXT} {URI_REPAIRED_RID}"]
        lines += [f"a=rid:{rid} send" for rid in rids]
        lines.append("a=simulcast:send " + ";".join(rids))
        sections[i] = eol.join(lines) + eol
        return "".join(sections), mid, extmap[URI_MID]
    raise ValueError("the offer has no sendonly video section")


def answered_rids(answer: str, mid: str) -> tuple[str, ...]:
    """The rids the answer accepts in section ``mid`` (``a=simulcast:recv``, RFC 8853 5.3,
    paused ``~rid`` left out), () when it negotiated no simulcast there."""
    _, sections = _sections(answer)
    for section in sections[1:]:
        lines = [line.rstrip("\r") for line in section.split("\n")]
        if f"a=mid:{mid}" not in lines:
            continue
        for line in lines:
            if line.startswith("a=simulcast:"):
                words = line[len("a=simulcast:") :].split()
                for direction, value in zip(words[::2], words[1::2], strict=False):
                    if direction == "recv":
                        return tuple(s.split(",", 1)[0] for s in value.split(";") if s and not s.startswith("~"))
    return ()


def layer_header(payload_type: int, ssrc: int, mid_id: int, mid: str, rid: str) -> bytearray:
    """An RTP header (RFC 3550 5.1, sequence number and timestamp 0, to be patched) with the
    mid and the layer's rid in one-byte header extensions (RFC 8285 4.2, RFC 8852 3.1), as
    Chromium writes a simulcast layer's packets."""
    elements = b""
    for ext_id, value in ((mid_id, mid.encode()), (RID_EXT, rid.encode())):
        if not 0 < len(value) <= 16:
            raise ValueError(f"extension value of {len(value)} bytes")
        elements += bytes([(ext_id << 4) | (len(value) - 1)]) + value
    elements += b"\x00" * (-len(elements) % 4)
    header = struct.pack("!BBHII", 0x90, payload_type & 0x7F, 0, 0, ssrc)
    return bytearray(header + struct.pack("!HH", 0xBEDE, len(elements) // 4) + elements)
