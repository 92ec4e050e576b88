"""HTML routes of accounts and the web shell: log-in and log-out, the home page, the audit log, users."""
from __future__ import annotations

import json
from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup
from pydantic import ValidationError
from sqlalchemy.orm import Session

from weijian.accounts import audit_words, sessions
from weijian.accounts import second_factor as second_factor_mod
from weijian.accounts import service as accounts_service
from weijian.accounts.deps import STEP_PAGES, ActorDep, LoggedIn, LoggedInDep, require
from weijian.accounts.schemas import AuditFilters, UserCreate
from weijian.core import clock, nav
from weijian.core.actor import Actor
from weijian.core.bounds import Id64
from weijian.core.commands import field_errors
from weijian.core.errors import Conflict, Forbidden, InvalidInput, Throttled, Unauthorized
from weijian.core.i18n import Translator
from weijian.core.web import (
    SessionDep,
    SettingsDep,
    TranslatorDep,
    client_ip,
    error_body,
    form_command,
    form_errors,
    form_values,
    new_session_value,
    read_unit,
    refused,
    render,
    request_locale,
    session_cookie,
    set_session_cookie,
    verify_csrf,
)

router = APIRouter(dependencies=[Depends(verify_csrf)])

# This module's entries of the main navigation (added by the composition root, weijian.wiring).
NAV = (
    nav.NavItem("/", "app.home", None, 0),
    nav.NavItem("/audit", "accounts.nav.audit", "audit:read", 90),
    nav.NavItem("/users", "accounts.nav.users", "user:manage", 95),
    nav.NavItem("/security", "accounts.nav.security", "lockout:manage", 96),
)

AuditReader = Annotated[Actor, Depends(require("audit:read"))]
UserManager = Annotated[Actor, Depends(require("user:manage"))]
SecurityAdmin = Annotated[Actor, Depends(require("lockout:manage"))]


def safe_next(value: str | None) -> str:
    """Where to go after log-in: a path on this site only; anything else (another host, `//host`,
    `/\\host`, a scheme, control characters) goes home."""
    value = (value or "").strip()
    if not value.startswith("/") or value.startswith(("//", "/\\")) or "\\" in value:
        return "/"
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        return "/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return "/"
    return value


def _label(tr: Translator, prefix: str, code: str | None) -> str:
    """The translated label of a code, or the code itself when it has none."""
    return tr.code(prefix, code)


# --- log-in, log-out ----------------------------------------------------------------------------
def _login_page(request: Request, *, username: str = "", next_url: str = "/", error: str | None = None,
                errors: dict[str, str] | None = None, status_code: int = 200) -> Response:
    return render(request, "accounts/login.html",
                  {"username": username, "next": next_url, "error": error, "errors": errors or {}},
                  status_code=status_code)


@router.get("/login")
def login_form(request: Request, next: str = "/") -> Response:
    return _login_page(request, next_url=safe_next(next))


def _start_session(request: Request, session: Session, response: Response, user_id: Id64, stage: str) -> None:
    """A fresh session id for this log-in (never the one the visitor had before: no fixation), its cookie,
    and with it a new CSRF token."""
    settings = request.app.state.settings
    token = new_session_value()
    sessions.start(session=session, token=token, user_id=user_id, stage=stage,
                   lifetime=timedelta(hours=settings.session_lifetime_hours), ip=client_ip(request),
                   user_agent=request.headers.get("user-agent"))
    set_session_cookie(request, response, token)


def _throttled_page(request: Request, exc: Throttled, *, username: str, next_url: str) -> Response:
    message = error_body(exc, request_locale(request))["error"]["message"]
    response = _login_page(request, username=username, next_url=next_url, error=message, status_code=429)
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


