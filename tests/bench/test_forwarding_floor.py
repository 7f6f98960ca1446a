"""``python -m bench.forwarding``: the floor table of the forwarding path (bench/floor.py,
issue 17) runs, short, and its report is well-formed. Timings are never asserted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bench import floor

ROOT = Path(__file__).resolve().parents[2]
SHORT = ["--packets", "256", "--batch", "16", "--subscribers", "2", "--seconds-per-row", "20", "--json"]


def _run(prefix: str = "") -> dict:
    code = f"{prefix}import sys\nfrom bench.forwarding import main\nsys.exit(main({SHORT!r}))\n"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_the_floor_report_has_every_row_measured() -> None:
    report = _run()
    assert report["native_built"] is True  # make install-test builds sfu._forward
    assert report["srtp_profile"] == "SRTP_AEAD_AES_256_GCM"
    assert (report["batch"], report["packets"], report["payload_bytes"]) == (16, 256, 1000)
    rows = report["rows"]
    assert [r["path"] for r in rows] == list(floor.ROWS)
    for row in rows:
        assert isinstance(row["us_per_packet"], float) and row["us_per_packet"] > 0, row
        assert row["cpu_s"] > 0 and row["what"], row
    for row in rows[:5]:  # one consumer's batches, or the fan-out call's jobs: every packet handed over left
        assert row["packets"] == 256 and row["sent"] == 256, row
    assert "to 2 consumers" in rows[2]["what"]
    for router in rows[5:]:  # the Router on each path, forwarded to 2 subscribers
        assert router["sent"] >= router["packets"] > 0, router
    assert "fan_out" in rows[6]["what"] and "Consumer.forward" in rows[5]["what"]
    text = floor.table(report)
    assert text.count("\n| ") == 2 + len(rows)  # header, rule, one line per row
    for row in rows:
        assert f"| {row['path']} |" in text


def test_without_the_extension_the_native_rows_say_so() -> None:
    report = _run("import sys\nsys.modules['sfu._forward'] = None\n")
    assert report["native_built"] is False
    by_path = {r["path"]: r for r in report["rows"]}
    for path in ("sendmmsg", "native", "fanout", "router-native"):
        assert by_path[path]["us_per_packet"] is None, path
    assert "not built" in by_path["native"]["what"]
    assert by_path["python"]["sent"] == 256
    assert "| native |" in floor.table(report) and "—" in floor.table(report)
