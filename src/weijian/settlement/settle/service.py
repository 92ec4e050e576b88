"""Settling real stays: an inpatient (or day-surgery) encounter's bill is split by the cascade under the
person's policy and group and stored with the year's accumulations; reversal (冲销) and re-settlement of
the later stays; the year's pending stays settled in one batch (the reads: settle.queries).

Rules decided here:
- The policy is chosen by the resident's insurance scheme and the discharge date. A resident with scheme
  `none` is settled as self-pay (policy_id "self-pay": the patient pays the whole bill; the year's
  accumulations do not move). An insured resident whose scheme has no policy in force on that date is NOT
  billed as self-pay: the stay is refused (InvalidState `no_policy`) and stays pending, listed with that
  reason on the settlement desk (`pending_stays`), until a policy file for the scheme and date is loaded.
- Facility level of the stay: from the facility's type (village clinic, township or community centre →
  township; county hospitals → county), a stay outside the county → city; a facility of another type is
  placed by its grade (一级/二级/三级), and without one the stay is refused, naming the facility.
- The resident's group whose terms favour them most applies (engine.benefit_group).
- Within a person's year the settlements run in settlement order (`seq`), the order they were settled in;
  the accumulations of a new settlement are those of the person's year row (SettlementYear), which is the
  optimistic lock two simultaneous settlements of one person collide on (Conflict for the later one).
- Each settlement stores the terms it ran on (issue 15 item 9): the policy's text as it stood (a
  `settlement_terms` row named by its digest, shared by every settlement on the same text) and the group's
  and level's terms that applied (`applied_terms`). A new settlement runs on the policy file in force; a
  re-settlement runs on the terms the stay was settled with, read back from that row, so editing a policy
  file later changes new settlements only (a row from before migration 0013 has no stored terms and is
  re-settled on the file of its policy_id).
- Reversal marks the settlement `reversed` and settles the later live stays of the year again from the
  accumulations it started from — what the earlier settlements consumed of the year's deductibles and caps,
  each under its own terms — each later stay under its own stored terms and group; their old rows are
  marked `superseded` and new rows (same `seq`, `replaces_id`) written. The reversed row and the superseded
  ones get `reversed_on` (today): the figures book them negative in that month and leave the months they
  were settled in as they were closed (settlement.counts). The reversed stay becomes pending again and may
  be settled anew (it then comes last in the year's order).
- Who: `settlement:write` settles and reverses, `settlement:read` reads; the resident must live inside the
  actor's org-unit scope, or the stay be at the actor's own facility (basis "own_facility").
Everything is validated before anything is written: a refused settlement stores nothing.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from weijian.accounts import service as accounts_service
from weijian.care.models import Encounter
from weijian.core import clock, tallies
from weijian.core.actor import Actor
from weijian.core.errors import Conflict, DomainError, FieldError, InvalidInput, InvalidState, NotFound
from weijian.orgunits import service as orgunits_service
from weijian.residents import access
from weijian.residents.models import Resident, ResidentGroup
from weijian.settlement.models import ZERO, Settlement, SettlementTerms, SettlementYear
from weijian.settlement.paylater import queries as paylater_queries
from weijian.settlement.paylater import service as paylater
from weijian.settlement.settle import engine
from weijian.settlement.settle.engine import Accumulations
from weijian.settlement.settle.queries import (
    ACC_FIELDS,
    SELF_PAY,
    STAY_TYPES,
    pending_statement,
    settlement_in_scope,
    stay_in_scope,
    stay_level,
)
from weijian.settlement.settle.rules import (
    SCHEMES,
    Policy,
    bundled_policies,
    canonical_json,
    get_policy,
    policy_from_snapshot,
    policy_snapshot,
    select_policy,
)
from weijian.settlement.settle.schemas import PendingIn, ReverseIn, SettleIn

# Engine field paths → the encounter's fields, so a refusal names what the user can correct.
_FIELD = {"stay.total": "total_cost", "stay.in_policy": "in_policy_cost", "stay.level": "facility_id",
          "stay.date": "end_date", "stay.downward_referral": "referral_id"}
_E = "settlement.settle.errors."


# --- the stay as the settlement sees it -------------------------------------------------------------
@dataclass(frozen=True)
class StayFacts:
    encounter_id: int
    resident_id: int
    facility_id: int | None
    village_code: str
    scheme: str
    groups: tuple[str, ...]
    day: date  # discharge
    level: str
    total: Decimal
    in_policy: Decimal
    downward_referral: bool
    referred: bool = False  # admitted on a referral (规范转诊), up or down

    @property
    def in_county(self) -> bool:
        return self.facility_id is not None


@dataclass(frozen=True)
class Outcome:
    """One stay settled in memory: the parts and the accumulations before and after."""

    policy_id: str
    benefit_group: str | None
    parts: dict[str, Decimal]
    before: Accumulations
    after: Accumulations
    policy: Policy | None = None  # the terms it ran on; None: self-pay


def _policy_for(scheme: str, day: date) -> Policy | None:
    if scheme not in SCHEMES:
        return None
    try:
        return select_policy(bundled_policies(), scheme, day)
    except NotFound:
        return None


def _check_amounts(facts: StayFacts) -> None:
    errors = []
    if facts.total < 0:
        errors.append(FieldError("total_cost", "settlement.errors.negative"))
    if facts.in_policy < 0:
        errors.append(FieldError("in_policy_cost", "settlement.errors.negative"))
    elif facts.in_policy > facts.total:
        errors.append(FieldError("in_policy_cost", "settlement.errors.in_policy_above_total"))
    if errors:
        raise InvalidInput(errors=errors)


def compute(facts: StayFacts, acc: Accumulations, *,
            terms: tuple[Policy | None, str | None] | None = None) -> Outcome:
    """Settle one stay in memory on top of `acc`. The policy is chosen by scheme and date, the group by
    engine.benefit_group, unless `terms` = (policy or None for self-pay, group code) fixes them
    (re-settlement keeps the terms a stay was settled with)."""
    _check_amounts(facts)
    if acc.year is None:
        acc = replace(acc, year=facts.day.year)
    policy = _policy_for(facts.scheme, facts.day) if terms is None else terms[0]
    if policy is None and terms is None and facts.scheme in SCHEMES:
        # Insured, but no policy file covers the scheme on this date: pending, never silently self-pay.
        raise InvalidState(_E + "no_policy", scheme=f"@settlement.settle.schemes.{facts.scheme}",
                           date=facts.day.isoformat())
    if policy is None:
        parts = {name: ZERO for name in engine.PARTS} | {
            "total": facts.total, "in_policy": facts.in_policy, "out_of_policy": facts.total - facts.in_policy,
            "patient_pays": facts.total}
        return Outcome(SELF_PAY, None, parts, acc, replace(acc, stays=acc.stays + 1), None)
    code = engine.benefit_group(policy, facts.groups) if terms is None else terms[1]
    stay = engine.Stay(date=facts.day, level=facts.level, total=facts.total, in_policy=facts.in_policy,
                       downward_referral=facts.downward_referral, in_county=facts.in_county, referred=facts.referred)
    try:
        split, after = engine.settle_stay(policy, code, stay, acc)
    except InvalidInput as exc:
        raise InvalidInput(errors=[replace(e, field=_FIELD.get(e.field, e.field)) for e in exc.errors]) from None
    parts = {"total": split.total, "in_policy": stay.in_policy, **{k: getattr(split, k) for k in engine.PARTS}}
    return Outcome(policy.id, code, parts, split.before, after, policy)


# --- the terms a settlement keeps ----------------------------------------------------------------------
class TermsBook:
    """The `settlement_terms` row of each policy a run settles on (made the first time a policy text is
    used, then shared) and the canonical JSON of the group's and level's terms that applied, each worked out
    once per run."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._ids: dict[int, tuple[Policy, int]] = {}  # id(policy) → (policy, its terms row): kept alive
        self._applied: dict[tuple[int, str | None, str], str] = {}

    def terms_id(self, policy: Policy) -> int:
        known = self._ids.get(id(policy))
        if known is not None and known[0] is policy:
            return known[1]
        text, digest = policy_snapshot(policy)
        t = SettlementTerms.__table__
        # No flush here: the run's year rows are flushed where their version conflict is reported.
        with self.session.no_autoflush:
            found = self.session.scalar(select(t.c.id).where(t.c.digest == digest))
            if found is None:
                # Another window may store the same text meanwhile (the digest is unique): keep theirs.
                dialect_insert = pg_insert if self.session.get_bind().dialect.name == "postgresql" else sqlite_insert
                self.session.execute(dialect_insert(t).values(
                    digest=digest, policy_id=policy.id, snapshot=text, created_at=clock.now(),
                ).on_conflict_do_nothing(index_elements=["digest"]))
                found = self.session.scalar(select(t.c.id).where(t.c.digest == digest))
        assert found is not None
        self._ids[id(policy)] = (policy, found)
        return found

    def values(self, out: Outcome, level: str) -> dict[str, Any]:
        """The settlement's terms columns for an outcome settled at `level`."""
        if out.policy is None:
            return {"terms_id": None, "applied_terms": None}
        key = (id(out.policy), out.benefit_group, level)
        tid = self.terms_id(out.policy)
        if key not in self._applied:
            self._applied[key] = canonical_json(engine.terms_data(out.policy, out.benefit_group, level))
        return {"terms_id": tid, "applied_terms": self._applied[key]}