@router.post("/login")
def login(request: Request, session: SessionDep, tr: TranslatorDep, settings: SettingsDep,
          username: Annotated[str, Form()] = "", password: Annotated[str, Form()] = "",
          next: Annotated[str, Form()] = "/") -> Response:
    next_url = safe_next(next)
    errors = {}
    if not username.strip():
        errors["username"] = tr("core.errors.validation.missing")
    if not password:
        errors["password"] = tr("core.errors.validation.missing")
    if errors:
        return _login_page(request, username=username, next_url=next_url, errors=errors, status_code=422)
    ip = client_ip(request)
    try:
        with read_unit(request) as lookup:
            sessions.refuse_if_locked(session=lookup, username=username, ip=ip)
            creds = accounts_service.credentials(session=lookup, username=username)
    except Throttled as exc:  # locked: the password is not even checked
        return _throttled_page(request, exc, username=username, next_url=next_url)
    user_id = accounts_service.password_matches(creds, password)  # outside any transaction
    try:
        user = accounts_service.record_log_in(session=session, username=username, user_id=user_id, ip=ip,
                                              via="page", policy=accounts_service.throttle_policy(settings),
                                              allow_demo=settings.environment != "production")
    except Unauthorized as exc:
        # Rendered, not raised: the failed attempt's audit record must be committed.
        message = error_body(exc, request_locale(request))["error"]["message"]
        return _login_page(request, username=username, next_url=next_url, error=message, status_code=401)
    if user.totp_secret:
        response = RedirectResponse(f"/login/totp?{urlencode({'next': next_url})}", status_code=303)
        _start_session(request, session, response, user.id, sessions.STAGE_PASSWORD)
    else:
        response = RedirectResponse(next_url, status_code=303)
        _start_session(request, session, response, user.id, sessions.STAGE_COMPLETE)
    return response


@router.get("/login/totp")
def second_factor_form(request: Request, who: LoggedInDep, next: str = "/") -> Response:
    if who.step != "totp":
        return RedirectResponse(safe_next(next), status_code=303)
    return render(request, "accounts/second_factor.html", {"next": safe_next(next), "error": None})


@router.post("/login/totp")
def second_factor(request: Request, session: SessionDep, settings: SettingsDep, who: LoggedInDep,
                  code: Annotated[str, Form()] = "", next: Annotated[str, Form()] = "/") -> Response:
    next_url = safe_next(next)
    if who.step != "totp":
        return RedirectResponse(next_url, status_code=303)
    ip = client_ip(request)
    try:
        with read_unit(request) as lookup:
            sessions.refuse_if_locked(session=lookup, username=who.user.username, ip=ip)
        accounts_service.verify_second_factor(session=session, user_id=who.user.id, code=code,
                                              username=who.user.username, ip=ip, via="page",
                                              policy=accounts_service.throttle_policy(settings))
    except (Unauthorized, Throttled) as exc:  # answered, not raised: the failure's audit row commits
        message = error_body(exc, request_locale(request))["error"]["message"]
        status = 429 if isinstance(exc, Throttled) else 401
        response = render(request, "accounts/second_factor.html", {"next": next_url, "error": message},
                          status_code=status)
        if isinstance(exc, Throttled):
            response.headers["Retry-After"] = str(exc.retry_after)
        return response
    # The full log-in gets an id of its own as well.
    sessions.end(session=session, token=session_cookie(request))
    done = RedirectResponse(next_url, status_code=303)
    _start_session(request, session, done, who.user.id, sessions.STAGE_COMPLETE)
    return done


@router.post("/logout")
def logout(request: Request, session: SessionDep) -> Response:
    token = session_cookie(request)
    user_id = sessions.end(session=session, token=token) if token else None
    user = accounts_service.get(session=session, user_id=user_id) if user_id is not None else None
    if user is not None:
        accounts_service.log_out(session=session, actor=accounts_service.actor_for(user, ip=client_ip(request)))
    response = RedirectResponse("/login", status_code=303)
    set_session_cookie(request, response, None)  # a fresh anonymous value: the old one is dead anyway
    return response


# --- the user's own account: new password, second factor -------------------------------------------
def _password_page(request: Request, who: LoggedIn, *, errors: dict[str, str] | None = None,
                   status_code: int = 200) -> Response:
    return render(request, "accounts/password.html", {
        "errors": errors or {}, "reason": who.step if who.step == "password" else None,
        "expired": who.step == "password" and not who.user.must_change_password,
        "min_length": accounts_service.PASSWORD_MIN_LENGTH, "min_classes": accounts_service.PASSWORD_MIN_CLASSES,
    }, status_code=status_code)


