"""Sobriété numérique: what a sitting moved, and what slot forwarding and audio-only saved.

From the media plane's own counters (:meth:`sfu.router.Router.traffic`, see
:mod:`sfu.traffic` for each field) this module computes, per salle and in total:

- **données échangées** (data moved): what the server received from the salle's kiosk
  plus what it delivered to it; in total, everything received plus everything delivered
  (public viewers included);
- **maillage complet** (full mesh): the same if every salle had been sent every other
  salle's audio and video, instead of only what fills its slots. Measured, not guessed:
  each octet a salle sent counts once for every other salle connected at that moment
  (sampled each second). Audio-only choices hold in the mesh too, so that this saving
  and the next one never count the same octets;
- **économisé grâce aux emplacements** = full mesh − data moved (≥ 0 but for sampling
  noise; shown clamped at 0);
- **économisé par les salles en audio seul**: an estimate. While a salle is audio only,
  the video it would have received (the seconds × video streams its slots would have
  carried, measured) and the camera stream it would have sent (its audio-only seconds),
  both at the average video bitrate of the *other* salles while they sent video; minus
  the video its kiosk uploaded anyway while audio only (measured: today's kiosks keep
  their camera on, the server drops it, so that part of the saving is not realised).

Kept with the sitting, ``<data_dir>/sittings/<id>/sobriete.json``: written when the
sitting closes (before the closing is journaled) and when the service stops. A sitting
served by several processes in turn (a restart, a failover) adds up: each run of the
service keeps its raw counters under its own id, and the figures are computed from their
sum. These figures are not journaled: they are not part of the deliberation.
"""

from __future__ import annotations

import json
import math
import os
from datetime import datetime
from pathlib import Path
from typing import Any

from signaling import datadir

FILE_NAME = datadir.SOBRIETY

#: additive per-salle counters of sfu.traffic (and what snapshot() derives from them)
SALLE_FIELDS = (
    "in_audio_bytes",
    "in_video_bytes",
    "in_bytes",
    "in_packets",
    "out_bytes",
    "out_audio_bytes",
    "out_video_bytes",
    "mesh_in_bytes",
    "connected_seconds",
    "audio_only_seconds",
    "video_seconds",
    "video_active_bytes",
    "forgone_video_stream_seconds",
    "video_uplink_audio_only_bytes",
)


def sobriety_path(data_dir: Path, sitting_id: str) -> Path:
    return datadir.DataDir.of(data_dir).sobriety(sitting_id)