@lru_cache(maxsize=64)
def _policy_of_text(digest: str, text: str) -> Policy:
    return policy_from_snapshot(text, digest=digest)


def stored_policy(session: Session, s: Settlement) -> Policy | None:
    """The policy a settlement ran on: its stored terms; for a row settled before they were stored
    (migration 0013), the bundled file of its policy_id; None for a self-pay stay."""
    if s.terms_id is not None:
        row = session.get(SettlementTerms, s.terms_id)
        if row is None:  # a foreign key holds it: absent only if tampered with
            raise InvalidState("settlement.errors.splits_not_chained")
        return _policy_of_text(row.digest, row.snapshot)
    if s.policy_id == SELF_PAY:
        return None
    return get_policy(s.policy_id)


def _acc(row: SettlementYear | None, year: int) -> Accumulations:
    if row is None:
        return Accumulations(year=year)
    return Accumulations(year=year, stays=row.stays, **{k: getattr(row, k) for k in ACC_FIELDS})


def _settlement_values(facts: StayFacts, out: Outcome, *, seq: int, settled_on: date, actor: Actor,
                       pay_later: bool, terms: dict[str, Any], replaces_id: int | None = None) -> dict[str, Any]:
    values: dict[str, Any] = dict(
        encounter_id=facts.encounter_id, resident_id=facts.resident_id, facility_id=facts.facility_id,
        village_code=facts.village_code, in_county=facts.in_county, policy_id=out.policy_id, scheme=facts.scheme,
        benefit_group=out.benefit_group, year=facts.day.year, seq=seq, stay_date=facts.day, settled_on=settled_on,
        level=facts.level, downward_referral=facts.downward_referral, referred=facts.referred, pay_later=pay_later,
        status="settled",
        replaces_id=replaces_id, settled_at=clock.now(), settled_by=actor.username, **terms)
    values.update(out.parts)
    for name in ACC_FIELDS:
        values[f"before_{name}"] = getattr(out.before, name)
        values[f"after_{name}"] = getattr(out.after, name)
    return values


