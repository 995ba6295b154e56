"""Pictures of ego networks and rings: PNG (matplotlib), offline HTML, GraphML, GEXF.

Nodes are coloured by kind (applicants by outcome: fraud red, default orange);
hubs are drawn large with a dashed outline and their number of holders. The HTML
is one self-contained file: an SVG laid out here (``networkx.spring_layout``) and a
few lines of script for panning, zooming and highlighting a node's neighbours; it
loads nothing from the network. Identity-number tokens are never drawn.
"""

from __future__ import annotations

import html
from pathlib import Path

import networkx as nx

from graphsvc.errors import InputError, MissingExtraError
from graphsvc.files import private, write_text
from graphsvc.ingest.contract import TOKENISED

KIND_COLOURS = {"applicant": "#9e9e9e", "phone": "#1e88e5", "device": "#43a047", "ip": "#8e24aa",
                "id_number": "#6d4c41"}
OTHER_KIND = "#00897b"
OUTCOME_COLOURS = {"fraud": "#e53935", "default": "#fb8c00"}
FORMATS = (".png", ".html", ".graphml", ".gexf")


def colour(data: dict) -> str:
    """Fill colour of a node from its kind and, for applicants, its worst outcome."""
    if data.get("kind") == "applicant":
        outcomes = data.get("outcomes") or []
        for outcome in ("fraud", "default"):
            if outcome in outcomes:
                return OUTCOME_COLOURS[outcome]
    return KIND_COLOURS.get(data.get("kind"), OTHER_KIND)


def label(node: str, data: dict, numbers: dict[str, int]) -> str:
    """What a node shows: applicant ids and identifier values, never identity tokens."""
    if data.get("kind") in TOKENISED:
        return f"identity #{numbers.setdefault(node, len(numbers) + 1)}"
    return str(data.get("value", node))


def positions(graph: nx.Graph, seed: int = 7) -> dict[str, tuple[float, float]]:
    """A deterministic spring layout scaled to [0, 1]."""
    if not len(graph):
        return {}
    raw = nx.spring_layout(graph, seed=seed, weight=None)
    xs = [p[0] for p in raw.values()]
    ys = [p[1] for p in raw.values()]
    span_x, span_y = (max(xs) - min(xs)) or 1.0, (max(ys) - min(ys)) or 1.0
    return {n: ((p[0] - min(xs)) / span_x, (p[1] - min(ys)) / span_y) for n, p in raw.items()}


