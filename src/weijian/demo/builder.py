"""Builds the demo county into an empty database: org units, facilities with capacity snapshots, residents in
households, special groups, the demo users, the 24 months of care up to the reference date (demo/care.py) with
their stays settled, pay-later balances and the bundled budgets (demo/settlement.py), and the children's
immunization with the vaccination points' stock (demo/immunization.py); pregnancies (demo/maternal.py),
children's checks 0–6 (demo/childcare.py), five years of case reports (demo/surveillance.py), TB patients under
treatment (demo/tb.py), family-doctor teams and contracts (demo/contracts.py), severe mental illness patients
with their follow-ups (demo/mental.py), one past public-health emergency with the zoonosis screening
(demo/emergency.py), the hazard ledger's sweep and the year's practical projects (demo/ledgers.py), and the
facility assessments, AEDs, training sessions and blood donors of the ledgers (demo/ledger_assets.py).

Deterministic: the same number of residents, seed and reference date give the same rows (one
`random.Random(seed)` drives every draw, in a fixed order; ages are taken at the reference date given, by
default the data file's fixed one). Only `created_at` / `updated_at` carry the time of the build. `weijian
demo-data` passes today, so that the demo is current: its records run up to today (care, settlements,
vaccinations) and nothing is dated after it, so the worklists, recall lists and the pages' default period (the
current year) show a living county.

Rows are written with SQLAlchemy Core bulk inserts straight into the models' tables, with ids computed here, in
chunks, inside the caller's transaction. The services' one-row-at-a-time create (validation queries, ORM
objects, an audit event per resident) would take hours for 400,000 residents; the data is made valid by
construction instead, and tests check it against the same rules (identity numbers, division codes, one head per
household). Users are made through the accounts service."""
from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from weijian.accounts import service as accounts_service
from weijian.core import clock, commands, tallies
from weijian.core.actor import Actor
from weijian.core.errors import InvalidInput, InvalidState
from weijian.demo import care as care_mod
from weijian.demo import census, names
from weijian.demo import childcare as childcare_mod
from weijian.demo import contracts as contracts_mod
from weijian.demo import county as county_mod
from weijian.demo import education as education_mod
from weijian.demo import elderly as elderly_mod
from weijian.demo import emergency as emergency_mod
from weijian.demo import households as hh_mod
from weijian.demo import immunization as immunization_mod
from weijian.demo import ledger_assets as ledger_assets_mod
from weijian.demo import ledgers as ledgers_mod
from weijian.demo import maternal as maternal_mod
from weijian.demo import mental as mental_mod
from weijian.demo import settlement as settlement_mod
from weijian.demo import surveillance as surveillance_mod
from weijian.demo import tb as tb_mod
from weijian.demo.census import MALE
from weijian.demo.county import County
from weijian.orgunits.models import Facility, FacilityCapacity, OrgUnit
from weijian.residents.models import OPEN_END, SINCE_ALWAYS, Household, Resident, ResidentGroup, ResidentResidence
from weijian.residents.service import pinyin_keys

DEMO_ACTOR = "demo"
SIGNAL_DAYS = 120  # the early-warning days stored at build (the autumn's measles cluster included)
CHUNK = 5000
SQLITE_CACHE_KIB = 256 * 1024
MAX_RESIDENTS = 2_000_000


@dataclass(frozen=True)
class Summary:
    seed: int
    townships: int
    villages: int
    facilities: int
    residents: int
    households: int
    beds: int  # open beds, as of the capacity date
    physicians: int  # licensed + assistant physicians
    care: care_mod.CareSummary | None = None  # the care written (demo/care.py)
    immunization: immunization_mod.ImmunizationSummary | None = None  # demo/immunization.py
    settlement: settlement_mod.SettlementSummary | None = None  # demo/settlement.py
    surveillance: surveillance_mod.SurveillanceSummary | None = None  # demo/surveillance.py: case reports
    maternal: maternal_mod.MaternalSummary | None = None  # demo/maternal.py
    tb: tb_mod.TbSummary | None = None  # demo/tb.py
    elderly: elderly_mod.ElderlySummary | None = None  # demo/elderly.py
    childcare: childcare_mod.ChildcareSummary | None = None  # demo/childcare.py
    contracts: contracts_mod.ContractsSummary | None = None  # demo/contracts.py
    mental: mental_mod.MentalSummary | None = None  # demo/mental.py

    @property
    def beds_per_1000(self) -> float:
        return self.beds * 1000 / self.residents if self.residents else 0.0

    @property
    def physicians_per_1000(self) -> float:
        return self.physicians * 1000 / self.residents if self.residents else 0.0