@router.get("/account/password")
def password_form(request: Request, who: LoggedInDep) -> Response:
    if who.step == "totp":
        return RedirectResponse("/login/totp", status_code=303)
    return _password_page(request, who)


@router.post("/account/password")
def change_password(request: Request, session: SessionDep, tr: TranslatorDep, who: LoggedInDep,
                    current_password: Annotated[str, Form()] = "", password: Annotated[str, Form()] = "",
                    password_again: Annotated[str, Form()] = "") -> Response:
    if who.step == "totp":
        return RedirectResponse("/login/totp", status_code=303)
    if password != password_again:
        return _password_page(request, who, errors={"password_again": tr("accounts.errors.password_mismatch")},
                              status_code=422)
    with read_unit(request) as lookup:
        creds = accounts_service.credentials(session=lookup, username=who.user.username)
    matches = accounts_service.password_matches(creds, current_password) == who.user.id  # outside any transaction
    try:
        accounts_service.change_own_password(session=session, user_id=who.user.id, current_matches=matches,
                                             password=password, ip=client_ip(request))
    except InvalidInput as exc:
        refused(session)
        return _password_page(request, who, errors=form_errors(exc, tr), status_code=422)
    response = RedirectResponse("/?done=password_changed", status_code=303)
    _start_session(request, session, response, who.user.id, sessions.STAGE_COMPLETE)
    return response


def _totp_page(request: Request, who: LoggedIn, *, error: str | None = None, status_code: int = 200,
               secret: str | None = None) -> Response:
    secret = secret or second_factor_mod.new_secret()
    uri = second_factor_mod.provisioning_uri(secret, who.user.username)
    key = request.app.state.session_key
    return render(request, "accounts/totp_setup.html", {
        "enabled": bool(who.user.totp_secret), "required": who.step == "totp_setup",
        "secret": secret, "signature": second_factor_mod.sign(key, who.user.id, secret),
        "qr": Markup(second_factor_mod.qr_svg(uri)), "error": error,
    }, status_code=status_code)


@router.get("/account/totp")
def totp_setup_form(request: Request, who: LoggedInDep) -> Response:
    if who.step in ("totp", "password"):
        return RedirectResponse(STEP_PAGES[who.step], status_code=303)
    return _totp_page(request, who)


@router.post("/account/totp")
def totp_setup(request: Request, session: SessionDep, tr: TranslatorDep, who: LoggedInDep,
               secret: Annotated[str, Form()] = "", signature: Annotated[str, Form()] = "",
               code: Annotated[str, Form()] = "") -> Response:
    if who.step in ("totp", "password"):
        return RedirectResponse(STEP_PAGES[who.step], status_code=303)
    if who.user.totp_secret:
        return RedirectResponse("/", status_code=303)
    if not second_factor_mod.signature_ok(request.app.state.session_key, who.user.id, secret, signature):
        raise Forbidden("core.errors.csrf")
    try:
        accounts_service.enable_second_factor(session=session, user_id=who.user.id, secret=secret, code=code,
                                              ip=client_ip(request))
    except InvalidInput as exc:
        refused(session)
        return _totp_page(request, who, error=form_errors(exc, tr)["totp_code"], status_code=422, secret=secret)
    return RedirectResponse("/?done=totp_enabled", status_code=303)


# --- home -----------------------------------------------------------------------------------------
HOME_DONE = ("password_changed", "totp_enabled")


@router.get("/")
def home(request: Request, actor: ActorDep) -> Response:
    links = [item for item in nav.items_for(actor) if item["href"] != "/"]
    done = request.query_params.get("done")
    return render(request, "home.html", {"links": links, "done": done if done in HOME_DONE else None})