def _store_year(row: SettlementYear, after: Accumulations, *, stays: int, last_seq: int) -> None:
    for name in ACC_FIELDS:
        setattr(row, name, getattr(after, name))
    row.stays, row.last_seq = stays, last_seq


def _flush_or_conflict(session: Session) -> None:
    """Flush; two settlements of one person's year at once collide on their year row (the version, or
    the unique (resident, year) when both create it): the later one is told to try again."""
    try:
        session.flush()
    except (StaleDataError, IntegrityError):
        raise Conflict(_E + "concurrent") from None


def _facts(row: Any, groups: tuple[str, ...], facilities: dict[int, Any]) -> StayFacts:
    facility = facilities.get(row.facility_id) if row.facility_id is not None else None
    return StayFacts(
        encounter_id=row.id, resident_id=row.resident_id, facility_id=row.facility_id,
        village_code=row.village_code, scheme=row.insurance_scheme or "none", groups=groups, day=row.end_date,
        level=stay_level(facility), total=row.total_cost, in_policy=row.in_policy_cost,
        downward_referral=row.direction == "down", referred=row.direction is not None)


# --- settle one stay ---------------------------------------------------------------------------------
def settle_encounter(*, session: Session, actor: Actor, settle_in: SettleIn, today: date | None = None) -> Settlement:
    """Settle one discharged stay under the person's policy and group, on top of their year so far; the
    settlement, its accumulations and (for a pay-later stay) the balance are written and audited."""
    actor.require("settlement:write")
    row, basis = stay_in_scope(session, actor, settle_in.encounter_id)
    if row.type not in STAY_TYPES:
        raise InvalidState(_E + "not_a_stay")
    if row.end_date is None:
        raise InvalidState(_E + "not_discharged")
    if session.scalar(select(Encounter.voided_at).where(Encounter.id == row.id)) is not None:
        raise InvalidState(_E + "stay_voided")  # recorded in error (care.records.void_entry): nothing to bill
    if session.scalar(select(Settlement.id).where(Settlement.encounter_id == row.id, Settlement.status == "settled")):
        raise Conflict(_E + "already_settled")
    groups = tuple(session.scalars(select(ResidentGroup.group).where(ResidentGroup.resident_id == row.resident_id)))
    facility = orgunits_service.get_facility(session=session, facility_id=row.facility_id) if row.facility_id else None
    facts = _facts(row, groups, {facility.id: facility} if facility else {})
    year = facts.day.year
    year_row = session.scalar(select(SettlementYear).where(SettlementYear.resident_id == facts.resident_id,
                                                           SettlementYear.year == year))
    out = compute(facts, _acc(year_row, year))
    waiver = paylater_queries.waiver_for(session=session, encounter_id=facts.encounter_id)

    # Nothing was written above: a refused stay leaves no trace but the refusal.
    if year_row is None:
        year_row = SettlementYear(resident_id=facts.resident_id, year=year, stays=0, last_seq=0,
                                  **{k: ZERO for k in ACC_FIELDS})
        session.add(year_row)
    seq = year_row.last_seq + 1
    terms = TermsBook(session).values(out, facts.level)
    settlement = Settlement(**_settlement_values(facts, out, seq=seq, settled_on=today or clock.today(), actor=actor,
                                                 pay_later=waiver is not None, terms=terms))
    session.add(settlement)
    _store_year(year_row, out.after, stays=year_row.stays + 1, last_seq=seq)
    _flush_or_conflict(session)
    if waiver is not None:
        paylater.open_balance(session=session, settlement=settlement)
    accounts_service.audit(session=session, actor=actor, action="settle", entity_type="settlement",
                           entity_id=settlement.id, resident_id=facts.resident_id, basis=basis,
                           detail=_audit_detail(settlement))
    return settlement


