"""The run report: one offline page with every top ring drawn."""

import json
import re

import graphsvc
from graphsvc.present import report


def test_report_draws_every_top_ring_offline(scored_db, tmp_path):
    backtest = {"as_of": 1, "auc": 0.74, "timings": {"read": 1}}
    (tmp_path / "bt.json").write_text(json.dumps(backtest))
    with graphsvc.open(scored_db, readonly=True) as service:
        out = report.write(service, tmp_path / "report.html", top=3, backtest=report.read_backtest(tmp_path / "bt.json"))
        rings = service.rings(top=3)
        run_id = service.run_id()
        graphs = [service.ring_graph(r) for r in rings["ring_id"]]
    page = out.read_text()
    assert f"graphsvc run {run_id}" in page
    assert page.count('<svg class="graph"') == 3
    for ring, graph in zip(rings["ring_id"], graphs, strict=True):
        section = re.search(rf'<section class="ring" id="{ring}">(.*?)</section>', page, re.S).group(1)
        assert section.count("<circle") == graph.number_of_nodes()
    assert "<h2>Backtest</h2>" in page and "0.74" in page
    assert not re.search(r"(src|href)\s*=\s*[\"']?(https?:)?//", page)
    assert 'class="histogram"' in page
