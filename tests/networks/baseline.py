"""Run the network lab's scenarios of issue 11 and print their figures (docs/media.md,
"Real networks").

    sudo .venv/bin/python -m tests.networks.baseline [--seconds 60] [scenario ...]

Scenarios: adsl-600-300, loss-2pct, crawl-120, viewer-400, deaf-from-start, https-only
(all by default). Each runs real Chromium kiosks of the demo sitting against
``seance serve`` with one salle (or a public viewer) behind a shaped link; see
``tests/networks/netlab/scenarios.py``. The reports go to
``test-output/networks/<scenario>.json`` and the tables to stdout.

Needs root (namespaces, tc, nftables). The command re-executes itself under
``unshare --net``: everything it sets up lives in a network namespace of its own and
disappears with it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
from pathlib import Path

from tests.networks.netlab import scenarios
from tests.networks.netlab.figures import report_from_dict
from tests.networks.netlab.lab import in_host_namespace
from tests.networks.netlab.scenario import run
from tests.networks.netlab.tables import HEADLINE, headline_rows, report_markdown

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]

OUTPUT = REPO / "test-output" / "networks"


def show(folder: Path, names: list[str]) -> int:
    """The tables of saved reports (``--show``)."""
    headline = [HEADLINE, "|---" * (HEADLINE.count("|") - 1) + "|"]
    for name in names:
        path = folder / f"{name}.json"
        if not path.exists():
            continue
        report = report_from_dict(json.loads(path.read_text()))
        print(report_markdown(report))
        weak = scenarios.VIEWER if any(scenarios.VIEWER in p.kiosks for p in report.phases) else scenarios.WEAK
        headline += headline_rows(report, weak, scenarios.GOOD)
    print("\n".join(headline))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", metavar="scenario", help=f"among {', '.join(scenarios.ALL)} (default: all)")
    parser.add_argument("--seconds", type=float, default=60.0, help="length of each measured phase (default 60)")
    parser.add_argument("--out", type=Path, default=OUTPUT, help="folder of the JSON reports")
    parser.add_argument(
        "--show", action="store_true", help="print the tables of the reports already in --out, run nothing"
    )
    args = parser.parse_args(argv)
    if args.show:
        return show(args.out, args.names or list(scenarios.ALL))
    unknown = [n for n in args.names if n not in scenarios.ALL]
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(unknown)}")
    if os.geteuid() != 0:
        parser.error("needs root: network namespaces, tc and nftables")
    if in_host_namespace():  # everything the lab adds lives and dies with a namespace of its own
        os.execvp("unshare", ["unshare", "--net", "--", sys.executable, "-m", __spec__.name, *sys.argv[1:]])
    args.out.mkdir(parents=True, exist_ok=True)
    headline = [HEADLINE, "|---" * (HEADLINE.count("|") - 1) + "|"]
    for name in args.names or list(scenarios.ALL):
        scenario = scenarios.ALL[name](args.seconds)
        with tempfile.TemporaryDirectory(prefix=f"netlab-{name}-") as tmp:
            report = asyncio.run(run(scenario, Path(tmp), log=lambda m: print(m, file=sys.stderr)))
        path = args.out / f"{name}.json"
        path.write_text(json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n")
        print(report_markdown(report))
        print(f"(report: {path.relative_to(REPO) if path.is_relative_to(REPO) else path})\n", flush=True)
        weak = scenarios.VIEWER if scenario.viewers else scenarios.WEAK
        headline += headline_rows(report, weak, scenarios.GOOD)
    print("\n".join(headline))
    return 0


if __name__ == "__main__":
    sys.exit(main())
