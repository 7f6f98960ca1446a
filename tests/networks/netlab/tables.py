"""A report as the Markdown tables of docs/media.md ("Real networks")."""

from __future__ import annotations

from tests.networks.netlab.figures import KioskFigures, PhaseReport, Report


def _n(value: float | int | None, fmt: str = "g") -> str:
    return "–" if value is None else format(value, fmt)


def _size(width: int | None, height: int | None) -> str:
    return f"{width}×{height}" if width and height else "–"


def _received(k: KioskFigures) -> list[str]:
    rows = []
    for v in k.video:
        src = ", ".join(v.sources) or "(none)"
        rows.append(
            f"| {k.name} | {v.slot} ← {src} | {v.fps:.1f} | {v.frozen_s:.1f} ({v.chromium_freeze_s:.1f}) | {v.paused_s:g} | "
            f"{_size(v.width, v.height)} | {v.loss_pct:g} % | {v.kbps:g} | {v.nacks_sent} / {v.plis_sent} |"
        )
    return rows


def _voices(k: KioskFigures) -> list[str]:
    return [
        f"| {k.name} | {a.slot} ← {', '.join(a.sources) or '(none)'} | {a.packets} | {a.loss_pct:g} % | "
        f"{a.concealed_pct:g} % | {a.kbps:g} |"
        for a in k.audio
        if a.sources or a.packets
    ]


def _cameras(k: KioskFigures) -> list[str]:
    return [
        f"| {k.name} | {p.kind}{'/' + p.rid if p.rid else ''} | {p.fps:.1f} | {_size(p.width, p.height)} | "
        f"{p.key_frames} ({p.key_frames_per_min:g}/min) | {p.plis_received} | {p.nacks_received} | {p.kbps:g} | "
        f"{_n(p.reported_loss_pct)} % | {p.quality_limitation or '–'} |"
        for p in k.publishers
    ]


def _command(c: dict) -> str:
    """``ReportTransmission(vaux, transmitting=False)``."""
    args = [c["salle_id"]] if "salle_id" in c else []
    args += [f"{k}={c[k]}" for k in ("transmitting", "audio_only") if k in c]
    return f"{c.get('type')}({', '.join(args)})"


