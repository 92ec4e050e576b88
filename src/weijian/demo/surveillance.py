"""Demo notifiable-disease case reports (传染病报告卡): five years up to the reference date of the plausible
diseases of a rural county — influenza in winter, hand, foot and mouth disease in spring and early summer among
small children, mumps among school children, scattered brucellosis among adults — and a measles cluster in the
last autumn: three children of one township with onsets within 14 days (the cluster method's default, 2 or more
cases in 14 days in a township, signals on it).

Reported by the patient's township centre (the county hospital for brucellosis and measles), diagnosed one to
three days after the onset in working hours, reported mostly within hours; about one card in twenty is late.
Deterministic: one `random.Random` seeded from the build's seed, residents read in id order. Written in bulk
like the rest of the demo (the delay computed as the service computes it, timeliness.report_delay)."""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from weijian.core import clock
from weijian.core.actor import Actor
from weijian.orgunits.models import Facility
from weijian.residents.models import Resident
from weijian.surveillance import rules
from weijian.surveillance import service as surveillance_service
from weijian.surveillance.models import CaseReport
from weijian.surveillance.signals import service as signals_service
from weijian.surveillance.signals.models import Signal
from weijian.surveillance.signals.schemas import CloseIn, RespondIn, VerifyIn
from weijian.surveillance.timeliness import report_delay

YEARS = 5
# disease → (ICD-10 code, cards a year, ages (from, to), month weights (Jan … Dec), classification weights)
DISEASES: dict[str, tuple[str, int, tuple[int, int], tuple[float, ...], dict[str, float]]] = {
    "influenza": ("J11.1", 32, (1, 85), (6, 4, 2, 1, .5, .3, .3, .3, .5, 1, 2, 5),
                  {"clinical": .65, "confirmed": .3, "excluded": .05}),
    "hfmd": ("B08.4", 20, (1, 5), (.3, .3, 1, 3, 5, 5, 3, 1, 1, 1, .5, .3),
             {"clinical": .8, "confirmed": .18, "excluded": .02}),
    "mumps": ("B26.9", 10, (5, 15), (1, 1, 2, 3, 3, 2, 1, .5, .5, 1, 1.5, 1.5),
              {"clinical": .9, "confirmed": .1}),
    "brucellosis": ("A23.9", 3, (30, 65), (.5, .5, 1, 2, 3, 3, 2, 1, 1, .5, .5, .5), {"confirmed": 1.0}),
}
MEASLES_ICD = "B05.9"
LATE_SHARE = 0.05


@dataclass(frozen=True)
class SurveillanceSummary:
    first: date
    last: date
    cards: int
    late: int
    measles_township: str | None
    measles_onsets: tuple[date, ...]