def _audit_detail(s: Settlement) -> dict[str, Any]:
    return {"encounter_id": s.encounter_id, "policy_id": s.policy_id, "year": s.year, "seq": s.seq,
            "total": str(s.total), "patient_pays": str(s.patient_pays), "replaces_id": s.replaces_id}


def try_settle_at_discharge(*, session: Session, encounter: Any, actor: Actor) -> Settlement | None:
    """The discharge hook: settle the stay in the discharge's transaction when the actor may settle. A
    stay the settlement refuses (its facility has no policy level, say) is still discharged and stays
    pending, to be settled from the stay page where the reason is shown; nothing of it is stored."""
    if not actor.can("settlement:write") or encounter.type not in STAY_TYPES:
        return None
    try:
        return settle_encounter(session=session, actor=actor, settle_in=SettleIn(encounter_id=encounter.id))
    except (InvalidInput, InvalidState, NotFound):
        return None


# --- reversal ----------------------------------------------------------------------------------------
@dataclass
class Reversal:
    reversed: Settlement
    resettled: list[Settlement] = field(default_factory=list)  # the later stays' new settlements


def facts_of(s: Settlement, scheme: str | None = None) -> StayFacts:
    """The stay as a stored settlement saw it (the bill, level and flags it was settled on)."""
    return StayFacts(encounter_id=s.encounter_id, resident_id=s.resident_id, facility_id=s.facility_id,
                     village_code=s.village_code, scheme=scheme or s.scheme, groups=(), day=s.stay_date,
                     level=s.level, total=s.total, in_policy=s.in_policy, downward_referral=s.downward_referral,
                     referred=s.referred)


