"""The clinician's worklist for today (a village doctor's first page): chronic-disease follow-ups (care.chronic:
patients whose latest follow-up called for an urgent referral, 紧急转诊, first, then overdue, then due), downward
referrals received as dated follow-up tasks, consultation replies, and this week's children due for a
vaccination (immunization's recall list: care does not depend on immunization — both sit on residents — so the
composition root provides it through the `recall_section` hook), and TB patient management's work
(surveillance.tb: doses due today, first home visits due, follow-ups due; surveillance sits above care, so
through the `tb_section` hook), and the antenatal visits overdue or due in the actor's villages (care.maternal's
register: a village or township scope; a county-wide actor reads the register page village by village), and the
residents 65+ still without this year's health check, self-care assessment or TCM form (care.elderly; the same
scope rule), and the children's checks overdue or due there (care.childcare: the same scopes), and the
family-doctor contracts ending within 30 days or lapsed (care.contracts: the resident's team is the first
contact; the same scopes), and the severe mental illness follow-ups overdue or due (care.mental's register,
overdue first: only for holders of mental:read, the patient's own team), and the postpartum home visits and
42-day checks due or overdue (care.maternal.queries.postpartum_due, the same scopes as the antenatal visits)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from weijian.accounts import service as accounts_service
from weijian.care.childcare import queries as childcare_queries
from weijian.care.chronic import service as chronic
from weijian.care.contracts import queries as contracts_queries
from weijian.care.elderly import queries as elderly_queries
from weijian.care.maternal import queries as maternal_queries
from weijian.care.mental import queries as mental_queries
from weijian.care.referrals import queries as referrals_queries
from weijian.care.teleconsult import queries as teleconsult_queries
from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.hooks import Hook
from weijian.core.identifiers import division_level
from weijian.residents import service as residents_service

FOLLOW_UP_STATUSES = ("overdue", "due")
ELDERLY_ROWS = 50  # the elderly section's length; the rest on /care/elderly


@dataclass
class Worklist:
    today: date
    follow_ups: list[chronic.DueItem] | None  # urgent, overdue, due; None when the actor may not read them
    downward: list[referrals_queries.ReferralItem] = field(default_factory=list)
    replies: list[teleconsult_queries.ConsultationItem] = field(default_factory=list)
    # immunization.recall.RecallList of this week; None when the actor may not read it or the actor's area
    # is wider than a township
    recall: Any | None = None
    # surveillance.tb.TbWorklist of today; None when the actor may not read it
    tb: Any | None = None
    # care.maternal: pregnancies whose next antenatal visit is overdue or due today; None when the actor may not
    # read them or the actor's scope is the county (the register is read village by village there)
    antenatal: list[maternal_queries.RegisterRow] | None = None
    # care.elderly: residents 65+ without one of this year's parts (at most ELDERLY_ROWS; None as antenatal)
    elderly: list[elderly_queries.DueRow] | None = None
    # care.childcare: children whose check is overdue or due today (overdue first); None as for `antenatal`
    children: list[childcare_queries.DueRow] | None = None
    # care.contracts: contracts ending within renew_within_days or lapsed; None as for `antenatal`
    renewals: list[contracts_queries.DueRow] | None = None
    # care.mental: patients whose next follow-up is overdue or due; None without mental:read
    mental: list[mental_queries.RegisterRow] | None = None
    # care.maternal: postpartum home visits and 42-day checks due or overdue (the same actors as antenatal)
    postpartum: list[maternal_queries.PostpartumDue] | None = None

    @property
    def empty(self) -> bool:
        return not (self.follow_ups or self.downward or self.replies or (self.recall is not None
                                                                          and self.recall.children)
                    or (self.tb is not None and not self.tb.empty) or bool(self.antenatal) or bool(self.elderly)
                    or bool(self.children) or bool(self.renewals) or bool(self.mental) or bool(self.postpartum))


# recall_section(session=, actor=, today=, overdue_rule=) -> this week's recall list of the actor's area or
# None (immunization.service.worklist_recall, provided by weijian.wiring).
recall_section: Hook[Callable[..., Any]] = Hook("care.worklist.recall_section")
# tb_section(session=, actor=, now=) -> today's TB doses, first visits and follow-ups due in the actor's scope
# (surveillance.service.tb_worklist_section, provided by weijian.wiring).
tb_section: Hook[Callable[..., Any]] = Hook("care.worklist.tb_section")


def worklist(*, session: Session, actor: Actor, now: datetime | None = None, with_recall: bool = True,
             overdue_rule: Any = None) -> Worklist:
    """Today's work of the actor (Asia/Shanghai day of `now`): each section only as far as the actor's
    permissions reach. The referral and consultation sections are logged here as one read; the chronic area,
    the recall list and the TB section log their own. `overdue_rule`: the installation's immunization overdue rule
    (settings.immunization_overdue_rule), for the recall section."""
    now = now or clock.now()
    today = clock.local_date(now)
    follow_ups = None
    if actor.can("care:read"):
        # An urgent referral stays on the list until the next follow-up, whatever its due date: the 规范 asks
        # it to be followed up "2周内主动随访转诊情况". due_follow_ups puts those first, then overdue, due.
        follow_ups = [i for i in chronic.due_follow_ups(session=session, actor=actor, as_of=today)
                      if i.urgent or i.status in FOLLOW_UP_STATUSES]
    downward = referrals_queries.downward_for_worklist(session=session, actor=actor, now=now) \
        if actor.can("referral:respond") else []
    replies = teleconsult_queries.replies_for_worklist(session=session, actor=actor, now=now) \
        if actor.can("consult:request") else []
    recall = None
    if with_recall and actor.can("immunization:read"):
        recall = recall_section(session=session, actor=actor, today=today, overdue_rule=overdue_rule)
    tb = tb_section(session=session, actor=actor, now=now) if actor.can("care:read") else None
    antenatal = postpartum = None
    if actor.can("care:read") and actor.scope_code is not None and division_level(actor.scope_code) != "county":
        antenatal = maternal_queries.register(session=session, actor=actor, as_of=today,
                                              statuses={"overdue", "due"})
        postpartum = maternal_queries.postpartum_due(session=session, actor=actor, as_of=today)
    elderly = children = renewals = None
    if actor.can("care:read") and actor.scope_code is not None and division_level(actor.scope_code) != "county":
        elderly = elderly_queries.due(session=session, actor=actor, as_of=today, limit=ELDERLY_ROWS)
        children = childcare_queries.due_children(session=session, actor=actor, as_of=today)
        renewals = contracts_queries.due_renewals(session=session, actor=actor, as_of=today)
    mental = None
    if actor.can("mental:read") and actor.scope_code is not None and division_level(actor.scope_code) != "county":
        mental = mental_queries.register(session=session, actor=actor, as_of=today, statuses={"overdue", "due"})
    if downward or replies:
        accounts_service.audit(session=session, actor=actor, action="list", entity_type="worklist",
                               basis=residents_service.scope_basis(actor),
                               detail={"as_of": today.isoformat(),
                                       "referrals": [i.referral.id for i in downward],
                                       "consultations": [i.consultation.id for i in replies]},
                               shown=[i.referral.resident_id for i in downward]
                               + [i.consultation.resident_id for i in replies])
    return Worklist(today=today, follow_ups=follow_ups, downward=downward, replies=replies, recall=recall, tb=tb,
                    antenatal=antenatal, elderly=elderly, children=children, renewals=renewals, mental=mental,
                    postpartum=postpartum)


# --- one list of the day's tasks (issue 17 part 7: every package, overdue first, by village and programme) ---
PROGRAMMES = ("chronic", "referral", "consultation", "tb_first_visit", "tb_follow_up", "tb_dose", "antenatal",
              "postpartum", "child_check", "elderly", "contract", "mental")
_STATUS_ORDER = {"urgent": 0, "overdue": 1, "due": 2}


@dataclass(frozen=True)
class Task:
    """One task of the day, whatever its package: who, where, since or by when (`due`, None when the package
    names no day) and how pressing (`status`: urgent, overdue or due); `detail` is the package's own code
    (the programme of a follow-up, the check, the visit kind, what is missing)."""

    programme: str
    resident_id: int
    resident_name: str
    village_code: str
    due: date | None
    status: str
    detail: str = ""


def _tb_tasks(tb: Any) -> list[Task]:
    out: list[Task] = []
    if tb is None:
        return out
    for kind, items in (("tb_first_visit", tb.first_visits), ("tb_follow_up", tb.follow_ups), ("tb_dose", tb.doses)):
        for i in items:
            if kind == "tb_dose" and i.dose_today is not None:
                continue  # today's dose recorded already
            due = i.due if i.due is not None else (clock.local_date(i.due_at) if i.due_at is not None else tb.today)
            out.append(Task(kind, i.resident_id, i.resident_name, i.village_code, due,
                            "overdue" if i.overdue else "due", i.supervisor_kind))
    return out


def tasks(w: Worklist) -> list[Task]:
    """The worklist's sections as one list, urgent first, then overdue, then due, each by its date (the
    recall list is not in it: it is a week's list with its own page and API)."""
    out: list[Task] = []
    for f in w.follow_ups or ():
        if f.status in ("due", "overdue"):
            out.append(Task("chronic", f.resident_id, f.resident_name, f.village_code, f.next_due,
                            "urgent" if f.urgent else f.status, f.program))
    out += [Task("referral", i.referral.resident_id, i.resident_name, i.village_code, None,
                 "overdue" if i.overdue else "due") for i in w.downward]
    out += [Task("consultation", i.consultation.resident_id, i.resident_name, i.village_code, None,
                 "overdue" if i.overdue else "due") for i in w.replies]
    out += _tb_tasks(w.tb)
    for a in w.antenatal or ():
        if a.next is not None and a.next.status in ("due", "overdue"):
            out.append(Task("antenatal", a.pregnancy.resident_id, a.resident_name, a.village_code, a.next.start,
                            "urgent" if a.needs_referral else a.next.status, f"visit_{a.next.visit}"))
    out += [Task("postpartum", p.pregnancy.resident_id, p.resident_name, p.village_code, p.end, p.status, p.kind)
            for p in w.postpartum or ()]
    out += [Task("child_check", c.resident_id, c.name, c.village_code, c.check.start, c.check.status, c.check.check)
            for c in w.children or () if c.check.status in ("due", "overdue")]
    out += [Task("elderly", e.resident_id, e.name, e.village_code, None, "due", ",".join(e.missing))
            for e in w.elderly or ()]
    out += [Task("contract", r.contract.resident_id, r.resident_name, r.village_code, r.contract.end_date,
                 "overdue" if r.state == "lapsed" else "due", r.team_name) for r in w.renewals or ()]
    out += [Task("mental", m.patient.resident_id, m.resident_name, m.village_code, m.patient.next_visit_on,
                 "urgent" if m.needs_referral else (m.due_status or "due")) for m in w.mental or ()]
    out.sort(key=lambda t: (_STATUS_ORDER.get(t.status, 3), t.due or date.max, t.programme, t.resident_id))
    return out
