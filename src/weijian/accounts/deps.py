"""FastAPI dependencies: the current actor (bearer token or log-in session) and permission checks.

`/api/v1` takes a bearer token for every method, and the log-in session cookie for safe methods only
(pages' charts read the API; writes through a cookie would need CSRF, so they go through pages).
"""
from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from weijian.accounts import service as accounts_service
from weijian.core.actor import Actor
from weijian.core.errors import Unauthorized
from weijian.core.web import SessionDep, client_ip

SESSION_USER_KEY = "uid"


def get_actor(request: Request, session: SessionDep) -> Actor:
    cached = getattr(request.state, "actor", None)
    if cached is not None:
        return cached
    auth = request.headers.get("authorization", "")
    user = None
    if auth.lower().startswith("bearer "):
        user = accounts_service.user_for_token(session=session, token=auth[7:].strip())
    else:
        uid = request.session.get(SESSION_USER_KEY) if "session" in request.scope else None
        is_api = request.url.path.startswith("/api/")
        if uid is not None and (not is_api or request.method in ("GET", "HEAD")):
            user = accounts_service.get(session=session, user_id=uid)
            if user is not None and not user.is_active:
                user = None
    if user is None:
        raise Unauthorized("core.errors.not_authenticated")
    actor = accounts_service.actor_for(user, ip=client_ip(request))
    request.state.actor = actor
    request.state.user = user
    return actor


ActorDep = Annotated[Actor, Depends(get_actor)]


def require(permission: str):
    """`Depends(require("resident:read"))`: the actor, after checking one named permission."""

    def _dep(actor: ActorDep) -> Actor:
        actor.require(permission)
        return actor

    return _dep
