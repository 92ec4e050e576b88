"""Web plumbing shared by every domain: the unit-of-work dependency, locale, templates, the session
cookie and CSRF, and the one handler that turns domain errors into JSON (under /api) or an HTML page.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Union, cast, get_args, get_origin
from urllib.parse import parse_qsl

from fastapi import Depends, FastAPI, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from markupsafe import Markup
from pydantic import BaseModel
from sqlalchemy.exc import OperationalError, SQLAlchemyError, TimeoutError
from sqlalchemy.orm import Session
from starlette.datastructures import MutableHeaders, UploadFile
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from weijian.core.commands import C, build, field_errors
from weijian.core.db import doom, unit_of_work
from weijian.core.errors import (
    DomainError,
    FieldError,
    Forbidden,
    InvalidInput,
    NotFound,
    NotSaved,
    Throttled,
    Unauthorized,
    Unavailable,
)
from weijian.core.i18n import LOCALES, Translator, normalize_locale, translate
from weijian.core.identifiers import mask_id_number, mask_phone
from weijian.core.settings import Settings

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "templates"
LANG_COOKIE = "weijian_lang"
CSRF_FIELD = "csrf_token"
SESSION_COOKIE = "weijian_session"

log = logging.getLogger("weijian.web")
templates = Jinja2Templates(directory=str(TEMPLATE_DIR))
templates.env.filters["mask_id"] = mask_id_number
templates.env.filters["mask_phone"] = mask_phone


def plain_number(value: Any) -> str:
    """A figure as a clerk writes it: thousands separated, no exponent, no trailing zeros (Decimal("2E+2") and
    Decimal("200.00") are both "200"; str() and "{:,}" of a normalized Decimal give "2E+2")."""
    if isinstance(value, Decimal):
        return f"{value.normalize():,f}"
    return f"{value:,}"


templates.env.filters["plain_number"] = plain_number


@pass_context
def csrf_field(context: Mapping[str, Any]) -> Markup:
    """`{{ csrf_field() }}` in every form that posts: the hidden input carrying this visitor's CSRF token (the
    one place it is written; verify_csrf reads it back)."""
    return Markup('<input type="hidden" name="{}" value="{}">').format(CSRF_FIELD, context.get("csrf_token", ""))


templates.env.globals["csrf_field"] = csrf_field


def get_settings(request: Request) -> Settings:
    return cast(Settings, request.app.state.settings)


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_session(request: Request) -> Iterator[Session]:
    """One request, one transaction (core.db.unit_of_work): a GET reads in a read unit, anything else
    writes in a write unit. Scope "function": the unit ends — commits, or the failed commit raises — when
    the route returns, before the answer is sent (a request-scoped dependency would end after it)."""
    state = request.app.state
    read = request.method in SAFE_METHODS
    with unit_of_work(state.read_sessionmaker if read else state.sessionmaker, read_only=read,
                      after_factory=state.sessionmaker) as session:
        yield session


@contextmanager
def read_unit(request: Request) -> Iterator[Session]:
    """A short read unit of its own, over before the block's result is used: the log-in's look-up of the
    password hash, so that argon2 (a third of a second) runs outside any transaction."""
    state = request.app.state
    with unit_of_work(state.read_sessionmaker, read_only=True, after_factory=state.sessionmaker) as session:
        yield session


def refused(session: Session) -> None:
    """A form refused with field errors: what the attempt wrote is undone now and nothing of this request
    is committed; the form is then re-rendered from a fresh read (core.db.doom)."""
    doom(session)


SessionDep = Annotated[Session, Depends(get_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def request_locale(request: Request) -> str:
    """?lang= beats the cookie; the cookie beats Accept-Language (API); zh_CN by default."""
    lang = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE)
    if not lang and request.url.path.startswith("/api/"):
        lang = request.headers.get("accept-language", "").split(",")[0]
    return normalize_locale(lang or request.app.state.settings.default_locale)


def get_translator(request: Request) -> Translator:
    return Translator(request_locale(request))


TranslatorDep = Annotated[Translator, Depends(get_translator)]


class LanguageCookieMiddleware:
    """`?lang=en` / `?lang=zh_CN` on any URL sets the language cookie on the response, so the choice
    sticks for the following pages (request_locale reads it). Other values are ignored."""

    MAX_AGE = 365 * 24 * 3600
    _VALID = {code.lower().replace("_", "-"): code for code in LOCALES}

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        lang = None
        if scope["type"] == "http":
            query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
            lang = self._VALID.get(query.get("lang", "").strip().lower().replace("_", "-"))
        if lang is None:
            await self.app(scope, receive, send)
            return

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).append(
                    "set-cookie", f"{LANG_COOKIE}={lang}; Max-Age={self.MAX_AGE}; Path=/; SameSite=Lax")
            await send(message)

        await self.app(scope, receive, send_with_cookie)


def _from_trusted_proxy(request: Request) -> bool:
    peer = request.client.host if request.client else None
    return peer is not None and peer in request.app.state.settings.proxies()


def client_ip(request: Request) -> str | None:
    """The client's address: the peer's, or behind a trusted reverse proxy the last address it added to
    X-Forwarded-For (earlier entries are the client's to forge)."""
    if _from_trusted_proxy(request):
        forwarded = [p.strip() for p in request.headers.get("x-forwarded-for", "").split(",") if p.strip()]
        if forwarded:
            return forwarded[-1][:64]
    return request.client.host if request.client else None


def is_https(request: Request) -> bool:
    """Served over HTTPS: the setting says so, the request came over TLS, or a trusted proxy says it did."""
    if request.app.state.settings.cookie_secure or request.url.scheme == "https":
        return True
    return _from_trusted_proxy(request) and request.headers.get("x-forwarded-proto", "").strip().lower() == "https"


# --- the session cookie and CSRF ----------------------------------------------------------------
# The cookie carries one random value and nothing else. When accounts.sessions knows its hash it is a
# log-in session; otherwise it only ties a visitor's forms (the log-in form) to their browser. The CSRF
# token is derived from it with the server's key, so it is per session and changes when the session
# id rotates at log-in.
def session_cookie(request: Request) -> str | None:
    value = request.cookies.get(SESSION_COOKIE, "")
    return value if 20 <= len(value) <= 128 and value.replace("-", "").replace("_", "").isalnum() else None


def new_session_value() -> str:
    return secrets.token_urlsafe(32)


def set_session_cookie(request: Request, response: Response, value: str | None) -> None:
    """Send `value` as the session cookie (None: a fresh anonymous one): HttpOnly, SameSite=Lax, Secure
    over HTTPS; a browser-session cookie (the server ends the session)."""
    value = value or new_session_value()
    response.set_cookie(SESSION_COOKIE, value, httponly=True, samesite="lax", secure=is_https(request), path="/")
    request.state.session_value = value


def _cookie_value(request: Request) -> str | None:
    return getattr(request.state, "session_value", None) or session_cookie(request)


def csrf_token(request: Request) -> str:
    """This visitor's CSRF token (a visitor without a cookie is given one by `render`)."""
    value = _cookie_value(request)
    if value is None:
        value = new_session_value()
        request.state.session_value = request.state.new_anonymous_cookie = value
    key = request.app.state.session_key
    return hmac.new(key, b"csrf:" + value.encode(), hashlib.sha256).hexdigest()


async def verify_csrf(request: Request) -> None:
    """Router-level dependency for HTML routes: unsafe methods must echo the session's token."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    sent: str | UploadFile | None = request.headers.get("x-csrf-token")
    if not sent:
        form = await request.form()
        sent = form.get(CSRF_FIELD)
    # As bytes: compare_digest raises TypeError on a str with non-ASCII characters (a 500).
    if session_cookie(request) is None or not sent or not secrets.compare_digest(str(sent).encode(),
                                                                                 csrf_token(request).encode()):
        raise Forbidden("core.errors.csrf")


# --- rendering ----------------------------------------------------------------------------------
def render(request: Request, template: str, context: dict[str, Any] | None = None, *,
           status_code: int = 200, headers: dict[str, str] | None = None) -> HTMLResponse:
    """Render a page with the common context: translator `_`, locale, csrf token, current actor."""
    from weijian.core.nav import items_for

    tr = Translator(request_locale(request))
    actor = getattr(request.state, "actor", None)
    ctx = {
        "request": request,
        "_": tr,
        "locale": tr.locale,
        "csrf_token": csrf_token(request),
        "actor": actor,
        "nav": items_for(actor, request.url.path),
    }
    ctx.update(context or {})
    response = templates.TemplateResponse(request, template, ctx, status_code=status_code, headers=headers)
    if getattr(request.state, "new_anonymous_cookie", None):
        set_session_cookie(request, response, request.state.new_anonymous_cookie)
    return response


def form_errors(exc: InvalidInput, tr: Translator) -> dict[str, str]:
    """Field → translated message, for re-rendering a form beside the user's input."""
    out: dict[str, str] = {}
    for e in exc.errors:
        out.setdefault(e.field, tr(e.reason_key, **e.params))
    return out


async def submit_form(request: Request, session: Session, tr: Translator, write: Callable[[], Awaitable[Any]], *,
                      form: str, template: str, page: Callable[..., dict[str, Any]],
                      redirect: Callable[[Any], str]) -> Response:
    """One form post of a page that holds several forms (a pregnancy's visit, risk and delivery forms …):
    `write` builds the command and calls the service. A refusal (InvalidInput) rolls the transaction back
    (`refused`) and renders `template` again with page(**{form}_values, {form}_errors) — the user's input and
    each field's error — and 422; otherwise a 303 to redirect(what `write` returned)."""
    try:
        result = await write()
    except InvalidInput as exc:
        refused(session)
        ctx = page(**{f"{form}_values": await form_values(request), f"{form}_errors": form_errors(exc, tr)})
        return render(request, template, ctx, status_code=422)
    return RedirectResponse(redirect(result), status_code=303)


async def form_values(request: Request) -> dict[str, Any]:
    """The form as sent, for re-rendering it beside its errors: one value per field (a list where the field
    was sent more than once), the CSRF token left out."""
    form = await request.form()
    out: dict[str, Any] = {}
    for key in form:
        if key == CSRF_FIELD:
            continue
        got = [v for v in form.getlist(key) if isinstance(v, str)]
        out[key] = got if len(got) > 1 else (got[0] if got else "")
    return out


def _is_list(model: type[BaseModel], name: str) -> bool:
    info = model.model_fields.get(name)
    if info is None:
        return False
    annotation = info.annotation
    kinds = {get_origin(a) for a in (get_args(annotation) if get_origin(annotation) in (Union, UnionType) else ())}
    return get_origin(annotation) in (list, set, tuple) or bool(kinds & {list, set, tuple})


# An API write that changes a record of an approved period: the correction reason (core.locks), as a query
# parameter (the body is the domain's command; a header could not carry Chinese text).
CorrectionReason = Annotated[str | None, Query(
    alias="period_correction_reason", max_length=500,
    description="a correction reason: lets the write change a record of an approved period (period:correct); "
                "the change is recorded and shown on the report")]


async def period_correction(request: Request, session: Session, actor: Any) -> None:
    """A form that edits a record: its correction reason for an approved period (core.locks.REASON_FIELD),
    when given, lets this unit of work change the period's records as recorded corrections (the user needs
    period:correct). Call before the service writes."""
    from weijian.core import locks

    form = await request.form()
    reason = form.get(locks.REASON_FIELD)
    locks.allow(session, actor, reason if isinstance(reason, str) else None)


async def form_command(request: Request, model: type[C], /, **extra: Any) -> C:
    """The page's form as the command `model` (core.commands): the fields the model declares, lists for list
    fields, `extra` (path parameters, the actor's defaults) on top. A bad value raises InvalidInput with the
    same field errors the API gives, for the page to re-render its form with."""
    form = await request.form()
    data: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        key = info.alias or name
        if key not in form:
            continue
        values = [v for v in form.getlist(key) if isinstance(v, str)]
        if _is_list(model, name):
            data[key] = [v for v in values if v.strip()]
        elif values:
            data[key] = values[-1]
    return build(model, data, **extra)


def error_body(exc: DomainError, locale: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "code": exc.code,
        "message": translate(exc.message_key, locale, **exc.params),
        "message_key": exc.message_key,
    }
    if isinstance(exc, InvalidInput):
        tr = Translator(locale)
        body["field"] = exc.field
        body["errors"] = [_field_error_json(e, tr) for e in exc.errors]
        first = exc.errors[0]
        body["message"] = f"{tr.field(first.field)}: {tr(first.reason_key, **first.params)}"
    return {"error": body}


def _field_error_json(e: FieldError, tr: Translator) -> dict[str, Any]:
    out: dict[str, Any] = {"field": e.field, "field_label": tr.field(e.field), "reason": e.reason_key,
           "message": tr(e.reason_key, **e.params)}
    if e.row is not None:
        out["row"] = e.row
    return out


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> Response:
        locale = request_locale(request)
        on_refused = getattr(request.app.state, "on_refused", None)
        if isinstance(exc, (Forbidden, NotFound)) and on_refused is not None:
            await _log_refusal(on_refused, request, exc)
        if isinstance(exc, Unauthorized) and not request.url.path.startswith("/api/"):
            from fastapi.responses import RedirectResponse

            location = getattr(exc, "location", None) or f"/login?next={request.url.path}"
            return RedirectResponse(location, status_code=303)
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, Throttled) else None
        if request.url.path.startswith("/api/"):
            if isinstance(exc, Unauthorized):
                headers = {"WWW-Authenticate": "Bearer"}
            return JSONResponse(error_body(exc, locale), status_code=exc.status_code, headers=headers)
        return render(request, "error.html", {"error": error_body(exc, locale)["error"]},
                      status_code=exc.status_code, headers=headers)

    @app.exception_handler(SQLAlchemyError)
    async def _database(request: Request, exc: SQLAlchemyError) -> Response:
        # A commit (or any statement) the database refused: the unit of work was rolled back, so the
        # user is told nothing was saved — never a success, never a bare "Internal Server Error".
        log.error("database error on %s %s", request.method, request.url.path, exc_info=exc)
        passing = isinstance(exc, (OperationalError, TimeoutError)) or getattr(exc, "connection_invalidated", False)
        error = Unavailable("core.errors.unavailable") if passing else NotSaved("core.errors.not_saved")
        response = await _domain(request, error)
        if passing:
            response.headers["Retry-After"] = "5"
        return response

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        return await _domain(request, InvalidInput(errors=field_errors(exc.errors())))


async def _log_refusal(on_refused: Callable[[Request, DomainError], None], request: Request,
                       exc: DomainError) -> None:
    """Audit a refused request (the composition root sets `app.state.on_refused`: accounts.deps); the
    refusal is answered even when the log cannot be written (database down), and that is logged."""
    try:
        await run_in_threadpool(on_refused, request, exc)
    except SQLAlchemyError:
        log.error("refused %s %s could not be audited", request.method, request.url.path, exc_info=True)