def reference_date() -> date:
    """The data file's reference date (data/yingshan.yaml `residents.reference_date`): the default day
    ages are taken on and the records run up to, and the earliest allowed. A build's reference may be later."""
    return county_mod.data()["residents"]["reference_date"]


def existing_rows(session: Session) -> tuple[int, int]:
    """(org units, residents) already in the database."""
    units = session.scalar(select(func.count()).select_from(OrgUnit)) or 0
    people = session.scalar(select(func.count()).select_from(Resident)) or 0
    return units, people


def build(*, session: Session, residents: int, seed: int, chunk_size: int = CHUNK,
          progress: Callable[[int], None] | None = None, care: bool = True,
          immunization: bool = True, reference: date | None = None, settlement: bool = True) -> Summary:
    """Write the whole demo county with `residents` residents, ages taken and records written up to
    `reference` (default: the data file's date, which is also the earliest allowed; the latest is today);
    flushes, never commits. Refuses a database that already has org units or residents (InvalidState), a
    bad size or reference date (InvalidInput)."""
    if not 1 <= residents <= MAX_RESIDENTS:
        raise InvalidInput("residents", "demo.errors.residents_range", min=1, max=MAX_RESIDENTS)
    fixed = reference_date()
    reference = reference or fixed
    if reference < fixed:
        raise InvalidInput("reference_date", "demo.errors.reference_too_early", earliest=fixed.isoformat(),
                           value=reference.isoformat())
    if reference > clock.today():  # the newborns are registered through the residents service, which refuses it
        raise InvalidInput("reference_date", "demo.errors.reference_in_future", value=reference.isoformat())
    units, people = existing_rows(session)
    if units or people:
        raise InvalidState("demo.errors.not_empty", orgunits=units, residents=people)
    # Written in bulk around the ORM: the running tallies are counted once at the end, not per flush.
    with tallies.suspended(session):
        summary = _build(session=session, residents=residents, seed=seed, chunk_size=chunk_size,
                         progress=progress, care=care, immunization=immunization, reference=reference,
                         settlement=settlement)
    tallies.rebuild(session)
    # Fresh statistics for the query planner: without them PostgreSQL plans the county's first reports
    # (the poverty-risk list) as if the tables were empty — nested loops over every stay, for minutes.
    session.execute(text("ANALYZE"))
    return summary