def _age(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def last_autumn(reference: date) -> date:
    """The first onset of the measles cluster: 1 October of the reference date's autumn when its 14 days have
    passed by then, else of the autumn before."""
    this = date(reference.year, 10, 1)
    return this if this + timedelta(days=14) <= reference else date(reference.year - 1, 10, 1)


def build(*, session: Session, seed: int, reference: date) -> SurveillanceSummary:
    rng = random.Random(seed * 7919 + 16)
    conn = session.connection()
    people = list(session.execute(select(Resident.id, Resident.village_code, Resident.birth_date)
                                  .where(Resident.status == "active").order_by(Resident.id)).tuples())
    facilities = list(session.execute(select(Facility.id, Facility.type, Facility.orgunit_code)
                                      .order_by(Facility.id)).tuples())
    centre = {unit: fid for fid, kind, unit in facilities if kind == "township_centre"}
    county_hospital = next((fid for fid, kind, _ in facilities if kind == "county_general"), None)
    first = reference - timedelta(days=365 * YEARS)
    rows: list[dict[str, Any]] = []
    if not people or county_hospital is None:
        return SurveillanceSummary(first, reference, 0, 0, None, ())

    def card(disease: str, icd: str, who: tuple[int, str, date], onset: date, classification: str,
             to_county: bool) -> None:
        rid, village, _born = who
        township = village[:9] + "000"
        facility = county_hospital if to_county else centre.get(township, county_hospital)
        diagnosed_day = min(onset + timedelta(days=rng.randint(0, 3)), reference)
        diagnosed = clock.at(diagnosed_day, time(rng.randint(8, 16), rng.choice((0, 15, 30, 45))))
        hours = rng.uniform(25, 72) if rng.random() < LATE_SHARE else rng.uniform(0.2, 20)
        if disease == "measles":  # class B, reported at once by the county hospital
            hours = rng.uniform(0.5, 6)
        reported = diagnosed + timedelta(hours=hours)
        d = rules.edition_on(diagnosed_day).by_code(disease)
        assert d is not None, disease
        delay = report_delay(d, diagnosed=diagnosed, reported=reported, icd10=icd)
        rows.append(dict(
            resident_id=rid, disease=disease, icd10=icd, onset_date=onset, diagnosed_at=diagnosed,
            reported_at=reported, classification=classification, facility_id=facility, doctor_id=None,
            doctor_name="demo", village_code=village, township_code=township, status="active",
            delete_reason=None, duplicate_of=None, limit_hours=delay.limit_hours,
            delay_hours=Decimal(str(delay.delay_hours)).quantize(Decimal("0.01")), late=delay.late,
            encounter_id=None, note=None, created_at=reported, created_by="demo"))

    def someone(ages: tuple[int, int], on: date, among: list[tuple[int, str, date]]) -> tuple[int, str, date] | None:
        for _ in range(400):
            who = among[rng.randrange(len(among))]
            if ages[0] <= _age(who[2], on) <= ages[1]:
                return who
        return None

    for disease, (icd, per_year, ages, months, classes) in DISEASES.items():
        for year in range(first.year, reference.year + 1):
            for _ in range(per_year):
                month = rng.choices(range(1, 13), weights=months)[0]
                onset = date(year, month, rng.randint(1, 28))
                if not first <= onset <= reference - timedelta(days=1):
                    continue
                who = someone(ages, onset, people)
                if who is None:
                    continue
                classification = rng.choices(list(classes), weights=list(classes.values()))[0]
                card(disease, icd, who, onset, classification, to_county=disease == "brucellosis")
    # The measles cluster: three children (8 months to 14 years) of the township with the most children.
    start = last_autumn(reference)
    children: dict[str, list[tuple[int, str, date]]] = {}
    for who in people:
        if 1 <= _age(who[2], start) <= 14:
            children.setdefault(who[1][:9] + "000", []).append(who)
    township = max(sorted(children), key=lambda t: len(children[t])) if children else None
    onsets: list[date] = []
    if township is not None and len(children[township]) >= 3:
        picked = rng.sample(children[township], 3)
        for who, offset in zip(picked, (0, 5, 11), strict=True):
            onsets.append(start + timedelta(days=offset))
            card("measles", MEASLES_ICD, who, onsets[-1], "confirmed", to_county=True)
    if rows:
        conn.execute(insert(CaseReport.__table__), rows)
    return SurveillanceSummary(first, reference, len(rows), sum(1 for r in rows if r["late"]), township,
                               tuple(onsets))


def cluster_check(onsets: tuple[date, ...]) -> bool:
    """Whether the cluster's onsets lie within 14 days (for the build's own check)."""
    return bool(onsets) and (max(onsets) - min(onsets)).days < 14


__all__ = ["DISEASES", "SignalWork", "SurveillanceSummary", "build", "cluster_check", "last_autumn", "work_signals"]


def run_early_warning(*, session: Session, reference: date, days: int) -> int:
    """The daily early-warning run over the `days` days ending `reference`, on the case reports just written;
    returns the signals stored."""
    result = signals_service.run(session=session, as_of=reference, days=days, counts=surveillance_service.daily_counts,
                                 actor=Actor.system("demo"))
    return result.signals_new


# --- the CDC's work on the signals (verification, response, closing) --------------------------------
OPEN_DAYS = 3  # signals of the last days before the reference date are left as the day's run found them
LATE_VERIFY_SHARE = 0.1  # about one verification in ten is made after its 24-hour limit
CDC_USER = "jikong"  # the demo's county CDC log-in (demo/data/yingshan.yaml)
FALSE_NOTES = ("经核实为散发病例，无流行病学关联", "病例分布于不同村组，无共同暴露史",
               "报告时间集中所致，非实际发病聚集")


@dataclass(frozen=True)
class SignalWork:
    closed: int
    open: int
    true: int


def work_signals(*, session: Session, seed: int, reference: date) -> SignalWork:
    """What the county CDC would have done with the signals of the back-run, as its daily work: each signal
    dated as the morning run after its day found it (the back-run stored them all at once), then the signals
    older than OPEN_DAYS verified — the measles signals true, answered with the field investigation, the
    measures and the cluster's cards linked, and closed; every other one false with a note and closed — most
    within the 24-hour limit, about one in ten after it. The last days' signals are left new, for the
    signals page to show work to do. Through the service, so that each step is audited as the CDC's."""
    rng = random.Random(seed * 7919 + 17)
    cdc = Actor(user_id=None, username=CDC_USER, role="cdc_staff", scope_code=None,
                permissions=frozenset({"signal:read", "signal:verify"}))
    end = min(clock.now(), clock.at(reference + timedelta(days=1))) - timedelta(minutes=1)  # nothing after it
    signals = list(session.scalars(select(Signal).order_by(Signal.signal_date, Signal.id)))
    closed = true = 0
    for s in signals:
        # The next morning's run; the last day's signals (whose morning has not come) when the build ran.
        found = min(clock.at(s.signal_date + timedelta(days=1)) + timedelta(hours=6), end)
        s.verify_due_at = found + (s.verify_due_at - s.detected_at)
        s.detected_at = found
    session.flush()
    for s in signals:
        if s.signal_date > reference - timedelta(days=OPEN_DAYS):
            continue
        late = rng.random() < LATE_VERIFY_SHARE
        at = min(end, s.verify_due_at + timedelta(hours=rng.randint(2, 20)) if late else
                 s.detected_at + timedelta(hours=rng.randint(1, 20)))
        if s.disease_code == "measles":
            signals_service.verify(session=session, signal_id=s.id, actor=cdc, now=at,
                                   verify_in=VerifyIn(outcome="true", note="麻疹聚集性疫情，病例间有共同暴露"))
            where = [CaseReport.disease == "measles", CaseReport.status == "active",
                     CaseReport.onset_date <= s.signal_date, CaseReport.onset_date > s.signal_date - timedelta(days=14)]
            if s.orgunit_code[6:9] != "000":  # a township's signal: its own cards (the county's: all)
                where.append(CaseReport.township_code == s.orgunit_code)
            cards = list(session.scalars(select(CaseReport.id).where(*where).order_by(CaseReport.id)))
            signals_service.respond(session=session, signal_id=s.id, actor=cdc, now=min(end, at + timedelta(hours=4)),
                                    respond_in=RespondIn(notes="现场流行病学调查：病例均为同一乡镇儿童，发病前14天内有共同活动场所",
                                                         measures="隔离治疗，密切接触者医学观察21天，乡镇内麻疹疫苗查漏补种",
                                                         case_report_ids=cards or None))
            true += 1
            if at + timedelta(days=21) > end:  # the 21 days of observation not over yet: still responding
                continue
            signals_service.close(session=session, signal_id=s.id, actor=cdc, now=at + timedelta(days=21),
                                  close_in=CloseIn(note="最后一例病例出疹后21天无新发病例，疫情结束"))
        else:
            signals_service.verify(session=session, signal_id=s.id, actor=cdc, now=at,
                                   verify_in=VerifyIn(outcome="false", note=rng.choice(FALSE_NOTES)))
            signals_service.close(session=session, signal_id=s.id, actor=cdc, now=min(end, at + timedelta(minutes=10)),
                                  close_in=CloseIn())
        closed += 1
    return SignalWork(closed=closed, open=len(signals) - closed, true=true)
