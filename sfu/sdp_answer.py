"""What Séance adds to aiortc's SDP answer (aiortc writes no ``a=fmtp`` for Opus).

**Opus in-band FEC** (RFC 7587 section 7: ``useinbandfec=1`` tells the sender that the
receiver can decode Opus's in-band forward error correction). A kiosk's browser reads
the answer's parameters for what it sends: with ``useinbandfec=1`` its Opus encoder adds
a low-bitrate copy of the previous frame when the receiver reports loss (our receiver
reports do), which the receiving browsers decode when a packet is lost — audio repaired
without retransmission. Browsers decode it whatever the answer says, so only the audio
they *send* needed this. ``minptime=10`` is Chromium's own default.

DTX (``usedtx=1``) is left out: in silence it sends a packet every 400 ms instead of
every 20 ms, which the salle's health (RTP within 2.5 s) would tolerate but the active
speaker's levels (RFC 6464, every packet) and the audio loss judged per report would not.
"""

from __future__ import annotations

import re

_RTPMAP = re.compile(r"^a=rtpmap:(\d+) opus/48000(?:/2)?\r?$", re.IGNORECASE)
FEC_PARAMETERS = "minptime=10;useinbandfec=1"


def with_opus_fec(sdp: str) -> str:
    """``sdp`` with ``useinbandfec=1`` on every Opus payload type: an ``a=fmtp`` line
    added after its ``a=rtpmap`` when it has none, the parameter appended to one it has."""
    lines = sdp.split("\n")
    opus = {m.group(1) for line in lines if (m := _RTPMAP.match(line))}
    has_fmtp = {line[len("a=fmtp:") :].split(" ", 1)[0] for line in lines if line.startswith("a=fmtp:")}
    out = []
    for line in lines:
        eol = "\r" if line.endswith("\r") else ""
        body = line[: len(line) - len(eol)]
        if body.startswith("a=fmtp:"):
            pt, _, params = body[len("a=fmtp:") :].partition(" ")
            if pt in opus and "useinbandfec" not in params:
                line = f"a=fmtp:{pt} {params};useinbandfec=1{eol}" if params else f"a=fmtp:{pt} useinbandfec=1{eol}"
        out.append(line)
        m = _RTPMAP.match(line)
        if m is not None and m.group(1) not in has_fmtp:
            out.append(f"a=fmtp:{m.group(1)} {FEC_PARAMETERS}{eol}")
    return "\n".join(out)