def _build(*, session: Session, residents: int, seed: int, chunk_size: int, progress: Callable[[int], None] | None,
           care: bool, immunization: bool, reference: date, settlement: bool) -> Summary:
    county = county_mod.load()
    now = clock.now()
    conn = session.connection()
    with _bulk_load(conn):
        _write_orgunits(conn, county, now)
        facility_ids, beds, physicians = _write_facilities(conn, county, residents, now)
        n_households = _write_residents(conn, county, residents, seed, now, chunk_size, progress, reference)
    _sync_sequences(conn)
    _create_users(session, facility_ids)
    care_summary = None
    if care:  # 24 months of encounters, chronic patients, referrals (demo/care.py), same seed
        with _bulk_load(conn):
            care_summary = care_mod.build(session=session, seed=seed, reference=reference, chunk_size=chunk_size)
    if care and conn.dialect.name == "postgresql":
        # Statistics for the planner before the settlement batch reads the stays just loaded: without them
        # PostgreSQL may plan settle_pending's group lookup as nested loops over every stay (a CI run spent
        # over 20 minutes in one such query; the ANALYZE at the end of the build comes too late for it).
        session.execute(text("ANALYZE"))
    maternal_summary = None
    if care:  # pregnancies, antenatal and postpartum visits (demo/maternal.py), same seed
        maternal_summary = maternal_mod.build(session=session, seed=seed, reference=reference)
    elderly_summary = None
    if care:  # self-care assessments and TCM forms with the annual checks (demo/elderly.py), same seed
        elderly_summary = elderly_mod.build(session=session, seed=seed, reference=reference)
    childcare_summary = None
    if care:  # children's checks 0–6 and 体弱儿 cases (demo/childcare.py), same seed
        childcare_summary = childcare_mod.build(session=session, seed=seed, reference=reference)
    if care:  # health-education activities of the centres and clinics (demo/education.py), same seed
        education_mod.build(session=session, seed=seed, reference=reference, demo_village=demo_users()[2])
    settlement_summary = None
    if care and settlement:  # the window's stays settled, pay-later balances, the bundled budgets
        settlement_summary = settlement_mod.build(session=session, seed=seed, reference=reference)
    immunization_summary = None
    if immunization:  # points, stock, children's vaccinations, newborns (demo/immunization.py), same seed
        with _bulk_load(conn):
            immunization_summary = immunization_mod.build(session=session, seed=seed, reference=reference,
                                                          chunk_size=chunk_size)
    if care and immunization:  # the registered newborns' deliveries, linked to them (demo/maternal.py)
        maternal_mod.link_newborns(session=session, reference=reference)
    surveillance_summary = None
    if care:  # five years of case reports (传染病报告卡) and a measles cluster last autumn, same seed
        with _bulk_load(conn):
            surveillance_summary = surveillance_mod.build(session=session, seed=seed, reference=reference)
        # The early warning of the last SIGNAL_DAYS days on those cards, as the daily runs would have stored it
        # (a re-run adds nothing): the signals page and the measles cluster's signals show on `make run`.
        surveillance_mod.run_early_warning(session=session, reference=reference, days=SIGNAL_DAYS)
        # What the county CDC did with them: the older ones verified and closed, the last days' left new.
        surveillance_mod.work_signals(session=session, seed=seed, reference=reference)
    tb_summary = None
    if care:  # TB patients under treatment and ended (demo/tb.py), same seed
        tb_summary = tb_mod.build(session=session, seed=seed, reference=reference, demo_village=demo_users()[2])
    contracts_summary = None
    if care:  # family-doctor teams for every village and contracts (demo/contracts.py), after the key populations
        contracts_summary = contracts_mod.build(session=session, seed=seed, reference=reference,
                                                demo_village=demo_users()[2])
    mental_summary = None
    if care:  # severe mental illness patients and their follow-ups (demo/mental.py), same seed
        mental_summary = mental_mod.build(session=session, seed=seed, reference=reference,
                                          demo_village=demo_users()[2])
    # One past emergency with teams, a drill, the reserve and a brucellosis screening (demo/emergency.py).
    emergency_mod.build(session=session, reference=reference)
    # The hazard ledger's sweep and the year's practical projects (demo/ledgers.py), their own seeded draws.
    ledgers_mod.build(session=session, seed=seed, reference=reference)
    # Facility assessments, AEDs, training sessions and blood donors (demo/ledger_assets.py), same seed.
    ledger_assets_mod.build(session=session, seed=seed, reference=reference)
    summary = Summary(seed=seed, townships=len(county.townships), villages=len(county.villages),
                      facilities=len(facility_ids), residents=residents, households=n_households,
                      beds=beds, physicians=physicians, care=care_summary, immunization=immunization_summary,
                      settlement=settlement_summary, surveillance=surveillance_summary, maternal=maternal_summary,
                      tb=tb_summary, elderly=elderly_summary, childcare=childcare_summary,
                      contracts=contracts_summary, mental=mental_summary)
    accounts_service.audit(session=session, actor=Actor.system(DEMO_ACTOR), action="import",
                           entity_type="demo_county", entity_id=county.county.code, basis="system",
                           detail={"residents": residents, "seed": seed, "households": n_households,
                                   "reference_date": reference.isoformat()})
    session.flush()
    return summary


# --- org units and facilities -------------------------------------------------------------------
def _write_orgunits(conn: Connection, county: County, now: datetime) -> None:
    table = OrgUnit.__table__
    for level in ([county.county], county.townships, county.villages):  # parents before children
        conn.execute(insert(table), [
            {"code": u.code, "name": u.name, "level": u.level, "kind": u.kind, "parent_code": u.parent_code,
             "urban_rural_class": u.urban_rural_class, "created_at": now}
            for u in level
        ])


def _write_facilities(conn: Connection, county: County, residents: int, now: datetime
                      ) -> tuple[dict[str, int], int, int]:
    """Facilities and two capacity snapshots each; returns ({facility key: id}, open beds, physicians)."""
    capacity = county_mod.allocate_capacity(residents, county)
    as_of, prior_as_of = county_mod.as_of_dates(county)
    fac_id = _next_id(conn, Facility)
    cap_id = _next_id(conn, FacilityCapacity)
    ids: dict[str, int] = {}
    facilities, snapshots = [], []
    for spec in county.facilities:
        cap = capacity.get(spec.key, county_mod.Capacity(0, 0, 0, 0))
        ids[spec.key] = fac_id
        facilities.append({
            "id": fac_id, "code": spec.code, "name": spec.name, "type": spec.type, "grade": spec.grade,
            "orgunit_code": spec.orgunit_code, "community_role": spec.community_role,
            "beds_approved": cap.beds_approved, "beds_open": cap.beds_open, "physicians": cap.physicians,
            "assistant_physicians": cap.assistant_physicians, "created_at": now, "updated_at": now,
        })
        for day, figures in ((prior_as_of, county_mod.prior_capacity(cap, county)), (as_of, cap)):
            snapshots.append({
                "id": cap_id, "facility_id": fac_id, "as_of": day, "beds_approved": figures.beds_approved,
                "beds_open": figures.beds_open, "physicians": figures.physicians,
                "assistant_physicians": figures.assistant_physicians,
            })
            cap_id += 1
        fac_id += 1
    conn.execute(insert(Facility.__table__), facilities)
    conn.execute(insert(FacilityCapacity.__table__), snapshots)
    beds = sum(c.beds_open for c in capacity.values())
    physicians = sum(c.licensed for c in capacity.values())
    return ids, beds, physicians


