"""An OSV-compatible API (https://google.github.io/osv.dev/api/) over the world's advisories.

`POST /v1/query`, `POST /v1/querybatch` and `GET /v1/vulns/{id}`, with OSV's shapes: a batch answers one result
per query in order, `{}` when nothing matches and `{"vulns": [{"id", "modified"}]}` otherwise (ids only, as OSV
does); a query with more than PAGE_SIZE matches gets `next_page_token`, to be sent back as `page_token`.
Matching uses the service's own `core.dependencies.matching`, so the emulator and an imported export agree.
"""

from __future__ import annotations

import json
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from core.dependencies.matching import match
from core.dependencies.package import Dependency

PAGE_SIZE = 100
MAX_BATCH = 1000
DEFAULT_ADVISORIES = Path(__file__).parent / "scenarios" / "advisories.json"


def default_advisories() -> list[dict]:
    """A few real advisories (lodash, Jinja2, PyYAML, log4j-core, Newtonsoft.Json, x/text, smallvec)."""
    return json.loads(DEFAULT_ADVISORIES.read_text(encoding="utf-8"))


def build_app(context) -> Starlette:
    def matches(query: dict) -> list[dict]:
        package = query.get("package") or {}
        dep = Dependency(
            ecosystem=package.get("ecosystem", ""),
            name=package.get("name", ""),
            version=query.get("version", ""),
            purl="",
            path="",
            line=None,
            direct=True,
        )
        with context.holder.lock:
            records = list(context.world.advisories)
        return sorted((r for r in records if match(r, dep) is not None), key=lambda r: r["id"])

    def page(found: list[dict], token: str | None, full: bool) -> dict:
        start = int(token) if token and token.isdigit() else 0
        chunk = found[start : start + PAGE_SIZE]
        if not chunk:
            return {}
        vulns = chunk if full else [{"id": r["id"], "modified": r.get("modified", "")} for r in chunk]
        result: dict = {"vulns": vulns}
        if start + PAGE_SIZE < len(found):
            result["next_page_token"] = str(start + PAGE_SIZE)
        return result

    async def body_of(request: Request) -> dict | None:
        try:
            body = json.loads(await request.body())
        except ValueError:
            return None
        return body if isinstance(body, dict) else None

    async def query(request: Request) -> JSONResponse:
        body = await body_of(request)
        if body is None:
            return JSONResponse({"code": 3, "message": "Invalid query."}, status_code=400)
        return JSONResponse(page(matches(body), body.get("page_token"), full=True))

    async def querybatch(request: Request) -> JSONResponse:
        body = await body_of(request)
        queries = (body or {}).get("queries")
        if not isinstance(queries, list) or len(queries) > MAX_BATCH:
            return JSONResponse({"code": 3, "message": "Invalid query."}, status_code=400)
        results = [page(matches(q), q.get("page_token"), full=False) for q in queries]
        return JSONResponse({"results": results})

    async def vuln(request: Request) -> JSONResponse:
        wanted = request.path_params["id"]
        with context.holder.lock:
            found = next((r for r in context.world.advisories if r.get("id") == wanted), None)
        if found is None:
            return JSONResponse({"code": 5, "message": "Bug not found."}, status_code=404)
        return JSONResponse(found)

    return Starlette(
        routes=[
            Route("/v1/query", query, methods=["POST"]),
            Route("/v1/querybatch", querybatch, methods=["POST"]),
            Route("/v1/vulns/{id:path}", vuln, methods=["GET"]),
        ]
    )
