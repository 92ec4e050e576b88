"""The ASGI application: `create_app(settings)` wires the domains (weijian.wiring) and builds the engine,
sessions, routes and error handling."""
from __future__ import annotations

from pathlib import Path

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy.engine import Engine

from weijian import wiring
from weijian.accounts.deps import get_actor
from weijian.core import apidocs, clock, keys
from weijian.core.bounds import check_request
from weijian.core.db import make_engine, make_read_sessionmaker, make_sessionmaker
from weijian.core.disclosure import install_template_filters
from weijian.core.headers import SecurityHeadersMiddleware
from weijian.core.settings import Settings
from weijian.core.web import LanguageCookieMiddleware, install_error_handlers, templates

STATIC_DIR = Path(__file__).resolve().parent / "static"


def create_app(settings: Settings | None = None, *, engine: Engine | None = None) -> FastAPI:
    settings = settings or Settings()
    wiring.wire()  # the domains' hooks and registries, before any session is made; fails on a missing piece
    clock.configure(settings.timezone)
    app = FastAPI(title="weijian 卫健", version="0.1.0", docs_url=None, redoc_url=None,
                  openapi_url=None,  # /api/docs and its OpenAPI behind log-in: core/apidocs.py
                  dependencies=[Depends(check_request)])  # input bounds on every request: core/bounds.py
    app.state.settings = settings
    app.state.engine = engine if engine is not None else make_engine(settings)
    app.state.sessionmaker = make_sessionmaker(app.state.engine)
    app.state.read_sessionmaker = make_read_sessionmaker(app.state.engine)
    # Log-in sessions are server-side (accounts.sessions): the cookie carries a random id, nothing signed.
    # The key derives CSRF tokens; made in var/secret.key on first start when not given (core/keys.py).
    app.state.session_key = keys.session_key(settings)
    from weijian.accounts.deps import audit_refusal

    app.state.on_refused = audit_refusal  # every 403/404 of a logged-in user is audited: core.web
    from weijian.residents.service import names_for_audit

    app.state.resident_names = names_for_audit  # the audit page names whose record (accounts is below residents)
    app.add_middleware(LanguageCookieMiddleware)
    app.add_middleware(SecurityHeadersMiddleware)
    install_error_handlers(app)
    install_template_filters(templates.env)
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")
    for router in wiring.ROUTERS:
        app.include_router(router)
    app.include_router(apidocs.router(get_actor))
    return app
