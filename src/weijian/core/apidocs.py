"""The API documentation page (`/api/docs`) and its OpenAPI document, for logged-in users only: swagger-ui
is installed from npm and served from /static/vendor (no CDN), started by static/js/api-docs.js (no inline
script, so the page works under the CSP of core/headers.py). The actor dependency is passed in by
`create_app`, so core does not import accounts."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse

DOCS_PATH = "/api/docs"
OPENAPI_PATH = "/api/openapi.json"

PAGE = """<!doctype html>
<html lang="zh-CN">
<head>
  <meta charset="utf-8">
  <title>{title} · API</title>
  <link rel="stylesheet" href="/static/vendor/swagger-ui/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui" data-openapi="{openapi}"></div>
  <script src="/static/vendor/swagger-ui/swagger-ui-bundle.js"></script>
  <script src="/static/js/api-docs.js"></script>
</body>
</html>
"""


def router(actor_dependency: Any) -> APIRouter:
    r = APIRouter(include_in_schema=False, dependencies=[Depends(actor_dependency)])

    @r.get(DOCS_PATH, response_class=HTMLResponse)
    def docs(request: Request) -> HTMLResponse:
        return HTMLResponse(PAGE.format(title="weijian 卫健", openapi=OPENAPI_PATH))

    @r.get(OPENAPI_PATH)
    def openapi(request: Request) -> JSONResponse:
        return JSONResponse(request.app.openapi())

    return r
