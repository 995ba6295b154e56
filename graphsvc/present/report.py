"""The run report: one self-contained HTML page about a re-score run.

What the run was (parameters, stage timings, counts), the score distribution,
every top ring as an interactive picture with its features, the hubs, and
backtest figures when given. Nothing is fetched from the network.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import numpy as np
import pandas as pd

from graphsvc.files import write_text
from graphsvc.ingest.contract import TOKENISED
from graphsvc.present.pictures import SCRIPT, STYLE, legend, svg


def _table(frame: pd.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    rows = "".join("<tr>" + "".join(f"<td>{html.escape('' if v is None or v != v else str(v))}</td>" for v in row)
                   + "</tr>" for row in frame.itertuples(index=False))
    return f"<table><tr>{head}</tr>{rows}</table>"


def histogram(scores: pd.Series, width: int = 50) -> str:
    """Applicants per score bucket of ``width`` points, as an SVG bar chart (log scale)."""
    edges = np.arange(0, 1000 + width, width)
    counts, _ = np.histogram(scores.to_numpy(), bins=edges)
    top = np.log10(max(counts.max(), 1) + 1)
    bars = []
    for i, count in enumerate(counts):
        h = 180 * np.log10(count + 1) / top
        bars.append(f'<rect x="{30 + i * 30}" y="{200 - h:.1f}" width="26" height="{h:.1f}" fill="#1e88e5">'
                    f"<title>{edges[i]}-{edges[i + 1] - 1}: {count:,} applicants</title></rect>"
                    f'<text x="{30 + i * 30}" y="215" font-size="9">{edges[i]}</text>')
    return (f'<svg class="histogram" viewBox="0 0 {40 + len(counts) * 30} 220" width="{40 + len(counts) * 30}" '
            f'height="220">{"".join(bars)}</svg>')


def write(service, out: str | Path, *, run_id: str | None = None, top: int = 10,
          backtest: dict | None = None) -> Path:
    """Write the report of ``run_id`` (default: the served run) to ``out``."""
    run_id = service.run_id(run_id)
    run = service.runs().set_index("run_id").loc[run_id]
    scores = service.scores(run_id)
    rings = service.rings(top=top, run_id=run_id)
    hubs = service.hubs(run_id).head(20)
    hubs.loc[hubs["kind"].isin(TOKENISED), "value"] = "(identity token)"
    sections = [
        f"<h1>graphsvc run {html.escape(run_id)}</h1>",
        f"<p>created {html.escape(str(run['created_at']))}, as of "
        f"{html.escape(str(run['as_of'] if run['as_of'] == run['as_of'] else 'now'))}, seed {run['seed']}, "
        f"policy {html.escape(run['params']['policy_version'])}</p>",
        "<h2>What the run did</h2>",
        _table(pd.DataFrame([{"stage": k, "seconds": v} for k, v in run["timings"].items()])),
        _table(pd.DataFrame([{"count": k, "value": v} for k, v in run["counts"].items()])),
        "<h2>Scores</h2>", histogram(scores["score"]),
        _table(scores["band"].value_counts().rename_axis("band").reset_index(name="applicants")),
    ]
    if backtest:
        sections += ["<h2>Backtest</h2>", _table(pd.DataFrame(
            [{"measure": k, "value": v} for k, v in backtest.items() if not isinstance(v, dict | list)]))]
        new = backtest.get("new")
        if isinstance(new, dict):
            sections += ["<h3>New applications, as scored on write</h3>", _table(pd.DataFrame(
                [{"measure": k, "value": v} for k, v in new.items() if not isinstance(v, dict | list)]))]
    sections.append(f"<h2>Top {len(rings)} rings</h2><p>{legend()}</p>")
    for number, ring in enumerate(rings.itertuples(index=False)):
        graph = service.ring_graph(ring.ring_id, run_id=run_id)
        facts = rings.iloc[[number]].drop(columns=["ring_id"])
        sections.append(f'<section class="ring" id="{html.escape(ring.ring_id)}"><h3>ring {html.escape(ring.ring_id)}'
                        f" (risk {ring.risk})</h3>{_table(facts)}{svg(graph, prefix=f'r{number}')}</section>")
    sections += ["<h2>Hubs</h2>", _table(hubs)]
    page = (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>graphsvc run {html.escape(run_id)}'
            f"</title><style>{STYLE} body {{ padding: 0 16px; }} table {{ border-collapse: collapse; margin: 6px 0; }}"
            " td, th { border: 1px solid #ddd; padding: 2px 6px; font-size: 12px; }"
            " svg.graph { width: 640px; height: 640px; border: 1px solid #eee; }</style></head>"
            f"<body>{''.join(sections)}<script>{SCRIPT}</script></body></html>\n")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_text(out, page)
    return out


def read_backtest(path: str | Path | None) -> dict | None:
    """Backtest figures saved with ``graphsvc backtest --format json``."""
    return None if path is None else json.loads(Path(path).read_text())
