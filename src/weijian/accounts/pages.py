"""HTML routes of accounts and the web shell: log-in and log-out, the home page, the audit log, users."""
from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from pydantic import ValidationError

from weijian.accounts import service as accounts_service
from weijian.accounts.deps import SESSION_USER_KEY, ActorDep, require
from weijian.accounts.schemas import AuditFilters, UserForm
from weijian.core import nav
from weijian.core.actor import Actor
from weijian.core import clock
from weijian.core.errors import Conflict, InvalidInput, Unauthorized
from weijian.core.i18n import Translator, catalog
from weijian.core.web import (SessionDep, SettingsDep, TranslatorDep, client_ip, csrf_token, error_body,
                              form_errors, read_unit, refused, render, request_locale, verify_csrf)

router = APIRouter(dependencies=[Depends(verify_csrf)])

nav.register("/", "app.home", None, 0)
nav.register("/audit", "accounts.nav.audit", "audit:read", 90)
nav.register("/users", "accounts.nav.users", "user:manage", 95)

AuditReader = Annotated[Actor, Depends(require("audit:read"))]
UserManager = Annotated[Actor, Depends(require("user:manage"))]


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
    key = f"{prefix}.{code}"
    return tr(key) if code and key in catalog(tr.locale) else (code or "")


def _validation_messages(exc: ValidationError, tr: Translator) -> dict[str, str]:
    out: dict[str, str] = {}
    known = catalog("zh_CN")
    for err in exc.errors():
        field = ".".join(str(p) for p in err.get("loc", ())) or "form"
        key = f"core.errors.validation.{err.get('type')}"
        ctx = {k: v for k, v in (err.get("ctx") or {}).items() if isinstance(v, (str, int, float))}
        if key not in known:
            key, ctx = "core.errors.validation.other", {"detail": err.get("msg", "")}
        out.setdefault(field, tr(key, **ctx))
    return out


# --- log-in, log-out ----------------------------------------------------------------------------
def _login_page(request: Request, *, username: str = "", next_url: str = "/", error: str | None = None,
                errors: dict[str, str] | None = None, status_code: int = 200):
    return render(request, "accounts/login.html",
                  {"username": username, "next": next_url, "error": error, "errors": errors or {}},
                  status_code=status_code)


@router.get("/login")
def login_form(request: Request, next: str = "/"):  # noqa: A002 - the query parameter's name
    return _login_page(request, next_url=safe_next(next))


@router.post("/login")
def login(request: Request, session: SessionDep, tr: TranslatorDep,
          username: Annotated[str, Form()] = "", password: Annotated[str, Form()] = "",
          next: Annotated[str, Form()] = "/"):  # noqa: A002
    next_url = safe_next(next)
    errors = {}
    if not username.strip():
        errors["username"] = tr("core.errors.validation.missing")
    if not password:
        errors["password"] = tr("core.errors.validation.missing")
    if errors:
        return _login_page(request, username=username, next_url=next_url, errors=errors, status_code=422)
    with read_unit(request) as lookup:
        creds = accounts_service.credentials(session=lookup, username=username)
    user_id = accounts_service.password_matches(creds, password)  # outside any transaction
    try:
        user = accounts_service.record_log_in(session=session, username=username, user_id=user_id,
                                              ip=client_ip(request), via="page")
    except Unauthorized as exc:
        # Rendered, not raised: the failed attempt's audit record must be committed.
        message = error_body(exc, request_locale(request))["error"]["message"]
        return _login_page(request, username=username, next_url=next_url, error=message, status_code=401)
    # A fresh session: nothing carried over from before the log-in, and a new CSRF token.
    request.session.clear()
    request.session[SESSION_USER_KEY] = user.id
    csrf_token(request)
    return RedirectResponse(next_url, status_code=303)


@router.post("/logout")
def logout(request: Request, session: SessionDep):
    uid = request.session.get(SESSION_USER_KEY)
    user = accounts_service.get(session=session, user_id=uid) if uid is not None else None
    if user is not None:
        accounts_service.log_out(session=session, actor=accounts_service.actor_for(user, ip=client_ip(request)))
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


