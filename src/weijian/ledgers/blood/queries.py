"""Reads of voluntary blood donation: the donors the actor may see (a resident-linked donor by the
resident's village and the actor's scope, a donor from outside the county by county-level users only),
each donor's history across the person's donor rows, the totals and honours, the first days a donation of
each kind may follow, and the recall list (donors eligible again). Every read of a donor is audited."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, false, or_, select
from sqlalchemy.orm import Session

from weijian.accounts import service as accounts_service
from weijian.core.actor import Actor
from weijian.core.errors import NotFound
from weijian.core.identifiers import division_level
from weijian.ledgers.blood import rules
from weijian.ledgers.blood.models import BloodDonation, BloodDonor
from weijian.residents import access
from weijian.residents.models import Resident

_E = "ledgers.blood.errors."
MAX_LIST = 500


def _county_level(actor: Actor) -> bool:
    return actor.scope_code is None or division_level(actor.scope_code) == "county"


def visible(actor: Actor) -> ColumnElement[bool]:
    """The donors the actor may see (with Resident outer-joined on the donor's resident)."""
    outside = BloodDonor.resident_id.is_(None) if _county_level(actor) else false()
    return or_(and_(BloodDonor.resident_id.is_not(None), access.visible(actor)), outside)


def _basis(actor: Actor, donor: BloodDonor, village_code: str | None) -> str:
    if village_code is not None:
        return access.basis_for(actor, village_code) or access.scope_basis(actor)
    return access.scope_basis(actor)


def donor_in_scope(*, session: Session, actor: Actor, donor_id: int,
                   for_update: bool = False) -> tuple[BloodDonor, str]:
    """(donor, audit basis), or NotFound exactly as for a missing donor."""
    actor.require("ledger:read")
    stmt = (select(BloodDonor, Resident.village_code).outerjoin(Resident, Resident.id == BloodDonor.resident_id)
            .where(BloodDonor.id == donor_id, visible(actor)))
    if for_update:
        stmt = stmt.with_for_update(of=BloodDonor)
    row = session.execute(stmt).first()
    if row is None:
        raise NotFound(_E + "donor_not_found", donor_id=donor_id)
    return row[0], _basis(actor, row[0], row[1])


def history(session: Session, donor: BloodDonor) -> list[BloodDonation]:
    """The person's donations in date order: of every donor row of the same resident (a merge may leave two),
    else of this donor row."""
    cond: ColumnElement[bool]
    if donor.resident_id is not None:
        ids = select(BloodDonor.id).where(BloodDonor.resident_id == donor.resident_id)
        cond = BloodDonation.donor_id.in_(ids)
    else:
        cond = BloodDonation.donor_id == donor.id
    return list(session.scalars(select(BloodDonation).where(cond)
                                .order_by(BloodDonation.donated_on, BloodDonation.id)))


def next_allowed(donations: list[BloodDonation], kind: str) -> dt.date | None:
    """The first day a donation of `kind` may be made after all of `donations` (None: no donation yet)."""
    days = [rules.earliest_next(d.kind, d.donated_on, kind) for d in donations]
    return max(days) if days else None


@dataclass(frozen=True)
class DonorSummary:
    donor: BloodDonor
    donations: list[BloodDonation]

    @property
    def whole_blood_ml(self) -> int:
        return sum(d.volume_ml or 0 for d in self.donations if d.kind == "whole_blood")

    @property
    def platelet_units(self) -> int:
        return sum(d.units or 0 for d in self.donations if d.kind == "platelets")

    @property
    def honours_count(self) -> int:
        return sum(rules.honours_count(d.kind, d.volume_ml, d.units) for d in self.donations)

    @property
    def award(self) -> rules.Award | None:
        return rules.award_for(self.honours_count)

    @property
    def last_donated_on(self) -> dt.date | None:
        return self.donations[-1].donated_on if self.donations else None

    def next_for(self, kind: str) -> dt.date | None:
        return next_allowed(self.donations, kind)

    @property
    def eligible_since(self) -> dt.date | None:
        """The first day any donation may be made again."""
        days = [d for d in (self.next_for(k) for k in rules.KINDS) if d is not None]
        return min(days) if days else None

    @property
    def repeat_extension(self) -> bool:
        """May donate to `repeat_max`: has donated before, never with an adverse reaction."""
        return bool(self.donations) and not any(d.adverse_reaction for d in self.donations)

    def age_allowed(self, day: dt.date) -> bool:
        limits = rules.rules().age
        age = rules.age_on(self.donor.birth_date, day)
        return limits.min <= age <= (limits.repeat_max if self.repeat_extension else limits.max)


def get_donor(*, session: Session, actor: Actor, donor_id: int) -> DonorSummary:
    """One donor with the person's history; audited `read` with its basis."""
    donor, basis = donor_in_scope(session=session, actor=actor, donor_id=donor_id)
    summary = DonorSummary(donor, history(session, donor))
    accounts_service.audit(session=session, actor=actor, action="read", entity_type="blood_donor",
                           entity_id=donor.id, resident_id=donor.resident_id, basis=basis)
    return summary


def _summaries(session: Session, donors: list[BloodDonor]) -> list[DonorSummary]:
    by_person: dict[tuple[str, int], list[BloodDonation]] = {}
    ids = [d.id for d in donors]
    person = {d.id: ("r", d.resident_id) if d.resident_id is not None else ("d", d.id) for d in donors}
    for i in range(0, len(ids), 500):
        for don in session.scalars(select(BloodDonation).where(BloodDonation.donor_id.in_(ids[i:i + 500]))
                                   .order_by(BloodDonation.donated_on, BloodDonation.id)):
            by_person.setdefault(person[don.donor_id], []).append(don)
    out = []
    for d in donors:
        donations = sorted(by_person.get(person[d.id], []), key=lambda x: (x.donated_on, x.id))
        out.append(DonorSummary(d, donations))
    return out


def list_donors(*, session: Session, actor: Actor, name: str | None = None) -> list[DonorSummary]:
    """The donors the actor may see (a name prefix narrows them), newest first; audited `list` with the
    residents shown."""
    actor.require("ledger:read")
    stmt = select(BloodDonor).outerjoin(Resident, Resident.id == BloodDonor.resident_id).where(visible(actor))
    if name:
        stmt = stmt.where(BloodDonor.name.startswith(name, autoescape=True))
    donors = list(session.scalars(stmt.order_by(BloodDonor.id.desc()).limit(MAX_LIST)))
    items = _summaries(session, donors)
    accounts_service.audit(session=session, actor=actor, action="list", entity_type="blood_donor",
                           basis=access.scope_basis(actor), detail={"count": len(items)},
                           shown=[d.resident_id for d in donors if d.resident_id is not None])
    return items


def recall(*, session: Session, actor: Actor, as_of: dt.date) -> list[DonorSummary]:
    """Donors due for recall on `as_of`: eligible again for a donation of some kind by then (GB 18467's
    intervals after every donation of the person) and within the age limits that day (to `repeat_max` for
    a repeat donor without an adverse reaction); longest eligible first. Audited `list`."""
    actor.require("ledger:read")
    donors = list(session.scalars(select(BloodDonor).outerjoin(Resident, Resident.id == BloodDonor.resident_id)
                                  .where(visible(actor), BloodDonor.id.in_(select(BloodDonation.donor_id)))
                                  .order_by(BloodDonor.id)))
    due = [s for s in _summaries(session, donors)
           if s.eligible_since is not None and s.eligible_since <= as_of and s.age_allowed(as_of)]
    due.sort(key=lambda s: (s.eligible_since or as_of, s.donor.id))
    accounts_service.audit(session=session, actor=actor, action="list", entity_type="blood_recall",
                           basis=access.scope_basis(actor), detail={"as_of": as_of.isoformat(), "count": len(due)},
                           shown=[s.donor.resident_id for s in due if s.donor.resident_id is not None])
    return due[:MAX_LIST]