# --- residents ----------------------------------------------------------------------------------
def _write_residents(conn: Connection, county: County, n: int, seed: int, now: datetime, chunk_size: int,
                     progress: Callable[[int], None] | None, ref: date) -> int:
    settings = county.data["residents"]
    names_data = county.data["names"]
    rng = random.Random(seed)
    people = census.draw_people(n, rng, ref)
    households = hh_mod.form_households(people, rng)
    placement = hh_mod.assign_villages(households, county_mod.village_populations(n, county), rng)

    home, others = str(settings["home_division"]), [str(d) for d in settings["other_divisions"]]
    other_rate = float(settings["other_division_rate"])
    none_rate = float(settings["insurance"]["none"])
    # Employees are of working age (20–59): their chance there gives the county-wide share.
    employee_rate = float(settings["insurance"]["employee"]) / census.share_between(20, 59)
    household_groups = [(g, float(p)) for g, p in settings["household_groups"].items()]
    alone_elders = sum(1 for h in households if len(h.members) == 1 and people[h.members[0][0]].age >= 60)
    extreme_rate = min(1.0, float(settings["extreme_poverty"]) * n / alone_elders) if alone_elders else 0.0
    ids = names.IdNumbers(rng)
    pinyin: dict[str, tuple[str, str]] = {}

    hh_table, res_table, grp_table = Household.__table__, Resident.__table__, ResidentGroup.__table__
    household_id = _next_id(conn, Household)
    resident_id = _next_id(conn, Resident)
    hh_rows: list[dict[str, Any]] = []
    res_rows: list[dict[str, Any]] = []
    grp_rows: list[dict[str, Any]] = []
    written = 0

    def flush() -> None:
        nonlocal written
        if hh_rows:
            conn.execute(insert(hh_table), hh_rows)
        if res_rows:
            conn.execute(insert(res_table), res_rows)
            # Each resident's residence history: one open row, lived there all along (moves: _move_some).
            conn.execute(insert(ResidentResidence.__table__), [
                {"resident_id": r["id"], "valid_from": SINCE_ALWAYS, "valid_to": OPEN_END,
                 "village_code": r["village_code"], "status": "active", "recorded_at": now} for r in res_rows])
        if grp_rows:
            conn.execute(insert(grp_table), grp_rows)
        written += len(res_rows)
        hh_rows.clear()
        res_rows.clear()
        grp_rows.clear()
        if progress is not None:
            progress(written)

    serial_in_village: dict[int, int] = {}
    for h_index, v_index in placement:
        household = households[h_index]
        village = county.villages[v_index]
        township = county.unit(village.parent_code)
        serial = serial_in_village.get(v_index, 0) + 1
        serial_in_village[v_index] = serial
        if village.kind == "residents_committee":
            address = names_data["community_address"].format(township=township.name, village=village.name,
                                                             number=serial)
        else:
            address = names_data["village_address"].format(township=township.name, village=village.name,
                                                           group=(serial - 1) // 30 + 1, number=serial)
        hh_rows.append({"id": household_id, "number": f"{village.code}{serial:04d}", "village_code": village.code,
                        "address": address, "created_at": now})

        members = household.ordered()
        groups = [g for g, p in household_groups if rng.random() < p]
        if len(members) == 1 and people[members[0][0]].age >= 60 and rng.random() < extreme_rate:
            groups.append("extreme_poverty")
        head_person = people[members[0][0]]
        family = names.surname(rng)
        member_ids: dict[int, int] = {}
        for person_index, relation in members:
            person = people[person_index]
            rid = resident_id
            resident_id += 1
            member_ids[person_index] = rid
            name = _surname_for(rng, relation, person.sex, head_person.sex, family) + names.given_name(rng, person.sex)
            keys = pinyin.get(name)
            if keys is None:
                keys = pinyin[name] = pinyin_keys(name)
            division = rng.choice(others) if rng.random() < other_rate else home
            phone = names.mobile(rng) if rng.random() < _phone_share(person.age) else None
            r = rng.random()
            if r < none_rate:
                scheme = "none"
            elif 20 <= person.age <= 59 and rng.random() < employee_rate:
                scheme = "employee"
            else:
                scheme = "resident"
            res_rows.append({
                "id": rid, "id_number": ids.issue(division, person.birth_date, person.sex), "name": name,
                "name_initials": keys[0], "name_pinyin": keys[1],
                "sex": "male" if person.sex == MALE else "female", "birth_date": person.birth_date,
                "phone": phone, "village_code": village.code, "household_id": household_id,
                "relation_to_head": relation, "insurance_scheme": scheme, "status": "active",
                "merged_into_id": None, "mother_id": _mother(people, members, member_ids, person_index, relation),
                "created_at": now, "updated_at": now,
            })
            member_groups = list(groups)
            if person.age >= 65:
                member_groups.append("elderly_65")
            for g in sorted(member_groups):
                grp_rows.append({"resident_id": rid, "group": g})
        household_id += 1
        if len(res_rows) >= chunk_size:
            flush()
    flush()
    return len(households)


def _surname_for(rng: random.Random, relation: str, sex: int, head_sex: int, family: str) -> str:
    """Children take the father's surname (the householder's, mostly); a householder's father shares it."""
    if relation == "head":
        return family
    if relation in ("son", "daughter", "grandchild"):
        if head_sex == MALE:
            return family if rng.random() < 0.96 else names.surname(rng)
        return family if rng.random() < 0.4 else names.surname(rng)
    if relation == "parent" and sex == MALE:
        return family
    return names.surname(rng)


def _mother(people: list[census.Person], members: list[tuple[int, str]], member_ids: dict[int, int],
            person_index: int, relation: str) -> int | None:
    """A son's or daughter's mother when she is the householder or the householder's wife."""
    if relation not in ("son", "daughter"):
        return None
    child = people[person_index]
    for other, rel in members[:2]:
        p = people[other]
        if rel in ("head", "spouse") and p.sex != MALE and 18 <= p.age - child.age <= 50 and other in member_ids:
            return member_ids[other]
    return None


def _phone_share(age: int) -> float:
    if age < 16:
        return 0.0
    if age < 70:
        return 0.92
    if age < 80:
        return 0.6
    return 0.3


# --- users ----------------------------------------------------------------------------------------
def demo_users() -> tuple[str, list[dict[str, Any]], str]:
    """(password, users, the village doctor's village code) from data/yingshan.yaml."""
    spec = county_mod.data()["demo_users"]
    return str(spec["password"]), list(spec["users"]), str(spec["demo_village"])


def _create_users(session: Session, facility_ids: dict[str, int]) -> None:
    password, users, village = demo_users()
    actor = Actor.system(DEMO_ACTOR)
    for u in users:
        orgunit = village if u["orgunit"] == "demo_village" else str(u["orgunit"])
        facility = u.get("facility")
        facility_id = (facility_ids[orgunit] if facility == "orgunit"
                       else facility_ids.get(facility) if facility else None)
        user_in = commands.build(accounts_service.UserCreate, {
            "username": u["username"], "password": password, "full_name": u["full_name"], "role": u["role"],
            "orgunit_code": orgunit, "facility_id": facility_id})
        accounts_service.register_user(session=session, actor=actor, user_in=user_in, demo=True)


# --- database ------------------------------------------------------------------------------------
@contextmanager
def _bulk_load(conn: Connection) -> Iterator[None]:
    """SQLite: a larger page cache while the residents' ten indexes grow (for 100,000 residents it cut
    the system time from 4 s to 1 s); the connection's own setting comes back afterwards."""
    if conn.dialect.name != "sqlite":
        yield
        return
    before = conn.exec_driver_sql("PRAGMA cache_size").scalar()
    conn.exec_driver_sql(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
    try:
        yield
    finally:
        conn.exec_driver_sql(f"PRAGMA cache_size={int(before)}")


def _next_id(conn: Connection, model: type[Any]) -> int:
    return (conn.scalar(select(func.max(model.id))) or 0) + 1


def _sync_sequences(conn: Connection) -> None:
    """PostgreSQL: move the id sequences past the ids written here, so later inserts do not collide."""
    if conn.dialect.name != "postgresql":
        return
    for table in ("facilities", "facility_capacity", "households", "residents"):
        conn.execute(text(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {table}), false)"
        ))
