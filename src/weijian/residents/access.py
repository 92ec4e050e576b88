"""May this user see this resident, and on what basis? The one answer (STYLE 16): every domain that reads a
resident's record, lists residents or shows a figure of an org unit asks here.

- `basis_for(actor, village_code)`: the basis a user's org-unit scope gives (own_village, own_township,
  county, system), or None outside it; a stay of the user's own facility gives `own_facility`.
- `visible(actor)`: the same rule as a WHERE clause on the resident's village (for lists and searches).
- `resident_in_scope(...)`: the resident and the basis, or NotFound (a record outside the scope does not exist
  for the user); with `shared=True` a referral or consultation the user's facility received is a basis too
  (`shared_basis`, filled by the composition root from care, which lies above residents).
- `walk_in_basis(actor, village_code)`: `walk_in` for a village doctor's patient from a neighbouring village
  (the same township), which the health record accepts for the visit the doctor records (issue 14).
- `orgunit_target(...)`: the org unit a figure or a list is asked for, refused outside the user's scope.
"""
from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import ColumnElement, SQLColumnExpression, or_, select
from sqlalchemy.orm import Session

from weijian.core.actor import Actor
from weijian.core.errors import Forbidden, InvalidInput, NotFound
from weijian.core.hooks import Hook
from weijian.core.identifiers import division_level
from weijian.orgunits import service as orgunits_service
from weijian.orgunits.models import OrgUnit
from weijian.residents.models import Resident

_E = "residents.access."

# shared_basis(session=, actor=, resident_id=) -> "referral" / "teleconsultation" when the actor's facility
# receives an open one for the resident, else None (care.referrals.access_basis_for).
shared_basis: Hook[Callable[..., str | None]] = Hook("residents.access.shared_basis")


def basis_for(actor: Actor, village_code: str, *, facility_id: int | None = None) -> str | None:
    """Why the actor may see a resident of `village_code`: own_village / own_township / county / system, or
    `own_facility` for a record kept by the actor's own facility (`facility_id`) outside that scope; None
    when neither holds."""
    if actor.scope_code is None:
        return "system"
    if not orgunits_service.in_scope(scope_code=actor.scope_code, code=village_code):
        if facility_id is not None and facility_id == actor.facility_id:
            return "own_facility"
        return None
    if actor.scope_code == village_code:
        return "own_village"
    if actor.scope_code[9:] == "000" and actor.scope_code[6:9] != "000":
        return "own_township"
    return "county"


def walk_in_basis(actor: Actor, village_code: str) -> str | None:
    """`walk_in` when a village-level user with a facility sees a resident of another village of the same
    township — a neighbouring village (weijian's reading: the registry has no adjacency, and a township's
    villages share its health centre); None otherwise. Only the care a walk-in receives (a visit recorded
    at the user's facility, and what the user recorded) may be reached on this basis: callers ask for it."""
    if actor.scope_code is None or actor.facility_id is None or division_level(actor.scope_code) != "village":
        return None
    if village_code == actor.scope_code or village_code[:9] != actor.scope_code[:9]:
        return None
    return "walk_in"


def scope_basis(actor: Actor) -> str:
    """The basis recorded for a look-up over the actor's whole scope (a search, a list)."""
    if actor.scope_code is None:
        return "system"
    level = division_level(actor.scope_code)
    return {"village": "own_village", "township": "own_township"}.get(level, "county")


def visible(actor: Actor, village: SQLColumnExpression[str] | None = None, *,
            facility: SQLColumnExpression[int | None] | None = None) -> ColumnElement[bool]:
    """The actor's scope as a condition on a resident's village (`Resident.village_code` by default); with
    `facility`, rows of the actor's own facility too (the `own_facility` basis)."""
    column = Resident.village_code if village is None else village
    if actor.scope_code is not None and division_level(actor.scope_code) == "village":
        # The same rows as the range, but as an equality the (village_code, name) index answers a village
        # doctor's name search in name order (a planner without statistics sees a range as no better).
        cond: ColumnElement[bool] = column == actor.scope_code
    else:
        cond = orgunits_service.scope_condition(column, actor)
    if facility is not None and actor.scope_code is not None and actor.facility_id is not None:
        cond = or_(cond, facility == actor.facility_id)
    return cond


def resident_in_scope(*, session: Session, actor: Actor, resident_id: int | None,
                      shared: bool = False, walk_in: bool = False) -> tuple[Resident, str]:
    """(resident, basis) when the actor may see the resident's record: their org-unit scope covers the
    resident's village, or (`shared`) their facility received an open referral or consultation of the
    resident, or (`walk_in`) the resident walked in from a neighbouring village (`walk_in_basis`). NotFound
    otherwise, exactly as for a missing id. The caller audits the read with the basis."""
    resident = session.scalar(select(Resident).where(Resident.id == resident_id)) \
        if resident_id is not None else None
    basis = basis_for(actor, resident.village_code) if resident is not None else None
    if resident is not None and basis is None and shared:
        basis = shared_basis(session=session, actor=actor, resident_id=resident.id)
    if resident is not None and basis is None and walk_in:
        basis = walk_in_basis(actor, resident.village_code)
    if resident is None or basis is None:
        raise NotFound("residents.errors.not_found", resident_id=resident_id)
    return resident, basis


def orgunit_target(*, session: Session, actor: Actor, orgunit: str | None, field: str = "orgunit",
                   default_county: bool = False) -> OrgUnit:
    """The org unit a figure or list is asked for: `orgunit` (a 12-digit division code), else the actor's
    scope (else, with `default_county`, the county). Refused with a field error when malformed or unknown,
    Forbidden when outside the actor's scope."""
    code = (orgunit or "").strip() or actor.scope_code
    if not code and default_county:
        counties = orgunits_service.list_orgunits(session=session, level="county")
        code = counties[0].code if counties else None
    if not code:
        raise InvalidInput(field, "core.errors.validation.missing")
    try:
        division_level(code)
    except InvalidInput:
        raise InvalidInput(field, "core.errors.division.format") from None
    unit = orgunits_service.get(session=session, code=code)
    if unit is None:
        raise InvalidInput(field, _E + "orgunit_unknown", code=code)
    if not orgunits_service.in_scope(scope_code=actor.scope_code, code=code):
        raise Forbidden(_E + "orgunit_out_of_scope", code=code)
    return unit


__all__ = ["basis_for", "orgunit_target", "resident_in_scope", "scope_basis", "shared_basis", "visible",
           "walk_in_basis"]
