"""The demo county's family-doctor contracting (care.contracts): a team for every village (a township doctor
and the public-health worker of its township centre, the village doctor — the demo village's is the `cunyi`
user — and a nurse), about 40 % of the active residents contracted on the reference date, the key
populations about 70 %, the others about 25 %; most contracts renewed from last year's (linked), some ending
within 30 days (due to renew this month) and a few lapsed, a few ended early with a reason. Written in bulk;
the terms are care.contracts.rules' own, so every row is one the service would accept."""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from weijian.accounts.models import User
from weijian.care.contracts import keypop, rules
from weijian.care.contracts.models import ContractTeam, ContractTeamMember, ContractTeamVillage, FamilyDoctorContract
from weijian.core import clock
from weijian.orgunits.models import Facility, OrgUnit
from weijian.residents.models import Resident

TABLES = ("contract_teams", "contract_team_members", "family_doctor_contracts")
KEY_SHARE, OTHER_SHARE = 0.70, 0.25
LAPSED_SHARE = 0.03  # of the contracted: the term ended within the last 60 days, not renewed yet
RENEWED_SHARE = 0.65  # of the current contracts: a renewal of last year's
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = ("建华", "春梅", "志强", "秀英", "国平", "丽娟", "海涛", "晓燕", "文军", "桂芳", "德明", "红霞")


@dataclass(frozen=True)
class ContractsSummary:
    teams: int
    contracts: int  # rows written, the ended ones included
    current: int  # residents contracted on the reference date
    due: int  # current contracts ending within renew_within_days
    lapsed: int


def _next_id(session: Session, model: Any) -> int:
    return (session.scalar(select(func.max(model.id))) or 0) + 1


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN)


def _package(rng: random.Random, keys: list[str]) -> str:
    r = rules.rules()
    fitting = [p.code for p in r.packages.values() if p.meant_for and set(p.meant_for) & set(keys)]
    return rng.choice(fitting) if fitting and rng.random() < 0.35 else "basic"


def build(*, session: Session, seed: int, reference: date, demo_village: str) -> ContractsSummary:
    """Write the teams and contracts for the residents and villages already in the database; flushes."""
    rng = random.Random(f"weijian-demo-contracts-{seed}")
    r = rules.rules()
    now = clock.now()
    villages = session.execute(select(OrgUnit.code, OrgUnit.name, OrgUnit.parent_code)
                               .where(OrgUnit.level == "village").order_by(OrgUnit.code)).all()
    centres = {code: fid for fid, code in session.execute(
        select(Facility.id, Facility.orgunit_code).where(Facility.type == "township_centre"))}
    clinics = {code: fid for fid, code in session.execute(
        select(Facility.id, Facility.orgunit_code).where(Facility.type == "village_clinic"))}
    cunyi = session.scalar(select(User.id).where(User.username == "cunyi"))
    tid, mid, cid = (_next_id(session, m) for m in (ContractTeam, ContractTeamMember, FamilyDoctorContract))
    teams: list[dict[str, Any]] = []
    members: list[dict[str, Any]] = []
    served: list[dict[str, Any]] = []
    team_of: dict[str, int] = {}
    for code, name, township in villages:
        centre = centres.get(township or "")
        teams.append({"id": tid, "name": f"{name}家庭医生团队", "facility_id": centre, "active": True,
                      "created_at": now, "created_by": "demo"})
        for role, fac in (("township_doctor", centre), ("village_doctor", clinics.get(code)), ("nurse", centre),
                          ("public_health", centre)):
            user = cunyi if role == "village_doctor" and code == demo_village else None
            members.append({"id": mid, "team_id": tid, "role": role, "user_id": user,
                            "staff_name": None if user else _name(rng), "facility_id": fac,
                            "phone": f"139{rng.randint(10_000_000, 99_999_999)}"})
            mid += 1
        served.append({"team_id": tid, "village_code": code})
        team_of[code] = tid
        tid += 1
    people = session.execute(select(Resident.id, Resident.village_code).where(Resident.status == "active")
                             .order_by(Resident.id)).all()
    keys = keypop.of_residents(session, [p.id for p in people], reference)
    contracts: list[dict[str, Any]] = []
    current = due = lapsed = demo_shown = 0

    def row(rid: int, team: int, package: str, start: date, **over: Any) -> dict[str, Any]:
        nonlocal cid
        out = {"id": cid, "resident_id": rid, "team_id": team, "package": package,
               "fee": r.packages[package].fee, "signed_on": start, "start_date": start,
               "end_date": rules.term_end(start),
               "status": "signed", "previous_id": None, "key_populations": ",".join(keys.get(rid, [])) or None,
               "ended_on": None, "end_reason": None, "end_note": None, "created_at": now, "created_by": "demo"}
        out.update(over)
        cid += 1
        return out

    for rid, village in people:
        team = team_of.get(village)
        if team is None:
            continue
        k = keys.get(rid, [])
        if rng.random() >= (KEY_SHARE if k else OTHER_SHARE):
            if rng.random() < 0.03:  # ended early last year at the resident's request
                start = reference - timedelta(days=rng.randint(400, 700))
                contracts.append(row(rid, team, "basic", start, status="ended", ended_on=start + timedelta(days=120),
                                     end_reason="resident_request"))
            continue
        package = _package(rng, k)
        # The demo village doctor's worklist shows renewals whatever the county's size: its first contracted
        # resident lapsed, the next three due within the month.
        forced = (village == demo_village and demo_shown < 4)
        demo_shown += int(forced)
        if (forced and demo_shown == 1) or (not forced and rng.random() < LAPSED_SHARE):
            start = reference - timedelta(days=rng.randint(366, 420))
            contracts.append(row(rid, team, package, start))
            lapsed += 1
            continue
        start = reference - timedelta(days=rng.randint(340, 364) if forced else rng.randint(0, 364))
        previous = None
        if rng.random() < RENEWED_SHARE:
            first_start = rules.add_months(start, -r.term_months)  # last year's term, ending the day before
            previous = row(rid, team, package, first_start, status="ended", end_reason="renewed")
            previous.update(end_date=start - timedelta(days=1), ended_on=start - timedelta(days=1))
            contracts.append(previous)
        contract = row(rid, team, package, start, status="renewed" if previous else "signed",
                       previous_id=previous["id"] if previous else None,
                       signed_on=start - timedelta(days=rng.randint(0, 20)) if previous else start)
        if contract["signed_on"] > reference:
            contract["signed_on"] = reference
        contracts.append(contract)
        current += 1
        due += int(rules.state(contract["end_date"], reference) == "due")
    conn = session.connection()
    for model, rows in ((ContractTeam, teams), (ContractTeamMember, members), (ContractTeamVillage, served),
                        (FamilyDoctorContract, contracts)):
        for i in range(0, len(rows), 5000):
            conn.execute(insert(model.__table__), rows[i:i + 5000])
    if conn.dialect.name == "postgresql":
        for table in TABLES:
            conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                              f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {table}), false)"))
    session.flush()
    return ContractsSummary(teams=len(teams), contracts=len(contracts), current=current, due=due, lapsed=lapsed)
