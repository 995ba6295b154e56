"""The report and a ring page as a person sees them: rendered by headless Chromium
(offline, no background networking), the screenshot checked to show the ring."""

import shutil
import subprocess

import numpy as np
import pytest

import graphsvc
from graphsvc.present import report
from graphsvc.present.pictures import KIND_COLOURS, save

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium: .ci/run installs Debian's package")


def _screenshot(page, out, size=(1200, 900)):
    subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                    "--disable-component-update", "--no-first-run", "--hide-scrollbars",
                    f"--window-size={size[0]},{size[1]}", f"--screenshot={out}", page.as_uri()],
                   check=True, capture_output=True, timeout=120)
    import matplotlib.image

    return matplotlib.image.imread(out)[..., :3]


def _drawn(pixels):
    """Share of pixels that are not (near) white."""
    return float((pixels < 0.95).any(axis=2).mean())


def _share_of(pixels, hex_colour):
    rgb = np.array([int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)])
    return float((np.abs(pixels - rgb).max(axis=2) < 0.06).mean())


def test_ring_page_shows_the_ring(scored_db, tmp_path):
    """Below the legend, each node's colour covers at least 60 pixels per node of it
    (a node is a circle about 14 pixels across)."""
    from graphsvc.present.pictures import colour

    with graphsvc.open(scored_db, readonly=True) as service:
        ring = service.rings(top=1)["ring_id"].iloc[0]
        graph = service.ring_graph(ring)
    pixels = _screenshot(save(graph, tmp_path / "ring.html", title=f"ring {ring}"), tmp_path / "ring.png")
    drawing = pixels[45:]  # below the header and its legend
    assert _drawn(pixels) > 0.01  # not blank
    fills = [colour(d) for _, d in graph.nodes(data=True)]
    for fill in set(fills):
        covered = _share_of(drawing, fill) * drawing.shape[0] * drawing.shape[1]
        assert covered >= 60 * fills.count(fill), (fill, covered, fills.count(fill))


def test_report_renders_with_its_rings(scored_db, tmp_path):
    with graphsvc.open(scored_db, readonly=True) as service:
        page = report.write(service, tmp_path / "report.html", top=2)
    pixels = _screenshot(page, tmp_path / "report.png", size=(1200, 4000))
    assert _drawn(pixels) > 0.01
    assert _share_of(pixels, KIND_COLOURS["phone"]) + _share_of(pixels, KIND_COLOURS["device"]) > 0.0002
