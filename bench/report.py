"""The benchmark's JSON report and its table.

The keys are those of issue 7 and must stay stable (people compare reports over time):
``salles``, ``seconds``, ``forwarded_pps``, ``incoming_pps``,
``server_cpu_us_per_forwarded_packet``, ``server_cpu_us_per_incoming_packet``,
``loss_pct``, ``added_delay_ms`` {p50, p99, max}, ``rss_mb_per_salle``, ``join_s``
{p50, max}; with ``--vs-janus`` the same keys under ``janus``. The top-level figures
are Séance's; a target that could not be measured has ``null`` figures (``salles`` and
``seconds`` stay filled) — never made-up numbers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from bench.measure import delay_summary_ms, percentile
from bench.simulcast import RIDS, layer_kind, rid_of_kind

FIGURE_KEYS = (
    "salles",
    "seconds",
    "forwarded_pps",
    "incoming_pps",
    "server_cpu_us_per_forwarded_packet",
    "server_cpu_us_per_incoming_packet",
    "loss_pct",
    "added_delay_ms",
    "rss_mb_per_salle",
    "join_s",
)
#: added after the first reports, under new names only, and only when their scenario ran:
#: ``sittings`` (--sittings K), ``event_loop`` (the Séance server's loop as it ran),
#: ``load_generator`` (the load generator's CPU over the window), ``server_counters`` (the
#: SFU's drops by reason and hook errors, whole run, from /metrics), ``capacity`` (--capacity),
#: ``mediarelay`` (--baseline mediarelay: the FIGURE_KEYS of aiortc's decode/re-encode relay),
#: ``workers`` (--workers W: {count, cpu_pct of one core per worker process}),
#: ``server_join_cpu_s`` (the server's CPU seconds from the first salle process started to
#: the last salle joined), ``deliberation`` (false with --media-only: no journal, no view pushes),
#: ``simulcast`` (--simulcast: :func:`simulcast_figures`, also under ``janus``); under
#: ``janus`` also ``load_generator`` (its salles' CPU: a starved load generator spoils a run);
#: ``sizing`` (issue 17: :func:`sizing`, also under ``janus``: the memory per salle against
#: its goal and the cores a 158-salle sitting would need)
OPTIONAL_KEYS = (
    "sittings",
    "event_loop",
    "load_generator",
    "server_counters",
    "capacity",
    "mediarelay",
    "workers",
    "server_join_cpu_s",
    "deliberation",
    "simulcast",
    "sizing",
)
#: optional keys a server's block (``janus``, ``mediarelay``) may have too
BLOCK_OPTIONAL_KEYS = ("simulcast", "load_generator", "sizing")
#: issue 17's goal: resident memory per connected salle, MB
RSS_GOAL_MB_PER_SALLE = 2.0
#: the sitting the projection is made for: the largest EPCI by number of communes (issue 17)
PROJECTED_SALLES = 158
#: video slots per salle (president and active speaker, ``bench.synthetic_salle.subscriptions``)
VIDEO_SLOTS = 2
PROJECTION_FORMULA = (
    "cores = cpu_us_per_forwarded_packet × S × (min(2, S−1) × video_pps_per_slot"
    " + min(voices, S−1) × audio_pps_per_slot) / 1e6, S = 158"
)
SIZING_KEYS = (
    "rss_mb_per_salle",
    "rss_goal_mb",
    "rss_within_goal",
    "projected_salles",
    "video_slots",
    "audio_slots",
    "video_pps_per_slot",
    "audio_pps_per_slot",
    "projected_forwarded_pps",
    "projected_incoming_pps",
    "projected_cores",
    "formula",
)
DELAY_KEYS = ("p50", "p99", "max")
JOIN_KEYS = ("p50", "max")


@dataclass
class TargetRun:
    """What one run against one server measured (raw; :func:`figures` derives the report)."""

    salles: int
    window_s: float
    cpu_s: float | None  # server CPU over the window
    rss_idle: int | None  # server RSS before any salle joined, bytes
    rss_loaded: int | None  # server RSS at the end of the window, bytes
    sent: int = 0  # RTP packets the salles sent in the window (server incoming)
    received: int = 0  # RTP packets the salles received in the window (server forwarded)
    expected: int = 0  # per-SSRC sequence span at the receivers
    delays_us: list[int] = field(default_factory=list)
    join_s: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    load_cpu_s: float | None = None  # CPU of the load generator's processes over the window
    event_loop: str | None = None  # the server's event loop as it ran (uvloop or asyncio)
    load_send_dropped: int = 0  # packets the salles could not send (their socket buffer full)
    server_counters: dict | None = None  # Séance's drops and hook errors (/metrics), whole run
    load_cores: int | None = None  # cores the load generator was pinned to (None: not pinned)
    worker_cpu_s: list[float] = field(default_factory=list)  # CPU of each server process
    join_cpu_s: float | None = None  # server CPU while the salles joined
    #: each salle's own counts: salle, sent_by_kind, layers (received per source and rid), answered_rids
    per_salle: list[dict[str, Any]] = field(default_factory=list)


def load_figures(run: TargetRun) -> dict[str, Any]:
    """The load generator's CPU over the window (percent of one core, and its cores):
    near 100 % per core, the load generator and not the server is what saturates.
    ``pinned`` false: it was not given cores of its own (it shared them with the server's
    workers), so ``cores`` is null. ``cpu_us_per_packet``: that CPU per RTP packet the
    salles sent or received in the window (what issue 17 asks to bring down)."""
    pct = round(100 * run.load_cpu_s / run.window_s, 1) if run.load_cpu_s is not None and run.window_s else None
    packets = run.sent + run.received
    per_packet = round(1e6 * run.load_cpu_s / packets, 2) if run.load_cpu_s is not None and packets else None
    return {
        "cpu_pct": pct,
        "cpu_us_per_packet": per_packet,
        "cores": run.load_cores,
        "pinned": run.load_cores is not None,
        "send_dropped": run.load_send_dropped,
    }


def worker_figures(run: TargetRun) -> dict[str, Any]:
    """``--workers W``: the CPU of each worker process over the window (percent of one core)."""
    return {
        "count": len(run.worker_cpu_s),
        "cpu_pct": [round(100 * c / run.window_s, 1) for c in run.worker_cpu_s] if run.window_s else [],
    }


def simulcast_figures(run: TargetRun) -> dict[str, Any]:
    """``--simulcast``: what the layers did, from the salles' own counts in the window.

    - ``negotiated_salles``: salles whose answer accepted the three rids (``a=simulcast:recv``);
    - ``sent_pps`` / ``forwarded_pps``: packets per second of each layer sent by all
      publishers / received by all subscribers; ``salles_sending``: how many publishers
      sent each layer in the window;
    - ``layers_per_subscription``: how many (subscriber, video source) pairs received 1, 2
      or 3 different layers of that source in the window (an SFU that forwards one layer
      per subscriber has only ``"1"``; a layer switch inside the window makes a ``"2"``);
    - ``layer_changes``: layers the publishers switched off or on because the server asked
      (``--dynacast``: Séance's ``layers`` message; Janus has no such request: 0);
    - ``layer_switches_max``: the most times one pair's packets went from a layer to
      another in the window (a switch counts 1; two layers forwarded at once would
      alternate at nearly every packet);
    - ``forwarded_over_sent``: over the pairs that received one layer over the whole window
      (from the first to the last packet at least 90 % of it: a speaker slot that changed
      source in the window is left out), the packets received against those their source
      sent on that layer in the window (1.0: the layer forwarded whole and nothing else;
      the window's edges move it by a few packets).
    """
    w = run.window_s or 1.0
    sent = dict.fromkeys(RIDS, 0)
    sending = dict.fromkeys(RIDS, 0)
    forwarded = dict.fromkeys(RIDS, 0)
    sent_by_salle: dict[int, dict[int, int]] = {}
    for r in run.per_salle:
        kinds = {int(k): v for k, v in (r.get("sent_by_kind") or {}).items()}
        sent_by_salle[int(r["salle"])] = kinds
        for k, v in kinds.items():
            rid = rid_of_kind(k)
            if rid is not None:
                sent[rid] += v
                sending[rid] += v > 0
    per_pair: dict[str, int] = {}
    switches = [n for r in run.per_salle for n in (r.get("layer_switches") or {}).values()]
    got = of = 0
    for r in run.per_salle:
        for src, per in (r.get("layers") or {}).items():
            per_pair[str(len(per))] = per_pair.get(str(len(per)), 0) + 1
            for rid, n in per.items():
                forwarded[rid] = forwarded.get(rid, 0) + n
            span = (r.get("layer_span_s") or {}).get(src)
            if len(per) == 1 and (span is None or span >= 0.9 * w):
                ((rid, n),) = per.items()
                got += n
                of += sent_by_salle.get(int(src), {}).get(layer_kind(rid), 0)
    return {
        "layers": list(RIDS),
        "negotiated_salles": sum(1 for r in run.per_salle if tuple(r.get("answered_rids") or ()) == RIDS),
        "sent_pps": {rid: round(v / w, 1) for rid, v in sent.items()},
        "salles_sending": sending,
        "forwarded_pps": {rid: round(v / w, 1) for rid, v in forwarded.items()},
        "layers_per_subscription": dict(sorted(per_pair.items())),
        "forwarded_over_sent": round(got / of, 4) if of else None,
        "layer_changes": sum(r.get("layer_changes") or 0 for r in run.per_salle),
        "layer_switches_max": max(switches, default=0),
    }


def slots(salles: int, voices: int) -> tuple[int, int]:
    """(video slots, audio slots) of one salle in a sitting of ``salles``: the president
    and the active speaker, and ``voices`` voices, never its own (so at most salles − 1)."""
    return min(VIDEO_SLOTS, salles - 1), min(voices, salles - 1)


def slot_rates(per_salle: list[dict[str, Any]], salles: int, voices: int, window_s: float) -> tuple[float, float]:
    """(video, audio) packets per second one filled slot forwards, measured: the packets
    the salles received in the window (their ``by_source``: ``"<src>:v"`` / ``"<src>:a"``),
    divided by the window and by the slots of every receiving salle (``salles`` is the
    salles of one sitting, which sets the slots; ``per_salle`` may hold several sittings)."""
    video = sum(n for r in per_salle for k, n in (r.get("by_source") or {}).items() if k.endswith(":v"))
    audio = sum(n for r in per_salle for k, n in (r.get("by_source") or {}).items() if k.endswith(":a"))
    v_slots, a_slots = slots(salles, voices)
    subscribers = len(per_salle)
    if not subscribers or window_s <= 0:
        return 0.0, 0.0
    v = video / (window_s * subscribers * v_slots) if v_slots else 0.0
    a = audio / (window_s * subscribers * a_slots) if a_slots else 0.0
    return v, a


def sizing(
    rss_mb_per_salle: float | None,
    cpu_us_per_forwarded_packet: float | None,
    video_pps_per_slot: float,
    audio_pps_per_slot: float,
    incoming_pps_per_salle: float,
    voices: int,
    salles: int = PROJECTED_SALLES,
) -> dict[str, Any]:
    """Issue 17's sizing goals from one run's figures (pure arithmetic, no timing).

    Memory: the run's ``rss_mb_per_salle`` against :data:`RSS_GOAL_MB_PER_SALLE`.

    Cores for a sitting of ``salles`` (S): every salle is a subscriber with min(2, S−1)
    video slots and min(voices, S−1) audio slots, so the forwarded packet rate is
    S × (video slots × video pps per slot + audio slots × audio pps per slot) — it grows
    with salles × subscriptions per salle; each slot forwards what one source sends, as
    measured. The cores are that rate times the measured CPU per forwarded packet. The
    CPU per forwarded packet carries the incoming side at the run's ratio of incoming to
    forwarded packets, which stays the same at S when the run's slots were all filled
    (run salles − 1 ≥ voices); it assumes the cost per packet does not grow with S."""
    v_slots, a_slots = slots(salles, voices)
    forwarded = salles * (v_slots * video_pps_per_slot + a_slots * audio_pps_per_slot)
    cores = None if cpu_us_per_forwarded_packet is None else cpu_us_per_forwarded_packet * forwarded / 1e6
    return {
        "rss_mb_per_salle": rss_mb_per_salle,
        "rss_goal_mb": RSS_GOAL_MB_PER_SALLE,
        "rss_within_goal": None if rss_mb_per_salle is None else rss_mb_per_salle <= RSS_GOAL_MB_PER_SALLE,
        "projected_salles": salles,
        "video_slots": v_slots,
        "audio_slots": a_slots,
        "video_pps_per_slot": round(video_pps_per_slot, 1),
        "audio_pps_per_slot": round(audio_pps_per_slot, 1),
        "projected_forwarded_pps": round(forwarded, 1),
        "projected_incoming_pps": round(salles * incoming_pps_per_salle, 1),
        "projected_cores": None if cores is None else round(cores, 2),
        "formula": PROJECTION_FORMULA,
    }


def run_sizing(run: TargetRun, fig: dict[str, Any], salles_per_sitting: int, voices: int) -> dict[str, Any]:
    """:func:`sizing` of one target's run and its :func:`figures`."""
    v, a = slot_rates(run.per_salle, salles_per_sitting, voices, run.window_s)
    incoming = (fig["incoming_pps"] or 0.0) / run.salles if run.salles else 0.0
    return sizing(fig["rss_mb_per_salle"], fig["server_cpu_us_per_forwarded_packet"], v, a, incoming, voices)


def _simulcast_rows(cols: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, list[str]]]:
    blocks = [c.get("simulcast") or {} for _, c in cols]
    rows = [
        (f"simulcast {key} {rid}", [_fmt(b.get(key, {}).get(rid)) for b in blocks])
        for key in ("sent_pps", "forwarded_pps")
        for rid in RIDS
    ]
    rows.append(
        (
            "simulcast salles_sending",
            [" ".join(f"{k}:{v}" for k, v in b.get("salles_sending", {}).items()) or "—" for b in blocks],
        )
    )
    rows.append(("simulcast negotiated_salles", [_fmt(b.get("negotiated_salles")) for b in blocks]))
    per = [" ".join(f"{k}:{v}" for k, v in b.get("layers_per_subscription", {}).items()) or "—" for b in blocks]
    rows.append(("simulcast layers_per_subscription", per))
    rows.append(("simulcast forwarded_over_sent", [_fmt(b.get("forwarded_over_sent")) for b in blocks]))
    return rows


def empty_figures(salles: int, seconds: float) -> dict[str, Any]:
    out: dict[str, Any] = dict.fromkeys(FIGURE_KEYS)
    out["salles"], out["seconds"] = salles, seconds
    out["added_delay_ms"] = dict.fromkeys(DELAY_KEYS)
    out["join_s"] = dict.fromkeys(JOIN_KEYS)
    return out


def figures(run: TargetRun, zero_us: float) -> dict[str, Any]:
    w = run.window_s
    out = empty_figures(run.salles, round(w, 3))
    out["forwarded_pps"] = round(run.received / w, 1)
    out["incoming_pps"] = round(run.sent / w, 1)
    if run.cpu_s is not None:
        cpu_us = run.cpu_s * 1e6
        out["server_cpu_us_per_forwarded_packet"] = round(cpu_us / run.received, 2) if run.received else None
        out["server_cpu_us_per_incoming_packet"] = round(cpu_us / run.sent, 2) if run.sent else None
    out["loss_pct"] = round(100.0 * max(0, run.expected - run.received) / run.expected, 3) if run.expected else None
    if run.delays_us:
        out["added_delay_ms"] = delay_summary_ms(run.delays_us, zero_us)
    if run.rss_idle is not None and run.rss_loaded is not None and run.salles:
        out["rss_mb_per_salle"] = round(max(0, run.rss_loaded - run.rss_idle) / run.salles / 2**20, 2)
    joins = sorted(run.join_s)
    if joins and len(joins) == run.salles:
        out["join_s"] = {"p50": round(percentile(joins, 50), 3), "max": round(joins[-1], 3)}
    return out


def validate(report: dict[str, Any], janus: bool = False, mediarelay: bool = False) -> list[str]:
    """Problems with a report's shape (keys, types, non-negative numbers); [] if well-formed.
    Figures may be null (not measured); timings are never judged."""
    problems: list[str] = []

    def check(block: dict[str, Any], where: str) -> None:
        for k in FIGURE_KEYS:
            if k not in block:
                problems.append(f"{where}{k}: missing")
        extra = set(block) - set(FIGURE_KEYS) - ({"janus", *OPTIONAL_KEYS} if not where else set(BLOCK_OPTIONAL_KEYS))
        if extra:
            problems.append(f"{where}: unexpected keys {sorted(extra)}")
        if not isinstance(block.get("salles"), int) or block.get("salles", 0) < 1:
            problems.append(f"{where}salles: not a positive int")
        for k in FIGURE_KEYS:
            v = block.get(k)
            if k in ("added_delay_ms", "join_s"):
                sub = DELAY_KEYS if k == "added_delay_ms" else JOIN_KEYS
                if not isinstance(v, dict) or set(v) != set(sub):
                    problems.append(f"{where}{k}: must be an object with {sub}")
                    continue
                for kk in sub:
                    if v[kk] is not None and (not isinstance(v[kk], (int, float)) or v[kk] < 0):
                        problems.append(f"{where}{k}.{kk}: not a non-negative number")
                if all(isinstance(v[kk], (int, float)) for kk in sub) and v[sub[0]] > v[sub[-1]]:
                    problems.append(f"{where}{k}: {sub[0]} > {sub[-1]}")
            elif k in block and v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0):
                problems.append(f"{where}{k}: not a non-negative number")
        if isinstance(block.get("loss_pct"), (int, float)) and block["loss_pct"] > 100:
            problems.append(f"{where}loss_pct: above 100")
        if "sizing" in block:
            problems.extend(_sizing_problems(block["sizing"], f"{where}sizing"))

    check(report, "")
    if mediarelay:
        if not isinstance(report.get("mediarelay"), dict):
            problems.append("mediarelay: missing")
        else:
            check(report["mediarelay"], "mediarelay.")
    if janus:
        if not isinstance(report.get("janus"), dict):
            problems.append("janus: missing")
        else:
            check(report["janus"], "janus.")
    return problems