# --- audit log ----------------------------------------------------------------------------------
@router.get("/audit")
def audit_log(request: Request, session: SessionDep, settings: SettingsDep, tr: TranslatorDep,
              actor: AuditReader) -> Response:
    raw = {k: v for k, v in request.query_params.items() if k in AuditFilters.model_fields}
    errors: dict[str, str] = {}
    result = None
    try:
        filters = AuditFilters.model_validate(raw)
    except ValidationError as exc:
        errors = form_errors(InvalidInput(errors=field_errors(exc.errors())), tr)
        filters = AuditFilters()
    if not errors:
        try:
            result = accounts_service.list_audit(
                session=session, actor=actor, user=filters.user, resident_id=filters.resident_id,
                date_from=filters.date_from, date_to=filters.date_to, action=filters.action,
                page=filters.page or 1, page_size=settings.page_size)
        except InvalidInput as exc:
            errors = form_errors(exc, tr)
    rows = []
    events = result.items if result else []
    # Whose record: names come from the resident index (a higher layer), through the composition root.
    name_of = request.app.state.resident_names
    names = name_of(session, {e.resident_id for e in events if e.resident_id is not None}) if events else {}
    for e in events:
        detail = json.loads(e.detail) if e.detail else {}
        rows.append({
            "at": clock.local(e.at).strftime("%Y-%m-%d %H:%M:%S"),
            "username": e.username, "user_id": e.user_id, "role": _label(tr, "roles", e.role),
            "action": audit_words.label(tr, "action", e.action),
            "entity": audit_words.label(tr, "entity_type", e.entity_type), "entity_id": e.entity_id,
            "resident_id": e.resident_id, "resident_name": names.get(e.resident_id),
            "shown": len(detail.get("shown") or ()), "path": detail.get("path") if e.action == "refused" else None,
            "basis": audit_words.label(tr, "basis", e.basis), "ip": e.ip,
        })
    actions = [(code, audit_words.label(tr, "action", code)) for code in accounts_service.AUDIT_ACTIONS]
    if filters.action and filters.action not in accounts_service.AUDIT_ACTIONS:
        actions.append((filters.action, filters.action))
    pager = None
    if result is not None:
        pager = {"page": result.page, "pages": result.pages, "total": result.total,
                 "prev": f"?{urlencode(filters.query(page=result.page - 1))}" if result.page > 1 else None,
                 "next": (f"?{urlencode(filters.query(page=result.page + 1))}"
                          if result.page < result.pages else None)}
    # The form shows what the user typed, even when it did not validate.
    form = {k: request.query_params.get(k, "") for k in AuditFilters.model_fields}
    return render(request, "accounts/audit.html",
                  {"rows": rows, "form": form, "errors": errors, "actions": actions, "pager": pager},
                  status_code=422 if errors else 200)


# --- users ----------------------------------------------------------------------------------------
DONE = ("created", "password_set", "deactivated")


def _users_page(request: Request, session: Session, tr: Translator, actor: Actor, *,
                form: dict[str, Any] | None = None, errors: dict[str, Any] | None = None,
                status_code: int = 200) -> Response:
    users = accounts_service.list_users(session=session, actor=actor)
    rows = [{"id": u.id, "username": u.username, "full_name": u.full_name, "role": _label(tr, "roles", u.role),
             "orgunit_code": u.orgunit_code, "is_active": u.is_active, "is_self": u.id == actor.user_id,
             "last_login": clock.local(u.last_login_at).strftime("%Y-%m-%d %H:%M")
             if u.last_login_at else ""} for u in users]
    done = request.query_params.get("done")
    return render(request, "accounts/users.html", {
        "rows": rows, "form": {k: v for k, v in (form or {}).items() if k != "password"}, "errors": errors or {},
        "roles": [(code, _label(tr, "roles", code)) for code in accounts_service.roles()
                  if actor.can("role:assign") or code not in accounts_service.admin_roles()],
        "done": done if done in DONE else None,
    }, status_code=status_code)


@router.get("/users")
def users(request: Request, session: SessionDep, tr: TranslatorDep, actor: UserManager) -> Response:
    return _users_page(request, session, tr, actor)


