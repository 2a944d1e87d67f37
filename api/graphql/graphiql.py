"""GraphiQL (development only), every script and style served from our own origin.

The page (`ide/graphiql.html`) and its start-up script are ours; React, ReactDOM and GraphiQL's builds are
fetched from the npm registry, pinned by version and integrity, by `tools/fetch_graphiql.py` (`make run` and
`make test` run it) into `static/`. The page's Content-Security-Policy (`api/headers.py`) allows scripts and
styles from 'self' only.
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, PlainTextResponse, Response

HERE = Path(__file__).resolve().parent
PAGE = (HERE / "ide" / "graphiql.html").read_text()
FETCHED = HERE / "static"
# The only files served under /graphql/assets/: name -> (file, media type).
ASSETS = {
    "graphiql.js": (HERE / "ide" / "graphiql.js", "text/javascript"),
    "graphiql.css": (HERE / "ide" / "graphiql.css", "text/css"),
    "react.production.min.js": (FETCHED / "react.production.min.js", "text/javascript"),
    "react-dom.production.min.js": (FETCHED / "react-dom.production.min.js", "text/javascript"),
    "graphiql.min.js": (FETCHED / "graphiql.min.js", "text/javascript"),
    "graphiql.min.css": (FETCHED / "graphiql.min.css", "text/css"),
}
MISSING = "GraphiQL's assets are not fetched yet: run `make run` (or `python tools/fetch_graphiql.py`), then reload."


def graphiql_page() -> Response:
    if not all(path.is_file() for path, _ in ASSETS.values()):
        return PlainTextResponse(MISSING, status_code=503)
    return HTMLResponse(PAGE)


def graphiql_asset(request: Request) -> Response:
    known = ASSETS.get(request.path_params["name"])
    if known is None or not known[0].is_file():
        return PlainTextResponse("Not found.", status_code=404)
    path, media_type = known
    return FileResponse(
        path, media_type=f"{media_type}; charset=utf-8", headers={"Cache-Control": "no-cache"}
    )
