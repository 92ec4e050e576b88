"""JSON routes of accounts: API tokens (the only /api/v1 route open without credentials), the current
user, and the audit log."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from weijian.accounts import service as accounts_service
from weijian.accounts import sessions
from weijian.accounts.deps import ActorDep, require
from weijian.accounts.schemas import AuditEventOut, AuditPageOut, MeOut, TokenOut, TokenRequest
from weijian.core.actor import Actor
from weijian.core.bounds import BoundedDate, Id64, PageNo
from weijian.core.errors import Forbidden, InvalidInput, Unauthorized
from weijian.core.web import SessionDep, SettingsDep, client_ip, error_body, read_unit, request_locale

router = APIRouter(prefix="/api/v1", tags=["accounts"])

TOKEN_PATH = "/api/v1/auth/token"
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
_TOKEN_BODY = {
    "required": True,
    "content": {
        "application/json": {"schema": TokenRequest.model_json_schema()},
        "application/x-www-form-urlencoded": {"schema": TokenRequest.model_json_schema()},
    },
}


async def _token_request(request: Request) -> TokenRequest:
    """The credentials from a JSON body or a form (OAuth2 password-flow clients send a form)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type in _FORM_TYPES:
        raw = dict(await request.form())
    else:
        try:
            raw = await request.json()
        except ValueError:
            raise InvalidInput("body", "core.errors.validation.json_invalid") from None
    try:
        return TokenRequest.model_validate(raw)
    except ValidationError as exc:
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]) from None


@router.post("/auth/token", response_model=TokenOut, openapi_extra={"requestBody": _TOKEN_BODY},
             responses={401: {"description": "Wrong username, password or second-factor code"},
                        403: {"description": "A step of the log-in is due on the pages first"},
                        429: {"description": "Too many failed log-ins: locked (Retry-After)"}})
def issue_token(creds: Annotated[TokenRequest, Depends(_token_request)], request: Request,
                session: SessionDep, settings: SettingsDep) -> TokenOut | JSONResponse:
    """A bearer token for a username and password (and `totp`, the second-factor code, when the user has
    one). A user who must first choose a new password or set up a second factor does so on the pages."""
    ip = client_ip(request)
    locale = request_locale(request)
    with read_unit(request) as lookup:
        sessions.refuse_if_locked(session=lookup, username=creds.username, ip=ip)  # 429 (Throttled)
        known = accounts_service.credentials(session=lookup, username=creds.username)
    user_id = accounts_service.password_matches(known, creds.password)  # outside any transaction
    policy = accounts_service.throttle_policy(settings)
    try:
        user = accounts_service.record_log_in(session=session, username=creds.username, user_id=user_id, ip=ip,
                                              via="api", policy=policy,
                                              allow_demo=settings.environment != "production")
        if user.totp_secret:
            accounts_service.verify_second_factor(session=session, user_id=user.id, code=creds.totp or "",
                                                  username=creds.username, ip=ip, via="api", policy=policy)
    except Unauthorized as exc:
        # Returned, not raised: the failed attempt's audit record must be committed.
        return JSONResponse(error_body(exc, locale), status_code=401, headers={"WWW-Authenticate": "Bearer"})
    step = accounts_service.pending_step(user, stage=sessions.STAGE_COMPLETE, settings=settings)
    if step is not None:
        return JSONResponse(error_body(Forbidden(f"accounts.steps.{step}"), locale), status_code=403)
    token, expires_at = accounts_service.issue_token(session=session, user=user,
                                                     ttl_seconds=settings.token_ttl_seconds)
    return TokenOut(access_token=token, expires_at=expires_at)


@router.delete("/auth/token", status_code=204)
def revoke_token(request: Request, session: SessionDep, actor: ActorDep) -> None:
    """Revoke the bearer token this request carries (a session cookie has nothing to revoke)."""
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        accounts_service.revoke_token(session=session, token=auth[7:].strip())


@router.get("/auth/me", response_model=MeOut)
def me(session: SessionDep, actor: ActorDep) -> MeOut:
    user = accounts_service.get_or_raise(session=session, user_id=actor.user_id)
    return MeOut(id=user.id, username=user.username, full_name=user.full_name, role=user.role,
                 orgunit_code=user.orgunit_code, facility_id=user.facility_id,
                 permissions=sorted(actor.permissions))


@router.get("/audit", response_model=AuditPageOut)
def list_audit(
    session: SessionDep,
    settings: SettingsDep,
    actor: Annotated[Actor, Depends(require("audit:read"))],
    user: Annotated[str | None, Query(max_length=64, description="username or user id")] = None,
    resident_id: Id64 | None = None,
    date_from: Annotated[BoundedDate | None, Query(description="first day, county time")] = None,
    date_to: Annotated[BoundedDate | None, Query(description="last day (inclusive), county time")] = None,
    action: Annotated[str | None, Query(max_length=32)] = None,
    page: Annotated[PageNo, Query(ge=1)] = 1,
    page_size: Annotated[int | None, Query(ge=1, le=accounts_service.MAX_PAGE_SIZE)] = None,
) -> AuditPageOut:
    """Audit events, newest first."""
    result = accounts_service.list_audit(
        session=session, actor=actor, user=user, resident_id=resident_id, date_from=date_from,
        date_to=date_to, action=action, page=page, page_size=page_size or settings.page_size)
    return AuditPageOut(items=[AuditEventOut.model_validate(e) for e in result.items], total=result.total,
                        page=result.page, page_size=result.page_size)