def reverse(*, session: Session, actor: Actor, settlement_id: int, reverse_in: ReverseIn,
            today: date | None = None) -> Reversal:
    """冲销: reverse a live settlement with a reason; the person's later stays of that year are settled
    again from the accumulations the reversed one started from, so the year stands as if it had never
    been settled. Its balance (pay-later) is cancelled; the later stays' balances follow their new rows."""
    actor.require("settlement:write")
    text = reverse_in.reason
    target, basis = settlement_in_scope(session, actor, settlement_id)
    if target.status != "settled":
        raise InvalidState(_E + "not_live", status=f"@settlement.settle.status.{target.status}")
    year_row = session.scalar(select(SettlementYear).where(SettlementYear.resident_id == target.resident_id,
                                                           SettlementYear.year == target.year))
    later = list(session.scalars(select(Settlement).where(
        Settlement.resident_id == target.resident_id, Settlement.year == target.year,
        Settlement.status == "settled", Settlement.seq > target.seq).order_by(Settlement.seq)))
    acc = Accumulations(year=target.year, stays=max(0, (year_row.stays if year_row else 1) - 1 - len(later)),
                        **{k: getattr(target, f"before_{k}") for k in ACC_FIELDS})
    outcomes = []
    for old in later:  # each on its own stored terms, from what the stays before it consumed of the year
        policy = stored_policy(session, old)
        outcomes.append(out := compute(facts_of(old), acc, terms=(policy, old.benefit_group)))
        acc = out.after
    book = TermsBook(session)

    now, on = clock.now(), today or clock.today()
    target.status, target.reversal_reason = "reversed", text
    target.reversed_at, target.reversed_by, target.reversed_on = now, actor.username, on
    paylater.cancel_balance(session=session, settlement=target)
    result = Reversal(reversed=target)
    for old, out in zip(later, outcomes, strict=True):
        old.status, old.reversed_on = "superseded", on
        new = Settlement(**_settlement_values(facts_of(old), out, seq=old.seq, settled_on=on, actor=actor,
                                              pay_later=old.pay_later, terms=book.values(out, old.level),
                                              replaces_id=old.id))
        new.scheme = old.scheme
        session.add(new)
        result.resettled.append(new)
    if year_row is None:  # a year row is written with the first settlement; absent only if tampered with
        raise InvalidState("settlement.errors.splits_not_chained")
    _store_year(year_row, acc, stays=max(0, year_row.stays - 1), last_seq=year_row.last_seq)
    _flush_or_conflict(session)
    for old, new in zip(later, result.resettled, strict=True):
        paylater.move_balance(session=session, old=old, new=new)
    accounts_service.audit(session=session, actor=actor, action="reverse", entity_type="settlement",
                           entity_id=target.id, resident_id=target.resident_id, basis=basis,
                           detail={"reason": text, "resettled": [n.id for n in result.resettled]})
    for new in result.resettled:
        accounts_service.audit(session=session, actor=actor, action="resettle", entity_type="settlement",
                               entity_id=new.id, resident_id=new.resident_id, basis=basis, detail=_audit_detail(new))
    return result


def _chunks(ids: list[int], size: int = 5000) -> list[list[int]]:
    """`ids` in lists of at most `size` (bound parameters of one IN: SQLite allows 32,766)."""
    return [ids[i:i + size] for i in range(0, len(ids), size)]


