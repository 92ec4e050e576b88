"""JSON routes of voluntary blood donation under /api/v1/ledgers/blood: donors (identity numbers and phones
masked; every read audited), registering one, one donor with the history, recording a donation, and the
recall list (ledger:read / ledger:write). A donor outside the caller's scope answers 404, as a missing one."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from weijian.accounts.deps import require
from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.bounds import BoundedDate, Id64
from weijian.core.disclosure import Disclosure, disclosure_for
from weijian.core.web import SessionDep
from weijian.ledgers.blood import queries, rules, service
from weijian.ledgers.blood.models import BloodDonation
from weijian.ledgers.blood.schemas import (
    DonationCreate,
    DonationOut,
    DonorCreate,
    DonorDetail,
    DonorOut,
    RecallRowOut,
)

router = APIRouter(prefix="/api/v1/ledgers/blood", tags=["ledgers: blood donation"])


def donor_out(s: queries.DonorSummary, disclosure: Disclosure, *, listing: bool = True) -> DonorOut:
    d = s.donor
    award = s.award
    return DonorOut(id=d.id, resident_id=d.resident_id, name=d.name,
                    id_number=disclosure.id_number(d.id_number, listing=listing),
                    phone=disclosure.phone(d.phone, listing=listing), sex=d.sex,
                    birth_date=disclosure.birth_date(d.birth_date), birth_year=d.birth_date.year,
                    blood_group=d.blood_group,
                    donations=len(s.donations), whole_blood_ml=s.whole_blood_ml, platelet_units=s.platelet_units,
                    honours_count=s.honours_count, award=award.code if award else None,
                    last_donated_on=s.last_donated_on, next_whole_blood=s.next_for("whole_blood"),
                    next_platelets=s.next_for("platelets"))


def donation_out(d: BloodDonation) -> DonationOut:
    return DonationOut.model_validate(d, from_attributes=True)


def donor_visible(donor_id: Id64, session: SessionDep, actor: Actor = Depends(require("ledger:write"))) -> int:
    """The donor in the path, looked up before the body is read: one outside the scope answers 404."""
    service.donor_in_scope(session=session, actor=actor, donor_id=donor_id)
    return donor_id


@router.get("/donors", response_model=list[DonorOut])
def list_donors(session: SessionDep, name: str | None = Query(None, max_length=50),
                actor: Actor = Depends(require("ledger:read"))) -> list[DonorOut]:
    disclosure = disclosure_for(actor)
    return [donor_out(s, disclosure) for s in service.list_donors(session=session, actor=actor, name=name)]


@router.post("/donors", response_model=DonorOut, status_code=201)
def create_donor(body: DonorCreate, session: SessionDep,
                 actor: Actor = Depends(require("ledger:write"))) -> DonorOut:
    donor = service.register_donor(session=session, donor_in=body, actor=actor)
    return donor_out(queries.DonorSummary(donor, []), disclosure_for(actor), listing=False)


@router.get("/donors/{donor_id}", response_model=DonorDetail)
def read_donor(donor_id: Id64, session: SessionDep, actor: Actor = Depends(require("ledger:read"))) -> DonorDetail:
    s = service.get_donor(session=session, actor=actor, donor_id=donor_id)
    return DonorDetail(**donor_out(s, disclosure_for(actor), listing=False).model_dump(),
                       history=[donation_out(d) for d in s.donations])


@router.post("/donors/{donor_id}/donations", response_model=DonationOut, status_code=201)
def create_donation(body: DonationCreate, session: SessionDep, actor: Actor = Depends(require("ledger:write")),
                    donor_id: int = Depends(donor_visible)) -> DonationOut:
    return donation_out(service.record_donation(session=session, donor_id=donor_id, donation_in=body, actor=actor))


@router.get("/recall", response_model=list[RecallRowOut])
def recall(session: SessionDep, as_of: BoundedDate | None = None,
           actor: Actor = Depends(require("ledger:read"))) -> list[RecallRowOut]:
    """Donors eligible again on the day (GB 18467's intervals) and within the age limits, longest first."""
    day = as_of or clock.today()
    disclosure = disclosure_for(actor)
    return [RecallRowOut(donor=donor_out(s, disclosure), eligible_since=s.eligible_since or day,
                         age=rules.age_on(s.donor.birth_date, day))
            for s in service.recall(session=session, actor=actor, as_of=day)]