def save(graph: nx.Graph, path: str | Path, title: str = "") -> Path:
    """Write ``graph`` as the format ``path``'s suffix names (.png, .html, .graphml, .gexf).

    Raises
    ------
    ValueError
        For another suffix.
    MissingExtraError
        For PNG without matplotlib (``pip install 'graphsvc[viz]'``).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise InputError(f"{path.name}: the picture format follows the suffix, one of {', '.join(FORMATS)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    {".png": to_png, ".html": to_html, ".graphml": to_file, ".gexf": to_file}[suffix](graph, path, title)
    return path


def to_png(graph: nx.Graph, path: Path, title: str = "") -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.lines import Line2D
    except ImportError as exc:
        raise MissingExtraError("PNG pictures need matplotlib: pip install 'graphsvc[viz]'") from exc
    where = positions(graph)
    numbers: dict[str, int] = {}
    figure, axes = plt.subplots(figsize=(10, 8), dpi=100)
    for a, b in graph.edges():
        axes.plot([where[a][0], where[b][0]], [where[a][1], where[b][1]], color="#bdbdbd", linewidth=0.8, zorder=1)
    for node, data in graph.nodes(data=True):
        hub = bool(data.get("hub"))
        axes.scatter([where[node][0]], [where[node][1]], s=260 if hub else 90, c=colour(data),
                     edgecolors="black" if hub else "white", linewidths=1.5, linestyle="--" if hub else "-",
                     zorder=2)
        if len(graph) <= 80 or data.get("kind") == "applicant" or hub:
            text = label(node, data, numbers) + (f" ({data.get('degree')} holders)" if hub else "")
            axes.annotate(text, where[node], fontsize=7, xytext=(4, 4), textcoords="offset points", zorder=3)
    legend = [Line2D([0], [0], marker="o", color="w", markerfacecolor=c, markersize=9, label=k)
              for k, c in [*KIND_COLOURS.items(), *(("applicant: " + o, c) for o, c in OUTCOME_COLOURS.items())]]
    axes.legend(handles=legend, loc="lower right", fontsize=8, frameon=False)
    axes.set_title(title or graph.graph.get("title", ""))
    axes.set_axis_off()
    figure.tight_layout()
    figure.savefig(private(path))
    plt.close(figure)


def to_file(graph: nx.Graph, path: Path, title: str = "") -> None:
    """GraphML or GEXF: list attributes joined with commas, missing ones left out,
    identity tokens replaced by their picture number."""
    numbers: dict[str, int] = {}
    out = nx.Graph(title=title or graph.graph.get("title", ""))
    for node, data in graph.nodes(data=True):
        out.add_node(label(node, data, numbers) if data.get("kind") in TOKENISED else node,
                     **_plain({**data, "label": label(node, data, numbers)}))
    for a, b, data in graph.edges(data=True):
        out.add_edge(*(label(n, graph.nodes[n], numbers) if graph.nodes[n].get("kind") in TOKENISED else n
                       for n in (a, b)), **_plain(data))
    (nx.write_graphml if path.suffix.lower() == ".graphml" else nx.write_gexf)(out, private(path))


def _plain(data: dict) -> dict:
    clean = {}
    for key, value in data.items():
        if value is None or key == "value" and data.get("kind") in TOKENISED:
            continue
        clean[key] = ",".join(map(str, value)) if isinstance(value, list | tuple | set) else value
    return clean


def svg(graph: nx.Graph, prefix: str = "g") -> str:
    """The graph as an SVG element (class ``graph``; element ids start with ``prefix``),
    for :func:`to_html` and reports; :data:`SCRIPT` makes it interactive."""
    where = positions(graph)
    numbers: dict[str, int] = {}
    size, pad = 1000, 40
    xy = {n: (pad + p[0] * (size - 2 * pad), pad + p[1] * (size - 2 * pad)) for n, p in where.items()}
    ids = {n: f"{prefix}-{i}" for i, n in enumerate(graph.nodes())}
    edges = "\n".join(
        f'<line x1="{xy[a][0]:.1f}" y1="{xy[a][1]:.1f}" x2="{xy[b][0]:.1f}" y2="{xy[b][1]:.1f}" '
        f'data-a="{ids[a]}" data-b="{ids[b]}"><title>{html.escape(", ".join(d.get("roles", [])))}</title></line>'
        for a, b, d in graph.edges(data=True))
    nodes, texts = [], []
    for node, data in graph.nodes(data=True):
        hub = bool(data.get("hub"))
        name = label(node, data, numbers)
        tip = [name, f"kind: {data.get('kind')}"]
        if data.get("outcomes"):
            tip.append("outcomes: " + ", ".join(data["outcomes"]))
        if data.get("degree"):
            tip.append(f"holders: {data['degree']}" + (" (hub, not expanded)" if hub else ""))
        nodes.append(f'<circle id="{ids[node]}" cx="{xy[node][0]:.1f}" cy="{xy[node][1]:.1f}" r="{14 if hub else 8}" '
                     f'fill="{colour(data)}" class="{"hub" if hub else ""}" data-kind="{data.get("kind")}">'
                     f'<title>{html.escape(chr(10).join(tip))}</title></circle>')
        texts.append(f'<text x="{xy[node][0] + 10:.1f}" y="{xy[node][1] - 10:.1f}">{html.escape(name)}</text>')
    return (f'<svg class="graph" viewBox="0 0 1000 1000" data-nodes="{graph.number_of_nodes()}" '
            f'data-edges="{graph.number_of_edges()}"><g>{edges}</g><g>{"".join(nodes)}</g>'
            f'<g>{"".join(texts)}</g></svg>')


def legend() -> str:
    """The colour key as HTML."""
    return "".join(f'<span class="key"><i style="background:{c}"></i>{html.escape(k)}</span>' for k, c in
                   [*KIND_COLOURS.items(), *(("applicant: " + o, c) for o, c in OUTCOME_COLOURS.items())])


def to_html(graph: nx.Graph, path: Path, title: str = "") -> None:
    heading = html.escape(title or graph.graph.get("title", ""))
    write_text(
        path, f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{heading}</title>'
        f"<style>{STYLE} svg.graph {{ width: 100vw; height: calc(100vh - 40px); }}</style></head>"
        f"<body><header><b>{heading}</b> &nbsp; {legend()} <small>drag to pan, wheel to zoom, click a node"
        f"</small></header>{svg(graph)}<script>{SCRIPT}</script></body></html>\n")


STYLE = """
 body { font: 13px sans-serif; margin: 0; }
 header { padding: 8px 12px; border-bottom: 1px solid #ddd; }
 .key { margin-right: 12px; } .key i { display: inline-block; width: 10px; height: 10px;
   border-radius: 50%; margin-right: 4px; }
 svg.graph { cursor: grab; }
 line { stroke: #bdbdbd; stroke-width: 1.2; } circle { stroke: #fff; stroke-width: 1.5; cursor: pointer; }
 circle.hub { stroke: #000; stroke-dasharray: 4 2; } text { font-size: 10px; fill: #333; pointer-events: none; }
 .dim { opacity: 0.15; }
"""

SCRIPT = """
document.querySelectorAll("svg.graph").forEach(function (svg) {
  let box = [0, 0, 1000, 1000], drag = null;
  const show = () => svg.setAttribute("viewBox", box.join(" "));
  svg.addEventListener("mousedown", e => { drag = [e.clientX, e.clientY]; });
  window.addEventListener("mouseup", () => { drag = null; });
  svg.addEventListener("mousemove", e => {
    if (!drag) return;
    const k = box[2] / svg.clientWidth;
    box[0] -= (e.clientX - drag[0]) * k; box[1] -= (e.clientY - drag[1]) * k;
    drag = [e.clientX, e.clientY]; show();
  });
  svg.addEventListener("wheel", e => {
    e.preventDefault();
    const f = e.deltaY > 0 ? 1.15 : 1 / 1.15, cx = box[0] + box[2] / 2, cy = box[1] + box[3] / 2;
    box = [cx - box[2] * f / 2, cy - box[3] * f / 2, box[2] * f, box[3] * f]; show();
  }, { passive: false });
  svg.querySelectorAll("circle").forEach(c => c.addEventListener("click", () => {
    const near = new Set([c.id]);
    svg.querySelectorAll("line").forEach(l => {
      if (l.dataset.a === c.id) near.add(l.dataset.b);
      if (l.dataset.b === c.id) near.add(l.dataset.a);
    });
    svg.querySelectorAll("circle").forEach(o => o.classList.toggle("dim", !near.has(o.id)));
    svg.querySelectorAll("line").forEach(l =>
      l.classList.toggle("dim", !(l.dataset.a === c.id || l.dataset.b === c.id)));
  }));
});
"""