# --- the year's pending stays, in one batch (settle.queries.pending_statement) ------------------------
def settle_pending(*, session: Session, actor: Actor, pending_in: PendingIn, settled_on: date | None = None,
                   on_discharge_date: bool = False) -> int:
    """Settle every discharged, unsettled stay of the command's `year` in the actor's scope (of one village when
    given), person by person in discharge order; returns how many were settled. A stay the settlement
    refuses is skipped (it stays pending, and settling it alone shows why). `settled_on` is the day of
    settlement (default today); `on_discharge_date` dates each settlement on its discharge instead, for
    loading a backlog (demo data) whose spending should fall in the months the stays ended."""
    actor.require("settlement:write")
    year = pending_in.year
    stmt = pending_statement(actor=actor, year=year, village_code=pending_in.village_code)
    rows = session.execute(stmt.order_by(Encounter.resident_id, Encounter.end_date, Encounter.id)).all()
    if not rows:
        return 0
    # The rows are in hand: their groups, year rows and waivers are looked up by the ids themselves, in
    # chunks, not by the pending statement again as a subquery, whose plan depends on fresh statistics
    # (on tables a bulk load has just filled, PostgreSQL chose a nested loop that ran for 20 minutes).
    people = sorted({row.resident_id for row in rows})
    groups: dict[int, list[str]] = defaultdict(list)
    years: dict[int, SettlementYear] = {}
    waived: set[int] = set()
    for part in _chunks(people):
        for rid, code in session.execute(select(ResidentGroup.resident_id, ResidentGroup.group)
                                         .where(ResidentGroup.resident_id.in_(part))):
            groups[rid].append(code)
        years.update((r.resident_id, r) for r in session.scalars(
            select(SettlementYear).where(SettlementYear.year == year, SettlementYear.resident_id.in_(part))))
    for part in _chunks([row.id for row in rows]):
        waived |= paylater_queries.waived_encounters(session=session, encounter_ids=part)
    facilities = {f.id: f for f in orgunits_service.list_facilities(session=session)}
    day = settled_on or clock.today()
    book = TermsBook(session)

    new_rows: list[dict[str, Any]] = []
    new_years: list[dict[str, Any]] = []
    audits: list[tuple[int, str]] = []  # (resident_id, basis) in the order of new_rows
    by_person: dict[int, list[Any]] = defaultdict(list)
    for row in rows:
        by_person[row.resident_id].append(row)
    for rid, stays in by_person.items():
        year_row = years.get(rid)
        acc = _acc(year_row, year)
        seq = year_row.last_seq if year_row else 0
        count = year_row.stays if year_row else 0
        settled_any = False
        for row in stays:
            try:
                facts = _facts(row, tuple(groups.get(rid, ())), facilities)
                out = compute(facts, acc)
            except DomainError:
                continue
            seq, count, acc, settled_any = seq + 1, count + 1, out.after, True
            new_rows.append(_settlement_values(facts, out, seq=seq, actor=actor, pay_later=row.id in waived,
                                               settled_on=row.end_date if on_discharge_date else day,
                                               terms=book.values(out, facts.level)))
            audits.append((rid, access.basis_for(actor, row.village_code, facility_id=row.facility_id) or "system"))
        if not settled_any:
            continue
        if year_row is None:
            new_years.append(dict(resident_id=rid, year=year, stays=count, last_seq=seq, version=1,
                                  **{name: getattr(acc, name) for name in ACC_FIELDS}))
        else:
            _store_year(year_row, acc, stays=count, last_seq=seq)
    if not new_rows:
        return 0
    _flush_or_conflict(session)  # the year rows that existed: their version is the lock
    # New rows as plain executemany (ORM objects and INSERT ... RETURNING per row cost more than the
    # settling itself); a year row another window created meanwhile breaks the unique (resident, year).
    try:
        with session.begin_nested():
            session.execute(insert(SettlementYear.__table__), new_years) if new_years else None
    except IntegrityError:
        raise Conflict(_E + "concurrent") from None
    settled_people = {v["resident_id"] for v in new_rows}
    before = tallies.count_people(session, settled_people, ["settle"])  # written outside the ORM: counted here
    session.execute(insert(Settlement.__table__), new_rows)
    tallies.apply_for(session, settled_people, before, ["settle"])
    ids = _live_ids(session, [v["encounter_id"] for v in new_rows])
    paylater.open_balances(session=session, settlements=[
        (sid, values) for sid, values in zip(ids, new_rows, strict=True) if values["pay_later"]])
    accounts_service.audit_many(session=session, actor=actor, action="settle", entity_type="settlement", events=[
        (sid, rid, basis, {"encounter_id": v["encounter_id"], "policy_id": v["policy_id"], "year": year,
                           "seq": v["seq"], "total": str(v["total"]), "patient_pays": str(v["patient_pays"]),
                           "batch": True})
        for sid, (rid, basis), v in zip(ids, audits, new_rows, strict=True)])
    return len(ids)


