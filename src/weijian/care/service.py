"""The care domain's service: the one module other domains import. Each area lives in its own module
(records, chronic/, referrals/, teleconsult/, figures); their public functions are re-exported here.

Areas import each other's modules directly (`from weijian.care.chronic import service as chronic`); other domains use
`from weijian.care import service as care_service`.
"""
from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from weijian.care import models

# Child-health counts for the indicators domain (per village of the period's last day), care/childcare/counts.py.
from weijian.care.childcare.counts import childcare_counts, childcare_records
from weijian.care.chronic.service import (
    close_from_voided_diagnosis,
    due_follow_ups,
    get_program,
    management_rates,
    record_follow_up,
    register_from_diagnosis,
)

# Family-doctor contract counts for the indicators domain (stocks per village on a day, renewals per month),
# care/contracts/counts.py.
from weijian.care.contracts.counts import contract_counts, contract_records, contract_stock

# Counts for the indicators domain (per village and month, one grouped query each), in care/counts.py.
from weijian.care.counts import (
    ENCOUNTER_COUNTERS,
    chronic_records,
    elderly_check_records,
    elderly_checked,
    encounter_counter_columns,
    encounter_counts,
    encounter_records,
    referral_counts_by_month,
    referral_rows,
    screened_people,
    screening_counts,
    screening_records,
)

# Elderly TCM counts for the indicators domain (65+ on the period's end, once each), care/elderly/counts.py.
from weijian.care.elderly.counts import tcm_records as elderly_tcm_records
from weijian.care.elderly.counts import tcm_served as elderly_tcm_served
from weijian.care.icd10 import get as icd10_code  # a diagnosis code's entry (its name), for other domains' pages

# Maternal counts for the indicators domain (per village of the delivery and month), care/maternal/counts.py.
from weijian.care.maternal.counts import maternal_counts, maternal_records

# Severe mental illness counts for the indicators domain (per current village and period), care/mental/counts.py;
# the prevalence the 管理率's estimated patients are worked from (care/data/mental.yaml), and the permission a
# drill-down of those counts needs (a list of named patients).
from weijian.care.mental.counts import mental_counts, mental_records
from weijian.care.mental.rules import rules as mental_rules
from weijian.care.records.figures import PRIMARY_TYPES, county_retention_rate, primary_care_share
from weijian.care.records.service import (
    create_encounter,
    create_health_check,
    create_screening,
    discharge,
    get_encounter,
    list_encounters,
    register_discharge_hook,
    register_timeline_source,
    timeline,
)
from weijian.care.referrals.queries import access_basis_for, referral_counts
from weijian.care.referrals.service import create_downward
from weijian.care.worklist import worklist
from weijian.residents import service as residents_service

# --- a merge of two records of one person (residents.merging: this is care's part) ----------------------
# The care rows a merge moves as they are (visits and stays, checks, screenings, referrals, consultations).
_MOVED_AS_THEY_ARE = ((models.Encounter, "encounter"), (models.HealthCheck, "health_check"),
                      (models.Screening, "screening"), (models.Referral, "referral"),
                      (models.Teleconsultation, "teleconsultation"))


def move_resident(ctx: residents_service.MergeContext) -> list[residents_service.Moved]:
    """Move the merged record's care rows to the survivor: visits and stays, checks, screenings, chronic
    registrations and their follow-ups, referrals, consultations. Two active registrations of one programme
    (one on each record) cannot both stay (one active per resident and programme): the older is kept, the
    other closed on the merge's day, its follow-ups moved onto the kept one (management is counted per
    registration); the closing is listed with the merge (note closed_duplicate) and audited with it."""
    session = ctx.session
    registration, follow_up = models.ChronicRegistration, models.FollowUp
    out: list[residents_service.Moved] = []
    for cls, entity in _MOVED_AS_THEY_ARE:
        out += residents_service.reassign(ctx, cls, entity)
    active = list(session.scalars(select(registration).where(
        registration.resident_id.in_([ctx.survivor_id, ctx.merged_id]), registration.status == "active")
        .order_by(registration.registered_on, registration.id)))
    kept: dict[str, models.ChronicRegistration] = {}
    for reg in active:
        if reg.program not in kept:
            kept[reg.program] = reg
            continue
        keep = kept[reg.program]
        out.append(residents_service.Moved("chronic_registration", "chronic_registrations", reg.id, {
            "status": ("active", "closed"), "closed_on": (reg.closed_on, ctx.today)}, note="closed_duplicate"))
        reg.status, reg.closed_on = "closed", ctx.today
        for fu in session.scalars(select(follow_up).where(follow_up.registration_id == reg.id).order_by(follow_up.id)):
            values: dict[str, tuple[object, object]] = {"registration_id": (reg.id, keep.id)}
            if fu.resident_id == ctx.merged_id:
                values["resident_id"] = (ctx.merged_id, ctx.survivor_id)
                fu.resident_id = ctx.survivor_id
            fu.registration_id = keep.id
            out.append(residents_service.Moved("follow_up", "follow_ups", fu.id, values, note="registration_kept"))
    session.flush()  # the duplicate closed before its twin joins the survivor (one active per programme)
    out += residents_service.reassign(ctx, registration, "chronic_registration")
    out += residents_service.reassign(ctx, follow_up, "follow_up")
    session.flush()
    return out


def moved_history_in_use(ctx: residents_service.MergeContext,
                         moves: Sequence[residents_service.ResidentMergeMove]) -> residents_service.UndoProblems:
    """What stops undoing a merge on care's side: a follow-up recorded since the merge on a registration the
    merge moved (it would stay with the survivor while its registration goes back)."""
    regs = [m.row_id for m in moves if m.table_name == "chronic_registrations"]
    moved_fus = {m.row_id for m in moves if m.table_name == "follow_ups"}
    if not regs:
        return []
    fu = models.FollowUp
    on_moved = ctx.session.scalars(select(fu.id).where(fu.registration_id.in_(regs)))
    later = [fid for fid in on_moved if fid not in moved_fus]
    return [("residents.errors.unmerge_added_since",
             {"entity": "@accounts.audit.entities.follow_up", "row_id": fid}) for fid in later[:1]]


MERGE_MOVER = residents_service.Mover(
    name="care",
    columns=frozenset({"encounters.resident_id", "health_checks.resident_id", "screenings.resident_id",
                       "chronic_registrations.resident_id", "follow_ups.resident_id", "referrals.resident_id",
                       "teleconsultations.resident_id"}),
    classes=(*(cls for cls, _entity in _MOVED_AS_THEY_ARE), models.ChronicRegistration, models.FollowUp),
    move=move_resident, undo_problems=moved_history_in_use)