# --- home -----------------------------------------------------------------------------------------
@router.get("/")
def home(request: Request, actor: ActorDep):
    links = [item for item in nav.items_for(actor) if item["href"] != "/"]
    return render(request, "home.html", {"links": links})


# --- audit log ----------------------------------------------------------------------------------
@router.get("/audit")
def audit_log(request: Request, session: SessionDep, settings: SettingsDep, tr: TranslatorDep,
              actor: AuditReader):
    raw = {k: v for k, v in request.query_params.items() if k in AuditFilters.model_fields}
    errors: dict[str, str] = {}
    result = None
    try:
        filters = AuditFilters.model_validate(raw)
    except ValidationError as exc:
        errors = _validation_messages(exc, tr)
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
    for e in result.items if result else []:
        rows.append({
            "at": clock.local(e.at).strftime("%Y-%m-%d %H:%M:%S"),
            "username": e.username, "user_id": e.user_id, "role": _label(tr, "roles", e.role),
            "action": _label(tr, "accounts.audit.actions", e.action),
            "entity": _label(tr, "accounts.audit.entities", e.entity_type), "entity_id": e.entity_id,
            "resident_id": e.resident_id, "basis": _label(tr, "accounts.audit.bases", e.basis), "ip": e.ip,
        })
    actions = [(code, _label(tr, "accounts.audit.actions", code)) for code in accounts_service.AUDIT_ACTIONS]
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


def _users_page(request: Request, session, tr: Translator, actor: Actor, *,  # noqa: ANN001
                form: UserForm | None = None, errors: dict[str, Any] | None = None, status_code: int = 200):
    users = accounts_service.list_users(session=session, actor=actor)
    rows = [{"id": u.id, "username": u.username, "full_name": u.full_name, "role": _label(tr, "roles", u.role),
             "orgunit_code": u.orgunit_code, "is_active": u.is_active, "is_self": u.id == actor.user_id,
             "last_login": clock.local(u.last_login_at).strftime("%Y-%m-%d %H:%M")
             if u.last_login_at else ""} for u in users]
    done = request.query_params.get("done")
    return render(request, "accounts/users.html", {
        "rows": rows, "form": (form or UserForm()).model_dump(exclude={"password"}), "errors": errors or {},
        "roles": [(code, _label(tr, "roles", code)) for code in accounts_service.roles()],
        "done": done if done in DONE else None,
    }, status_code=status_code)


@router.get("/users")
def users(request: Request, session: SessionDep, tr: TranslatorDep, actor: UserManager):
    return _users_page(request, session, tr, actor)


@router.post("/users")
def create_user(request: Request, session: SessionDep, tr: TranslatorDep, actor: UserManager,
                form: Annotated[UserForm, Form()]):
    try:
        accounts_service.register_user(
            session=session, actor=actor, username=form.username, password=form.password,
            full_name=form.full_name, role=form.role, orgunit_code=form.orgunit_code.strip(),
            phone=form.phone.strip() or None)
    except InvalidInput as exc:
        refused(session)
        return _users_page(request, session, tr, actor, form=form, errors=form_errors(exc, tr), status_code=422)
    except Conflict as exc:
        refused(session)
        return _users_page(request, session, tr, actor, form=form, status_code=409,
                           errors={"username": tr(exc.message_key, **exc.params)})
    return RedirectResponse("/users?done=created", status_code=303)


@router.post("/users/{user_id}/password")
def set_password(request: Request, session: SessionDep, tr: TranslatorDep, actor: UserManager, user_id: int,
                 password: Annotated[str, Form()] = ""):
    try:
        accounts_service.set_password(session=session, actor=actor, user_id=user_id, password=password)
    except InvalidInput as exc:
        refused(session)
        message = form_errors(exc, tr)["password"]
        return _users_page(request, session, tr, actor, errors={"row": {user_id: message}}, status_code=422)
    return RedirectResponse("/users?done=password_set", status_code=303)


@router.post("/users/{user_id}/deactivate")
def deactivate(session: SessionDep, actor: UserManager, user_id: int):
    accounts_service.deactivate(session=session, actor=actor, user_id=user_id)
    return RedirectResponse("/users?done=deactivated", status_code=303)