# --- the settlement desk: the year's pending stays and why each is pending -------------------------------
@dataclass(frozen=True)
class PendingStay:
    encounter_id: int
    resident_id: int
    resident_name: str
    village_code: str
    facility_id: int | None
    scheme: str
    end_date: date
    total: Decimal
    reason_key: str | None  # why settling it is refused (an i18n key); None: it can be settled now
    reason_params: dict[str, Any] = field(default_factory=dict)


def pending_stays(*, session: Session, actor: Actor, pending_in: PendingIn) -> list[PendingStay]:
    """The discharged, unsettled stays of the command's year in the actor's scope, each with the reason the
    settlement refuses it (no policy in force for its scheme and date, a facility without a level, a bad
    bill) worked out as settling the year would, person by person in discharge order; logged as one read."""
    actor.require("settlement:read")
    stmt = pending_statement(actor=actor, year=pending_in.year, village_code=pending_in.village_code)
    rows = session.execute(stmt.add_columns(Resident.name)
                           .order_by(Encounter.resident_id, Encounter.end_date, Encounter.id)).all()
    groups: dict[int, list[str]] = defaultdict(list)
    years: dict[int, SettlementYear] = {}
    if rows:
        people = stmt.with_only_columns(Encounter.resident_id).distinct().subquery()
        for rid, code in session.execute(select(ResidentGroup.resident_id, ResidentGroup.group)
                                         .where(ResidentGroup.resident_id.in_(select(people.c.resident_id)))):
            groups[rid].append(code)
        years = {r.resident_id: r for r in session.scalars(
            select(SettlementYear).where(SettlementYear.year == pending_in.year,
                                         SettlementYear.resident_id.in_(select(people.c.resident_id))))}
    facilities = {f.id: f for f in orgunits_service.list_facilities(session=session)}
    out: list[PendingStay] = []
    acc_by_person: dict[int, Accumulations] = {}
    for row in rows:
        rid = row.resident_id
        acc = acc_by_person.get(rid) or _acc(years.get(rid), pending_in.year)
        key: str | None = None
        params: dict[str, Any] = {}
        try:
            facts = _facts(row, tuple(groups.get(rid, ())), facilities)
            acc_by_person[rid] = compute(facts, acc).after
        except DomainError as exc:
            first = exc.errors[0] if isinstance(exc, InvalidInput) and exc.errors else None
            key, params = (first.reason_key, dict(first.params)) if first else (exc.message_key, dict(exc.params))
        out.append(PendingStay(encounter_id=row.id, resident_id=rid, resident_name=row.name,
                               village_code=row.village_code, facility_id=row.facility_id,
                               scheme=row.insurance_scheme or "none", end_date=row.end_date, total=row.total_cost,
                               reason_key=key, reason_params=params))
    accounts_service.audit(session=session, actor=actor, action="read", entity_type="settlement",
                           basis=access.scope_basis(actor),
                           detail={"pending_year": pending_in.year, "count": len(out)},
                           shown=sorted({p.resident_id for p in out}))
    return out


def _live_ids(session: Session, encounter_ids: list[int], chunk: int = 900) -> list[int]:
    """The ids of the live settlements of `encounter_ids`, in that order (one live settlement a stay)."""
    found: dict[int, int] = {}
    for start in range(0, len(encounter_ids), chunk):
        part = encounter_ids[start:start + chunk]
        found.update((eid, sid) for sid, eid in session.execute(
            select(Settlement.id, Settlement.encounter_id)
            .where(Settlement.encounter_id.in_(part), Settlement.status == "settled")))
    return [found[eid] for eid in encounter_ids]