# ------------------------------------------------------------------ pure computation
def merge(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The sum of several runs' ``Router.traffic()`` (every counter is additive)."""
    salles: dict[str, dict[str, float]] = {}
    viewers = 0
    for run in runs:
        for salle_id, row in run.get("salles", {}).items():
            acc = salles.setdefault(salle_id, dict.fromkeys(SALLE_FIELDS, 0))
            for f in SALLE_FIELDS:
                acc[f] += row.get(f, 0) or 0
        viewers += run.get("viewers", {}).get("out_bytes", 0) or 0
    return {"salles": salles, "viewers": {"out_bytes": viewers}}


def _rate(salles: dict[str, dict[str, float]], exclude: str) -> float:
    """Average video bitrate (octets/s) of the salles other than ``exclude`` while they sent
    video; the salle's own when no other salle sent any; 0 when nobody did."""
    octets = sum(r.get("video_active_bytes", 0) for s, r in salles.items() if s != exclude)
    seconds = sum(r.get("video_seconds", 0) for s, r in salles.items() if s != exclude)
    if seconds <= 0:
        own = salles.get(exclude, {})
        octets, seconds = own.get("video_active_bytes", 0), own.get("video_seconds", 0)
    return octets / seconds if seconds > 0 else 0.0


def compute(traffic: dict[str, Any]) -> dict[str, Any]:
    """Per salle and total figures (octets) from a ``Router.traffic()`` (or a :func:`merge`)."""
    raw = traffic.get("salles", {})
    salles: dict[str, dict[str, Any]] = {}
    for salle_id, r in sorted(raw.items()):
        in_bytes = r.get("in_bytes", r.get("in_audio_bytes", 0) + r.get("in_video_bytes", 0))
        out_bytes = r.get("out_bytes", 0)
        mesh_in = r.get("mesh_in_bytes", 0)
        audio_only_s = r.get("audio_only_seconds", 0)
        saved_audio_only = 0
        if audio_only_s > 0:
            rate = _rate(raw, salle_id)
            not_received = rate * r.get("forgone_video_stream_seconds", 0)
            not_sent = max(0.0, rate * audio_only_s - r.get("video_uplink_audio_only_bytes", 0))
            saved_audio_only = round(not_received + not_sent)
        salles[salle_id] = {
            "in_bytes": in_bytes,
            "out_bytes": out_bytes,
            "moved_bytes": in_bytes + out_bytes,
            "mesh_bytes": in_bytes + mesh_in,
            "slots_saved_bytes": max(0, mesh_in - out_bytes),
            "audio_only_seconds": audio_only_s,
            "audio_only_saved_bytes": saved_audio_only,
        }
    viewers_out = traffic.get("viewers", {}).get("out_bytes", 0)
    total_in = sum(s["in_bytes"] for s in salles.values())
    salles_out = sum(s["out_bytes"] for s in salles.values())
    mesh_in = sum(r.get("mesh_in_bytes", 0) for r in raw.values())
    moved = total_in + salles_out + viewers_out
    mesh = total_in + mesh_in + viewers_out
    return {
        "salles": salles,
        "totals": {
            "in_bytes": total_in,
            "out_bytes": salles_out + viewers_out,
            "viewers_out_bytes": viewers_out,
            "moved_bytes": moved,
            "mesh_bytes": mesh,
            "slots_saved_bytes": max(0, mesh - moved),
            "audio_only_saved_bytes": sum(s["audio_only_saved_bytes"] for s in salles.values()),
        },
    }


def french_size(octets: float) -> str:
    """Octets in Mo or Go (decimal units), two significant digits, French decimal comma:
    ``1 234 567`` -> ``1,2 Mo``; ``123 456 789`` -> ``120 Mo``; ``4,5e9`` -> ``4,5 Go``."""
    value, unit = (octets / 1e9, "Go") if octets >= 1e9 else (octets / 1e6, "Mo")
    if value <= 0:
        return f"0 {unit}"
    if value < 0.01:
        return "< 0,01 Mo"
    value = round(value, 1 - math.floor(math.log10(value)))
    if value >= 1000 and unit == "Mo":  # 999,6 Mo rounds to 1 000 Mo: say 1 Go
        return "1,0 Go"
    decimals = max(0, 1 - math.floor(math.log10(value)))
    text = f"{value:.{decimals}f}"
    return f"{text.replace('.', ',')} {unit}"


def summary_fr(figures: dict[str, Any]) -> dict[str, str]:
    """The total figures as the admin reads them."""
    t = figures["totals"]
    return {
        "moved": french_size(t["moved_bytes"]),
        "mesh": french_size(t["mesh_bytes"]),
        "slots_saved": french_size(t["slots_saved_bytes"]),
        "audio_only_saved": french_size(t["audio_only_saved_bytes"]),
    }


# ------------------------------------------------------------------ kept with the sitting
def read(data_dir: Path, sitting_id: str) -> dict[str, Any] | None:
    """The stored record (``runs``, ``figures``, ``closed``), or None."""
    try:
        record = json.loads(sobriety_path(data_dir, sitting_id).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and isinstance(record.get("figures"), dict) else None


def write(data_dir: Path, sitting_id: str, run_id: str, traffic: dict[str, Any], *, closed: bool) -> dict[str, Any]:
    """Store this run's counters with the sitting's earlier runs, and the figures of their sum
    (atomically: a temporary file, fsynced, renamed). Returns the record."""
    path = sobriety_path(data_dir, sitting_id)
    previous = read(data_dir, sitting_id) or {}
    runs = dict(previous.get("runs", {}))
    runs[run_id] = {"salles": traffic.get("salles", {}), "viewers": traffic.get("viewers", {})}
    record = {
        "sitting_id": sitting_id,
        "updated_at": datetime.now().astimezone().isoformat(timespec="seconds"),
        "closed": closed,
        "runs": runs,
        "figures": compute(merge(list(runs.values()))),
    }
    datadir.private_dir(path.parent)
    tmp = path.with_suffix(".json.tmp")
    with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, datadir.FILE_MODE), "w", encoding="utf-8") as fh:
        json.dump(record, fh, ensure_ascii=False, indent=1, sort_keys=True)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return record
