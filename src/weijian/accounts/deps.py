"""FastAPI dependencies: the current actor (bearer token or log-in session) and permission checks.

`/api/v1` takes a bearer token for every method, and the log-in session cookie for safe methods only
(pages' charts read the API; writes through a cookie would need CSRF, so they go through pages).
The session is looked up in a short read of its own, and its "last seen" written at most once a minute
(accounts.sessions, current_session).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from weijian.accounts import service as accounts_service
from weijian.accounts import sessions
from weijian.accounts.models import User
from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.bounds import whole_number
from weijian.core.db import is_read_only, unit_of_work
from weijian.core.errors import DomainError, StepRequired, Unauthorized
from weijian.core.web import SessionDep, client_ip, read_unit, session_cookie

STEP_PAGES = {"totp": "/login/totp", "password": "/account/password", "totp_setup": "/account/totp"}


def current_session(request: Request, session: Session) -> sessions.SessionInfo | None:
    """The live log-in session of the request's cookie (cached on the request). "Last seen" is written in
    the request's own unit when that is a write; a read's is written in a short write of its own, so the
    read unit stays one that writes nothing (and a POST never waits on a second writer: its own)."""
    if hasattr(request.state, "login_session"):
        return request.state.login_session
    token = session_cookie(request)
    info = None
    if token is not None:
        settings = request.app.state.settings
        with read_unit(request) as lookup:
            info = sessions.current(session=lookup, token=token,
                                    idle=timedelta(minutes=settings.session_idle_minutes))
        if info is not None and info.needs_touch(clock.now()):
            if is_read_only(session):
                with unit_of_work(request.app.state.sessionmaker) as write:
                    sessions.touch(session=write, session_id=info.id)
            else:
                sessions.touch(session=session, session_id=info.id)
    request.state.login_session = info
    return info


@dataclass(frozen=True)
class LoggedIn:
    """A user with a live session, whatever step of the log-in is still due (`step`, None: none)."""

    user: User
    session: sessions.SessionInfo | None
    step: str | None
    actor: Actor


def _logged_in(request: Request, session: Session) -> LoggedIn:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        user = accounts_service.user_for_token(session=session, token=auth[7:].strip())
        return LoggedIn(user, None, None, accounts_service.actor_for(user, ip=client_ip(request)))
    is_api = request.url.path.startswith("/api/")
    info = current_session(request, session) if not is_api or request.method in ("GET", "HEAD") else None
    user = accounts_service.get(session=session, user_id=info.user_id) if info is not None else None
    if user is None or not user.is_active:
        raise Unauthorized("core.errors.not_authenticated")
    step = accounts_service.pending_step(user, stage=info.stage, settings=request.app.state.settings)
    return LoggedIn(user, info, step, accounts_service.actor_for(user, ip=client_ip(request)))


def get_logged_in(request: Request, session: SessionDep) -> LoggedIn:
    """For the pages of the log-in's own steps (second factor, new password): a pending step is allowed."""
    return _logged_in(request, session)


def get_actor(request: Request, session: SessionDep) -> Actor:
    cached = getattr(request.state, "actor", None)
    if cached is not None:
        return cached
    who = _logged_in(request, session)
    if who.step is not None:
        raise StepRequired(f"accounts.steps.{who.step}", location=STEP_PAGES[who.step])
    request.state.actor = who.actor
    request.state.user = who.user
    return who.actor


ActorDep = Annotated[Actor, Depends(get_actor)]
LoggedInDep = Annotated[LoggedIn, Depends(get_logged_in)]


def require(permission: str) -> Callable[[Actor], Actor]:
    """`Depends(require("resident:read"))`: the actor, after checking one named permission."""

    def _dep(actor: ActorDep) -> Actor:
        actor.require(permission)
        return actor

    return _dep


def audit_refusal(request: Request, exc: DomainError) -> None:
    """Log a refused request of a logged-in user (403: a permission it lacks; 404: an object that is
    missing or outside its scope, which it is not told apart from missing): who tried which route on which
    object. Written in a short unit of its own (the request's unit was rolled back), before the answer is
    sent; the web layer calls it for every Forbidden and NotFound (core.web, `app.state.on_refused`)."""
    actor = getattr(request.state, "actor", None)
    if actor is None:  # not logged in: the log-in attempts are audited where they happen
        return
    route = request.scope.get("route")
    template = getattr(route, "path", None) or request.url.path
    # Text, or an int under a `{resident_id:int}` route; None when it is no id at all.
    resident = whole_number(request.path_params.get("resident_id"))
    detail = {"path": request.url.path[:200], "status": exc.status_code, "reason": exc.message_key}
    with unit_of_work(request.app.state.sessionmaker) as session:
        accounts_service.audit(session=session, actor=actor, action="refused", entity_type="route",
                               entity_id=f"{request.method} {template}"[:64], resident_id=resident,
                               basis="refused", detail=detail)
