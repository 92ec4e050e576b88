"""Writes of voluntary blood donation: registering a donor (a resident in the actor's scope, or a person from
outside the county) and recording a donation, checked against GB 18467-2011 as data/blood.yaml gives it —
the volume or units allowed for the kind, the donor's age on the day (18–55, a repeat donor without an
adverse reaction to 60), the intervals after and before the person's other donations, and the apheresis
donations of the calendar year. Every refusal names its field; nothing is written. The merge mover (this
area's part of a resident merge) is at the end; the composition root registers it.

What other modules use of this area is importable from here (`get_donor`, `list_donors`, `recall`)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from weijian.accounts import service as accounts_service
from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.errors import ErrorCollector, InvalidInput
from weijian.core.identifiers import parse_id_number
from weijian.ledgers.blood import rules
from weijian.ledgers.blood.models import BloodDonation, BloodDonor
from weijian.ledgers.blood.queries import (
    DonorSummary,
    donor_in_scope,
    get_donor,
    history,
    list_donors,
    next_allowed,
    recall,
)
from weijian.ledgers.blood.schemas import DonationCreate, DonorCreate
from weijian.residents import access
from weijian.residents import service as residents_service

_E = "ledgers.blood.errors."
_MISSING = "core.errors.validation.missing"


def register_donor(*, session: Session, donor_in: DonorCreate, actor: Actor,
                   today: dt.date | None = None) -> BloodDonor:
    """Register a donor. With `resident_id`: the resident must be in the actor's scope (NotFound otherwise)
    and not registered already, nor dead or moved away (`resident_id`); name, sex and birth date come from the
    record. Without it
    (from outside the county, county-level users only: `resident_id`): name and sex and birth date, or an
    identity number they are read from (refused naming `id_number` when it is no valid number or
    contradicts them); a birth date in the future."""
    actor.require("ledger:write")
    today = today or clock.today()
    cmd = donor_in
    errs = ErrorCollector()
    if cmd.resident_id is not None:
        resident, basis = access.resident_in_scope(session=session, actor=actor, resident_id=cmd.resident_id)
        if resident.status != "active":
            errs.add("resident_id", _E + "resident_inactive", status=f"@residents.status.{resident.status}")
        elif session.scalar(select(BloodDonor.id).where(BloodDonor.resident_id == resident.id)) is not None:
            errs.add("resident_id", _E + "already_donor", resident_id=resident.id)
        errs.raise_if_any()
        donor = BloodDonor(resident_id=resident.id, name=resident.name, id_number=resident.id_number,
                           sex=resident.sex, birth_date=resident.birth_date, phone=cmd.phone or resident.phone,
                           blood_group=cmd.blood_group, note=cmd.note, recorded_by=actor.username)
    else:
        if actor.scope_code is not None and access.scope_basis(actor) != "county":
            errs.add("resident_id", _E + "outside_needs_county")
        sex, birth = cmd.sex, cmd.birth_date
        number = None
        if cmd.id_number is not None:
            try:
                parsed = parse_id_number(cmd.id_number, field="id_number", today=today)
            except InvalidInput as exc:
                errs.extend(exc)
            else:
                number = parsed.normalized
                if (sex is not None and sex != parsed.sex) or (birth is not None and birth != parsed.birth_date):
                    errs.add("id_number", _E + "id_number_disagrees")
                sex, birth = sex or parsed.sex, birth or parsed.birth_date
        if cmd.name is None:
            errs.add("name", _MISSING)
        if sex is None:
            errs.add("sex", _MISSING)
        if birth is None:
            errs.add("birth_date", _MISSING)
        elif birth > today:
            errs.add("birth_date", _E + "in_future")
        errs.raise_if_any()
        assert cmd.name is not None and sex is not None and birth is not None
        donor = BloodDonor(resident_id=None, name=cmd.name, id_number=number, sex=sex, birth_date=birth,
                           phone=cmd.phone, blood_group=cmd.blood_group, note=cmd.note, recorded_by=actor.username)
        basis = access.scope_basis(actor)
    session.add(donor)
    session.flush()
    accounts_service.audit(session=session, actor=actor, action="create", entity_type="blood_donor",
                           entity_id=donor.id, resident_id=donor.resident_id, basis=basis)
    return donor


def check_donation(donor: BloodDonor, previous: list[BloodDonation], cmd: DonationCreate, today: dt.date,
                   errs: ErrorCollector) -> None:
    """The checks of one donation against the data file and the person's other donations (`previous`)."""
    r = rules.rules()
    for name in ("donated_on", "kind"):
        if getattr(cmd, name) is None:
            errs.add(name, _MISSING)
    kind = r.kinds.get(cmd.kind) if cmd.kind is not None else None
    if cmd.kind is not None and kind is None:
        errs.add("kind", _E + "kind_unknown", value=cmd.kind, known=", ".join(r.kinds))
    if cmd.kind == "whole_blood":
        allowed = ", ".join(str(v) for v in r.kinds["whole_blood"].volumes_ml)
        if cmd.volume_ml is None:
            errs.add("volume_ml", _MISSING)
        elif cmd.volume_ml not in r.kinds["whole_blood"].volumes_ml:
            errs.add("volume_ml", _E + "volume_not_allowed", value=cmd.volume_ml, allowed=allowed)
        if cmd.units is not None:
            errs.add("units", _E + "units_for_platelets")
    elif cmd.kind == "platelets":
        allowed = ", ".join(str(v) for v in r.kinds["platelets"].units)
        if cmd.units is None:
            errs.add("units", _MISSING)
        elif cmd.units not in r.kinds["platelets"].units:
            errs.add("units", _E + "units_not_allowed", value=cmd.units, allowed=allowed)
        if cmd.volume_ml is not None:
            errs.add("volume_ml", _E + "volume_for_whole_blood")
    day = cmd.donated_on
    if day is None or kind is None or cmd.kind is None:
        return
    if day > today:
        errs.add("donated_on", _E + "in_future")
        return
    before = [d for d in previous if d.donated_on <= day]
    after = [d for d in previous if d.donated_on > day]
    # Age: completed years that day; a repeat donor (a donation before, none with a reaction) to repeat_max.
    age = rules.age_on(donor.birth_date, day)
    repeat = bool(before) and not any(d.adverse_reaction for d in before)
    top = r.age.repeat_max if repeat else r.age.max
    if age < r.age.min:
        errs.add("donated_on", _E + "age_below", age=age, min=r.age.min)
    elif age > top:
        key = "age_above_repeat" if repeat else ("age_above_first" if not before else "age_above_reaction")
        errs.add("donated_on", _E + key, age=age, max=r.age.max, repeat_max=r.age.repeat_max)
    # Intervals: after each earlier donation, and before each later one already recorded.
    earliest = next_allowed(before, cmd.kind)
    if earliest is not None and day < earliest:
        last = max(before, key=lambda d: (d.donated_on, d.id))
        errs.add("donated_on", _E + "too_soon", earliest=earliest, last=last.donated_on,
                 last_kind=f"@ledgers.blood.kinds.{last.kind}")
    for later in after:
        if later.donated_on < rules.earliest_next(cmd.kind, day, later.kind):
            errs.add("donated_on", _E + "too_close_to_later", later=later.donated_on,
                     later_kind=f"@ledgers.blood.kinds.{later.kind}")
            break
    if cmd.kind == "platelets" and kind.max_per_year is not None:
        same_year = sum(1 for d in previous if d.kind == "platelets" and d.donated_on.year == day.year)
        if same_year >= kind.max_per_year:
            errs.add("donated_on", _E + "platelets_year_full", count=same_year, max=kind.max_per_year,
                     year=day.year)