def phase_tables(phase: PhaseReport) -> str:
    kiosks = list(phase.kiosks.values())
    out = [f"**{phase.name}** ({phase.seconds:.0f} s)", ""]
    out += [
        "| page | link | down kbit/s (dropped) | up kbit/s (dropped) | path | RTT ms |",
        "|---|---|---|---|---|---|",
    ]
    for k in kiosks:
        link = k.link
        path = k.path.candidate_type or "–"
        if k.path.relay_protocol:
            path += f" ({k.path.relay_protocol})"
        down = f"{link.down_kbps:g} ({link.down_dropped_pct:g} %)" if link else "–"
        up = f"{link.up_kbps:g} ({link.up_dropped_pct:g} %)" if link else "–"
        out.append(f"| {k.name} | {phase.links.get(k.name, '')} | {down} | {up} | {path} | {_n(k.path.rtt_ms)} |")
    out += [
        "",
        "| page | video slot ← source | frames/s | frozen s (Chromium) | paused s | size | loss | kbit/s | NACK / PLI sent |",
    ]
    out += ["|---|---|---|---|---|---|---|---|---|"]
    out += [row for k in kiosks for row in _received(k)]
    out += ["", "| page | voice slot ← source | packets | loss | concealed | kbit/s |", "|---|---|---|---|---|---|"]
    out += [row for k in kiosks for row in _voices(k)]
    out += [
        "",
        "| salle | sends | frames/s | size | key frames | PLI recv | NACK recv | kbit/s | loss reported | limited by |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    out += [row for k in kiosks for row in _cameras(k)]
    s = phase.server
    if s is not None:
        out += [
            "",
            f"Server: CPU {_n(s.cpu_pct)} %, out {', '.join(f'{k} {v:g}' for k, v in s.kbps_out.items())} kbit/s, "
            f"{s.retransmissions_per_s:g} retransmissions/s, {s.nacks_received:g} NACKs and {s.plis_received:g} PLIs "
            f"received, {s.keyframe_requests_sent:g} key-frame requests sent, dropped {s.dropped or '{}'}.",
        ]
    st = phase.sitting
    if st is not None:
        down = ", ".join(f"{k} {v:g} s" for k, v in st.not_transmitting_s.items()) or "none"
        out += [
            f"Sitting: {' → '.join(st.statuses)}; not transmitting: {down}; "
            f"audio-only: {', '.join(k for k, v in st.audio_only.items() if v) or 'none'}.",
        ]
    if phase.journal:
        out.append(f"Journaled: {', '.join(_command(c) for c in phase.journal)}.")
    if phase.opening is not None:
        o = phase.opening
        out.append(
            "OpenSitting at the end: accepted." if o["accepted"] else f"OpenSitting at the end: refused ({o['code']})."
        )
    mf = phase.machine
    if mf is not None:
        browsers = ", ".join(f"{k} {v:g} %" for k, v in mf.browsers_cpu_pct.items())
        out.append(f"Machine: {mf.busy_pct:g} % busy, load {mf.load_1m:g}; browsers' CPU (100 % = a core): {browsers}.")
    return "\n".join(out)


def report_markdown(report: Report) -> str:
    m = report.machine
    head = [
        f"### {report.scenario}",
        "",
        f"{report.description}. {report.date}; {m['before']['cores']} cores, load "
        f"{m['before']['load_1m']} before, {m['after']['load_1m']} after.",
    ]
    if report.opening is not None:
        o = report.opening
        head.append(
            "OpenSitting: accepted." if o["accepted"] else f"OpenSitting: refused ({o['code']}: {o['message']})."
        )
    head += [f"Note: {n}" for n in report.notes]
    return "\n".join(head) + "\n\n" + "\n\n".join(phase_tables(p) for p in report.phases) + "\n"


HEADLINE = (
    "| scenario | phase | page | frames/s (worst slot) | frozen s/min (worst) | size | video loss | audio loss / concealed "
    "| good cameras' key frames/min | server retransmissions/s | sitting |"
)


def headline_rows(report: Report, weak: str, good: tuple[str, ...]) -> list[str]:
    """One row per phase: the figures issue 11 quotes, for the weak page (a salle or a
    viewer) and the good salles' cameras."""
    rows = []
    for phase in report.phases:
        k = phase.kiosks.get(weak)
        if k is None:
            continue
        shown = [v for v in k.video if v.sources] or list(k.video)
        voices = [a for a in k.audio if a.sources]
        fps = min((v.fps for v in shown), default=0.0)
        frozen = max((v.frozen_s * 60 / phase.seconds for v in shown), default=0.0)
        sizes = "/".join(sorted({f"{v.height}p" for v in shown if v.height})) or "–"
        video_loss = max((v.loss_pct for v in shown), default=0.0)
        audio = f"{max((a.loss_pct for a in voices), default=0):g} % / {max((a.concealed_pct for a in voices), default=0):g} %"
        key_frames = ", ".join(
            f"{p.key_frames_per_min:g}" for s in good for p in phase.kiosks[s].publishers if p.kind == "video"
        )
        st = phase.sitting
        sitting = "–"
        if st is not None:
            sitting = " → ".join(st.statuses)
            if weak in st.not_transmitting_s:
                sitting += f"; {weak} not transmitting {st.not_transmitting_s[weak]:g} s"
            if st.audio_only.get(weak):
                sitting += f"; {weak} audio-only"
        retrans = phase.server.retransmissions_per_s if phase.server else 0
        rows.append(
            f"| {report.scenario} | {phase.name} | {weak} | {fps:.1f} | {frozen:.1f} | {sizes} | {video_loss:g} % "
            f"| {audio} | {key_frames} | {retrans:g} | {sitting} |"
        )
    return rows