def _sizing_problems(sz: Any, where: str) -> list[str]:
    if not isinstance(sz, dict) or set(sz) != set(SIZING_KEYS):
        return [f"{where}: must be an object with {SIZING_KEYS}"]
    out = []
    for k in SIZING_KEYS:
        v = sz[k]
        if k == "formula":
            if not isinstance(v, str) or not v:
                out.append(f"{where}.formula: not a text")
        elif k == "rss_within_goal":
            if v is not None and not isinstance(v, bool):
                out.append(f"{where}.{k}: not a boolean")
        elif v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0):
            out.append(f"{where}.{k}: not a non-negative number")
    if isinstance(sz["projected_salles"], int) and sz["projected_salles"] < 1:
        out.append(f"{where}.projected_salles: not a positive int")
    return out


def _fmt(v: Any) -> str:
    if v is None:
        return "—"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:,.2f}" if abs(v) < 1000 else f"{v:,.0f}"
    return str(v)


def table(report: dict[str, Any]) -> str:
    cols = [("séance", report)]
    if isinstance(report.get("mediarelay"), dict):
        cols.append(("mediarelay", report["mediarelay"]))
    if isinstance(report.get("janus"), dict):
        cols.append(("janus", report["janus"]))
    rows: list[tuple[str, list[str]]] = []
    for k in FIGURE_KEYS:
        if k in ("added_delay_ms", "join_s"):
            for kk in DELAY_KEYS if k == "added_delay_ms" else JOIN_KEYS:
                rows.append((f"{k}.{kk}", [_fmt(c[k][kk]) for _, c in cols]))
        else:
            rows.append((k, [_fmt(c[k]) for _, c in cols]))
    if any(isinstance(c.get("simulcast"), dict) for _, c in cols):
        rows += _simulcast_rows(cols)
    if any(isinstance(c.get("sizing"), dict) for _, c in cols):
        sz = [c.get("sizing") or {} for _, c in cols]
        rows.append(
            (f"rss goal ≤ {RSS_GOAL_MB_PER_SALLE:g} MB/salle met", [_fmt(b.get("rss_within_goal")) for b in sz])
        )
        for key in ("video_pps_per_slot", "audio_pps_per_slot", "projected_forwarded_pps", "projected_cores"):
            rows.append((f"{PROJECTED_SALLES} salles: {key}", [_fmt(b.get(key)) for b in sz]))
    for other, _ in cols[1:]:
        for k in ("server_cpu_us_per_forwarded_packet", "loss_pct"):
            a, b = report[k], report[other][k]
            ratio = f"{a / b:.2f}" if isinstance(a, (int, float)) and isinstance(b, (int, float)) and b else "—"
            rows.append((f"ratio séance/{other} {k}", [ratio] + [""] * (len(cols) - 1)))
    w0 = max(len(r[0]) for r in rows)
    header = f"{'':<{w0}}  " + "  ".join(f"{name:>12}" for name, _ in cols)
    lines = [header] + [f"{name:<{w0}}  " + "  ".join(f"{v:>12}" for v in vals) for name, vals in rows]
    return "\n".join(lines)


def dump(report: dict[str, Any], path: str) -> None:
    with open(path, "w") as f:
        json.dump(report, f, indent=2, ensure_ascii=False)
        f.write("\n")