def record_donation(*, session: Session, donor_id: int, donation_in: DonationCreate, actor: Actor,
                    today: dt.date | None = None) -> BloodDonation:
    """Record a donation of a donor in the scope (NotFound otherwise). Refused, naming the field: the day or
    kind missing or unknown; a whole-blood volume not 200, 300 or 400 ml (`volume_ml`); platelet units not 1
    or 2 (`units`); a day in the future; the donor under 18 or over the age limit that day, or too soon
    after (or too close before) another donation of the person, or the year's 24th apheresis reached
    (`donated_on`)."""
    actor.require("ledger:write")
    today = today or clock.today()
    donor, basis = donor_in_scope(session=session, actor=actor, donor_id=donor_id, for_update=True)
    errs = ErrorCollector()
    check_donation(donor, history(session, donor), donation_in, today, errs)
    errs.raise_if_any()
    cmd = donation_in
    row = BloodDonation(donor_id=donor.id, donated_on=cmd.donated_on, kind=cmd.kind, volume_ml=cmd.volume_ml,
                        units=cmd.units, adverse_reaction=cmd.adverse_reaction, site=cmd.site,
                        recorded_by=actor.username)
    session.add(row)
    session.flush()
    accounts_service.audit(session=session, actor=actor, action="create", entity_type="blood_donation",
                           entity_id=row.id, resident_id=donor.resident_id, basis=basis,
                           detail={"donor_id": donor.id, "kind": row.kind})
    return row


def _move(ctx: residents_service.MergeContext) -> list[residents_service.Moved]:
    return residents_service.reassign(ctx, BloodDonor, "blood_donor")


# A merged resident's donor rows go to the survivor (residents.merging; registered by weijian.wiring). Two
# donor rows may then share a resident: `history` reads the person's donations across them.
MERGE_MOVER = residents_service.Mover(name="blood", columns=frozenset({"blood_donors.resident_id"}),
                                      classes=(BloodDonor,), move=_move)

__all__ = ["MERGE_MOVER", "DonorSummary", "check_donation", "donor_in_scope", "get_donor", "history",
           "list_donors", "next_allowed", "recall", "record_donation", "register_donor"]
