"""The ASGI application: `create_app(settings)` builds the engine, sessions, routes and error handling."""
from __future__ import annotations

from pathlib import Path

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy.engine import Engine

from weijian.core import apidocs, clock, keys
from weijian.core.bounds import check_request
from weijian.core.db import make_engine, make_read_sessionmaker, make_sessionmaker
from weijian.core.disclosure import install_template_filters
from weijian.core.headers import SecurityHeadersMiddleware
from weijian.core.settings import Settings
from weijian.core.web import LanguageCookieMiddleware, install_error_handlers, templates

STATIC_DIR = Path(__file__).resolve().parent / "static"

# (module, attribute) of each domain's routers, mounted in dependency order. A module that does not
# exist yet is skipped, so a domain lands when its api/pages modules do.
ROUTERS = [
    ("weijian.accounts.api", "router"),
    ("weijian.accounts.pages", "router"),
    ("weijian.orgunits.api", "router"),
    ("weijian.orgunits.pages", "router"),
    ("weijian.residents.api", "router"),
    ("weijian.residents.pages", "router"),
    ("weijian.care.records_api", "router"),
    ("weijian.care.records_pages", "router"),
    ("weijian.care.chronic_api", "router"),
    ("weijian.care.chronic_pages", "router"),
    ("weijian.care.referrals_api", "router"),
    ("weijian.care.referrals_pages", "router"),
    ("weijian.immunization.records_api", "router"),
    ("weijian.immunization.records_pages", "router"),
    ("weijian.immunization.newborn_api", "router"),
    ("weijian.immunization.newborn_pages", "router"),
    ("weijian.immunization.recall_api", "router"),
    ("weijian.immunization.recall_pages", "router"),
    ("weijian.settlement.api", "router"),
    ("weijian.settlement.pages", "router"),
    ("weijian.indicators.api", "router"),
    ("weijian.indicators.pages", "router"),
    ("weijian.settlement.budget_api", "router"),
    ("weijian.settlement.budget_pages", "router"),
    ("weijian.settlement.monitoring_api", "router"),
    ("weijian.settlement.monitoring_pages", "router"),
]


def create_app(settings: Settings | None = None, *, engine: Engine | None = None) -> FastAPI:
    settings = settings or Settings()
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
    import importlib

    for module_name, attr in ROUTERS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        app.include_router(getattr(module, attr))
    from weijian.accounts.deps import get_actor

    app.include_router(apidocs.router(get_actor))
    return app