@router.post("/users")
async def create_user(request: Request, session: SessionDep, tr: TranslatorDep, actor: UserManager) -> Response:
    form = await form_values(request)
    try:
        user_in = await form_command(request, UserCreate)
        accounts_service.register_user(session=session, actor=actor, user_in=user_in)
    except InvalidInput as exc:
        refused(session)
        return _users_page(request, session, tr, actor, form=form, errors=form_errors(exc, tr), status_code=422)
    except Conflict as exc:
        refused(session)
        return _users_page(request, session, tr, actor, form=form, status_code=409,
                           errors={"username": tr(exc.message_key, **exc.params)})
    return RedirectResponse("/users?done=created", status_code=303)


@router.post("/users/{user_id}/password")
def set_password(request: Request, session: SessionDep, tr: TranslatorDep, actor: UserManager, user_id: Id64,
                 password: Annotated[str, Form()] = "") -> Response:
    try:
        accounts_service.set_password(session=session, actor=actor, user_id=user_id, password=password)
    except InvalidInput as exc:
        refused(session)
        message = form_errors(exc, tr)["password"]
        return _users_page(request, session, tr, actor, errors={"row": {user_id: message}}, status_code=422)
    return RedirectResponse("/users?done=password_set", status_code=303)


@router.post("/users/{user_id}/deactivate")
def deactivate(session: SessionDep, actor: UserManager, user_id: Id64) -> Response:
    accounts_service.deactivate(session=session, actor=actor, user_id=user_id)
    return RedirectResponse("/users?done=deactivated", status_code=303)


# --- the security administrator: log-in locks, roles, second factors ------------------------------
SECURITY_DONE = ("unlocked", "role_set", "totp_reset")


def _security_page(request: Request, session: Session, tr: Translator, actor: Actor, *,
                   error: str | None = None, status_code: int = 200) -> Response:
    locks = [{"kind": row.kind, "key": row.key, "until": clock.format_local(row.locked_until)}
             for row in accounts_service.list_locks(session=session, actor=actor)]
    users = [{"id": u.id, "username": u.username, "role": u.role, "role_label": _label(tr, "roles", u.role),
              "totp": bool(u.totp_secret), "is_self": u.id == actor.user_id}
             for u in accounts_service.list_users(session=session, actor=actor) if u.is_active]
    done = request.query_params.get("done")
    return render(request, "accounts/security.html", {
        "locks": locks, "users": users, "error": error, "done": done if done in SECURITY_DONE else None,
        "roles": [(code, _label(tr, "roles", code)) for code in accounts_service.roles()],
    }, status_code=status_code)


@router.get("/security")
def security(request: Request, session: SessionDep, tr: TranslatorDep, actor: SecurityAdmin) -> Response:
    return _security_page(request, session, tr, actor)


@router.post("/security/unlock")
def security_unlock(session: SessionDep, actor: SecurityAdmin, kind: Annotated[str, Form()] = "",
                    key: Annotated[str, Form()] = "") -> Response:
    accounts_service.unlock(session=session, actor=actor, kind=kind, key=key)
    return RedirectResponse("/security?done=unlocked", status_code=303)


@router.post("/security/users/{user_id}/role")
def security_role(request: Request, session: SessionDep, tr: TranslatorDep, actor: SecurityAdmin, user_id: Id64,
                  role: Annotated[str, Form()] = "") -> Response:
    try:
        accounts_service.assign_role(session=session, actor=actor, user_id=user_id, role=role)
    except InvalidInput as exc:
        refused(session)
        return _security_page(request, session, tr, actor, error=form_errors(exc, tr)["role"], status_code=422)
    return RedirectResponse("/security?done=role_set", status_code=303)


@router.post("/security/users/{user_id}/totp-reset")
def security_totp_reset(session: SessionDep, actor: SecurityAdmin, user_id: Id64) -> Response:
    accounts_service.reset_second_factor(session=session, actor=actor, user_id=user_id)
    return RedirectResponse("/security?done=totp_reset", status_code=303)
