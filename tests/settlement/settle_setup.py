"""A small county for the settlement tests: facilities at each tier, a clinician per tier, a bureau user,
and helpers to count what a settlement writes."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests import factories as f
from weijian.accounts import service as accounts_service
from weijian.accounts.models import AuditEvent
from weijian.core.actor import Actor
from weijian.settlement.models import Balance, Settlement, SettlementYear


@dataclass
class World:
    facilities: dict[str, Any]
    users: dict[str, Any]
    actors: dict[str, Actor]


def build(session: Session) -> World:
    f.make_county(session)
    fac = f.make_care_facilities(session)
    users = {
        "county": f.make_user(session, "county_doctor", f.COUNTY, facility_id=fac["county"].id),
        "town_a": f.make_user(session, "township_doctor", f.TOWN_A, facility_id=fac["town_a"].id),
        "town_b": f.make_user(session, "township_doctor", f.TOWN_B, facility_id=fac["town_b"].id),
        "village": f.make_user(session, "village_doctor", f.VILLAGE_A1, facility_id=fac["clinic_a1"].id),
        "bureau": f.make_user(session, "bureau_admin", f.COUNTY),
    }
    return World(fac, users, {k: accounts_service.actor_for(u) for k, u in users.items()})


def counts(session: Session) -> tuple[int, int, int, int]:
    return tuple(session.scalar(select(func.count()).select_from(m))
                 for m in (Settlement, SettlementYear, Balance, AuditEvent))  # type: ignore[return-value]
