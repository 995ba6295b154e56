"""The investigators' console: a browser page served by ``graphsvc serve`` at ``/ui``.

In: the page's assets in ``static/`` (``index.html`` written here; ``app.js`` and
``app.css`` built by esbuild from ``console/src`` and its npm packages, Cytoscape.js
for the graph, shipped inside the Python package so an installed wheel works
offline). Out: the page, under a strict Content-Security-Policy (its own scripts
and styles only, no inline code, nothing framed), and ``/ui/config.json``, the
colours the static pictures use. The page reads everything else from the
documented ``/v1`` API with the key the person signs in with, so roles, masking
and the audit trail apply unchanged. The key stays in the page's memory: nothing
is written to browser storage, and every answer is sent ``Cache-Control: no-store``.
"""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter
from fastapi.responses import JSONResponse, RedirectResponse, Response

from graphsvc.present.pictures import KIND_COLOURS, OTHER_KIND, OUTCOME_COLOURS

router = APIRouter(include_in_schema=False)
STATIC = resources.files(__package__) / "static"
#: the files the page is made of, by name: nothing else under /ui is served
ASSETS = {"index.html": "text/html; charset=utf-8", "app.js": "text/javascript; charset=utf-8",
          "app.css": "text/css; charset=utf-8"}
HEADERS = {
    "Content-Security-Policy": ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
                                "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def _asset(name: str) -> Response:
    path = STATIC / name
    if not path.is_file():
        return Response(f"the console's {name} is not built: run `make console` (npm) in the source tree\n",
                        status_code=503, media_type="text/plain", headers=HEADERS)
    return Response(path.read_bytes(), media_type=ASSETS[name], headers=HEADERS)


@router.get("/ui")
async def console_root() -> RedirectResponse:
    return RedirectResponse("/ui/", status_code=308)


@router.get("/ui/")
async def console_page() -> Response:
    return _asset("index.html")


@router.get("/ui/config.json")
async def console_config() -> JSONResponse:
    return JSONResponse({"kind_colours": {**KIND_COLOURS, "other": OTHER_KIND}, "outcome_colours": OUTCOME_COLOURS},
                        headers=HEADERS)


@router.get("/ui/{name}")
async def console_asset(name: str) -> Response:
    if name not in ASSETS:
        return Response("not found\n", status_code=404, media_type="text/plain", headers=HEADERS)
    return _asset(name)
