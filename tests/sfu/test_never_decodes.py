"""The media plane forwards, it never decodes (DESIGN.md, « media plane »): no module of
``sfu/`` imports aiortc's receiver or names a decoder of aiortc's codecs, and PyAV is used
by the recorder only, to write: it muxes the forwarded packets into WebM and encodes the
silence and the black picture of R19 spans, in write mode, and never decodes nor demuxes.

This replaces the ``frames_decoded`` counter, which counted aiortc's decoder calls while
the server could run on aiortc's ``RTCPeerConnection`` and could only read 0 once the
transport Séance owns (``sfu/transport/``) became the only one: what proves that nothing is
decoded now is that nothing on the server's path can call a decoder.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: modules that decode or hold a decoder
FORBIDDEN_MODULES = ("aiortc.rtcrtpreceiver", "aiortc.codecs.vpx", "aiortc.codecs.opus", "aiortc.codecs.h264")
#: names that create or are a decoder
FORBIDDEN_NAMES = {"get_decoder", "Vp8Decoder", "OpusDecoder", "H264Decoder", "RTCRtpReceiver"}
#: the one module allowed PyAV, to write (R5's recording)
PYAV_WRITERS = {"sfu/recorder.py"}


def pyav_reads(source: str) -> list[str]:
    """Where ``source`` reads with PyAV: a ``decode``/``demux`` call, a codec context or a
    container opened other than for writing (``"w"``), as ``line: what``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        attr = node.func.attr
        if attr in ("decode", "demux"):
            found.append(f"{node.lineno}: {attr}")
        elif attr in ("create", "open") and isinstance(node.func.value, ast.Attribute | ast.Name):
            owner = node.func.value.attr if isinstance(node.func.value, ast.Attribute) else node.func.value.id
            if owner in ("CodecContext", "av"):
                mode = node.args[1] if len(node.args) > 1 else None
                if not (isinstance(mode, ast.Constant) and mode.value == "w"):
                    found.append(f"{node.lineno}: {owner}.{attr} not for writing")
    return found


def uses_pyav(source: str) -> bool:
    return any(
        (isinstance(n, ast.Import) and any(a.name == "av" or a.name.startswith("av.") for a in n.names))
        or (isinstance(n, ast.ImportFrom) and (n.module == "av" or (n.module or "").startswith("av.")))
        for n in ast.walk(ast.parse(source))
    )


def decoding_uses(source: str) -> list[str]:
    """What ``source`` imports or names that decodes, as ``line: what``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Name):
            names = [node.id] if node.id in FORBIDDEN_NAMES else []
        elif isinstance(node, ast.Attribute):
            names = [node.attr] if node.attr in FORBIDDEN_NAMES else []
        else:
            continue
        for name in names:
            if name in FORBIDDEN_NAMES or name.rsplit(".", 1)[-1] in FORBIDDEN_NAMES:
                found.append(f"{node.lineno}: {name}")
            elif any(name == m or name.startswith(m + ".") for m in FORBIDDEN_MODULES):
                found.append(f"{node.lineno}: {name}")
    return found


def test_no_module_of_the_media_plane_can_decode():
    sources = {str(p.relative_to(ROOT)): p.read_text() for p in sorted((ROOT / "sfu").rglob("*.py"))}
    assert len(sources) > 20, sources  # the walk finds the package
    found = {name: uses for name, text in sources.items() if (uses := decoding_uses(text))}
    assert found == {}, found
    assert {name for name, text in sources.items() if uses_pyav(text)} == PYAV_WRITERS
    for name in PYAV_WRITERS:
        assert pyav_reads(sources[name]) == [], name


def test_the_check_finds_each_way_of_decoding():
    assert uses_pyav("import av\n") and uses_pyav("from av import VideoFrame\n") and not uses_pyav("import aiortc\n")
    assert pyav_reads('c = av.CodecContext.create("libvpx", "r")\nc.decode(p)\n') == [
        "1: CodecContext.create not for writing",
        "2: decode",
    ]
    assert pyav_reads("av.open(f)\n") == ["1: av.open not for writing"]
    assert pyav_reads('av.open(f, "w", format="webm")\nav.CodecContext.create("libopus", "w")\n') == []
    assert decoding_uses("from aiortc.codecs import get_decoder\n")
    assert decoding_uses("from aiortc.codecs.vpx import Vp8Decoder\n")
    assert decoding_uses("import aiortc.codecs\nd = aiortc.codecs.get_decoder(c)\n") == ["2: get_decoder"]
    assert decoding_uses("from aiortc.rtcrtpreceiver import RTCRtpReceiver\n")
    # what the transport takes from aiortc's codecs is their table, not a decoder
    assert decoding_uses("from aiortc.codecs import CODECS, HEADER_EXTENSIONS\n") == []
