"""Issue 14, items 12 and 14: encounters that make sense. A facility records only the care its type provides,
a patient has one inpatient stay at a time, a diagnosis, screening or check fits the patient's sex and age,
an entry is corrected or voided with a reason (audited; the figures follow), and a village doctor records a
walk-in of a neighbouring village. Each test cites the text its values come from; the values are written
here from that text, not read from weijian's data files."""
from __future__ import annotations

import json
from datetime import date

import pytest

from tests import factories as f
from tests.care import records_setup as rs
from tests.care.records_setup import TODAY, record, visit
from weijian.care.models import Encounter
from weijian.core import commands
from weijian.core.errors import InvalidInput, InvalidState, NotFound


@pytest.fixture()
def w(session):
    return rs.build(session)


def refused(db, fn, **kwargs) -> dict[str, str]:
    """Call fn(**kwargs), expect InvalidInput, check nothing was written; the refused fields and reasons."""
    before = rs.counts(db)
    with pytest.raises(InvalidInput) as info, db.begin_nested():
        fn(**kwargs)
    assert rs.counts(db) == before
    return {e.field: e.reason_key for e in info.value.errors}


def refused_record(session, w, actor="village", resident="man", **over) -> dict[str, str]:
    return refused(session, lambda: record(session, w, actor=actor, resident=resident, **over))


# --- (1) what a facility type provides ------------------------------------------------------------
def test_a_village_clinic_without_beds_records_no_inpatient_stay_or_day_surgery(session, w):
    """村卫生室管理办法（试行）(国卫基层发〔2014〕33号, not read in a faithful copy): a village clinic gives 初级诊治 —
    outpatient care; issue 14 item 12: no inpatient stay or day surgery unless its data says it has beds."""
    assert w.facilities["clinic_a1"].beds_open == 0
    for kind, end in (("inpatient", None), ("day_surgery", "2025-06-01")):
        errors = refused_record(session, w, type=kind, end_date=end)
        assert errors == {"type": "care.records.errors.type_not_provided"}
    assert record(session, w).type == "outpatient"
    # "unless its data says it has beds" (facilities.beds_open, 实际开放床位)
    w.facilities["clinic_a1"].beds_open = 2
    session.flush()
    stay = record(session, w, type="inpatient", start_date="2025-06-01")
    assert stay.facility_id == w.facilities["clinic_a1"].id and stay.end_date is None


def test_the_refusal_names_the_facility_and_the_care_in_chinese(session, w):
    """A refusal names the field and the rule in Chinese (issue 14, "Bad input")."""
    from weijian.core.i18n import translate

    with pytest.raises(InvalidInput) as info:
        record(session, w, type="inpatient")
    error = info.value.errors[0]
    text = translate(error.reason_key, "zh_CN", **error.params)
    assert "东冲村卫生室" in text and "住院" in text


# --- (1) one inpatient stay at a time -------------------------------------------------------------
def test_an_inpatient_stay_that_overlaps_another_of_the_patient_is_refused(session, w):
    """Issue 14 item 12: overlapping inpatient stays refused — at any facility (a patient lies in one bed)."""
    record(session, w, actor="township", type="inpatient", start_date="2025-06-01", end_date="2025-06-10")
    for start, end in (("2025-06-05", "2025-06-08"), ("2025-05-28", "2025-06-02"), ("2025-06-09", None),
                       ("2025-05-20", "2025-06-20")):
        errors = refused_record(session, w, actor="county", type="inpatient", start_date=start, end_date=end)
        assert errors == {"start_date": "care.records.errors.stay_overlaps"}, (start, end)
    # A stay occupies [admission, discharge): discharged on the 10th, admitted elsewhere on the 10th.
    stay = record(session, w, actor="county", type="inpatient", start_date="2025-06-10", end_date="2025-06-12")
    assert stay.start_date == date(2025, 6, 10)
    record(session, w, actor="county", type="inpatient", start_date="2025-05-20", end_date="2025-06-01")


def test_a_stay_not_yet_discharged_blocks_a_later_admission(session, w):
    """An open stay runs on until its discharge."""
    record(session, w, actor="township", type="inpatient", start_date="2025-06-01")
    assert refused_record(session, w, actor="county", type="inpatient", start_date="2025-06-20") == {
        "start_date": "care.records.errors.stay_overlaps"}
    # an outpatient visit or a day surgery during a stay is not a second stay
    record(session, w, actor="county", start_date="2025-06-20")
    assert session.query(Encounter).filter_by(type="inpatient").count() == 1


def test_a_same_day_stay_occupies_its_day(session, w):
    record(session, w, actor="township", type="inpatient", start_date="2025-06-01", end_date="2025-06-01")
    assert refused_record(session, w, actor="county", type="inpatient", start_date="2025-06-01",
                          end_date="2025-06-03") == {"start_date": "care.records.errors.stay_overlaps"}
    record(session, w, actor="county", type="inpatient", start_date="2025-06-02", end_date="2025-06-03")


# --- (2) diagnoses, screenings and checks that fit the patient's sex and age ----------------------
def screen(session, w, person, kind, result, day="2025-06-01", actor="township"):
    values = {"resident_id": person.id, "date": day, "kind": kind, "result": result}
    return rs.create_screening(session=session, values=values, actor=w.actors[actor], today=TODAY)


def test_a_pregnancy_diagnosis_is_refused_for_a_man(session, w):
    """WHO ICD-10 (2019), chapter XV "Pregnancy, childbirth and the puerperium" (O00-O99): a woman's
    chapter. O80.0 单胎顺产 and O14.1 重度子痫前期 for a man are refused, naming the code's position."""
    for code in ("O80.0", "O14.1", "Z34.0"):
        errors = refused_record(session, w, actor="township", diagnoses=["J06.9", code])
        assert errors == {"diagnoses[1]": "care.records.errors.diagnosis_sex"}, code
    assert record(session, w, actor="township", resident="woman", diagnoses=["O80.0"]).primary_diagnosis == "O80.0"


def test_a_pregnancy_diagnosis_is_refused_for_a_child(session, w):
    """Chapter XV for a girl of 6: an age no pregnancy has (weijian's bound 10-55, a setting)."""
    girl = f.make_resident(session, name="周小妹", sex="female", birth_date=date(2019, 1, 1))
    errors = refused(session, lambda: rs.create_encounter(session=session, actor=w.actors["township"], today=TODAY,
                                                          values=visit(resident_id=girl.id, diagnoses=["O20.0"])))
    assert errors == {"diagnoses[0]": "care.records.errors.diagnosis_age"}


def test_prostate_and_female_genital_codes_fit_one_sex(session, w):
    """WHO ICD-10 blocks C60-C63 "Malignant neoplasms of male genital organs" (C61 prostate), N40-N51
    "Diseases of male genital organs" (N40 前列腺增生); C51-C58 "… of female genital organs" (C53 cervix),
    D06 "Carcinoma in situ of cervix uteri", N70-N77 and N80-N98 (female pelvic organs, genital tract)."""
    for code in ("N40", "C61", "N41.1"):
        assert refused_record(session, w, actor="township", resident="woman", diagnoses=[code]) == {
            "diagnoses[0]": "care.records.errors.diagnosis_sex"}, code
    for code in ("C53.9", "D06.9", "N72", "N80.0", "N95.1"):
        assert refused_record(session, w, actor="township", resident="man", diagnoses=[code]) == {
            "diagnoses[0]": "care.records.errors.diagnosis_sex"}, code
    assert record(session, w, actor="township", resident="elder", diagnoses=["N40"]).primary_diagnosis == "N40"
    assert record(session, w, actor="township", resident="woman", diagnoses=["N72"]).primary_diagnosis == "N72"
    # breast cancer is not one-sex (C50: men have it too)
    assert record(session, w, actor="county", resident="man", diagnoses=["C50.9"]).primary_diagnosis == "C50.9"


def test_the_refusal_names_the_code_the_sex_and_the_rule_in_chinese(session, w):
    from weijian.core.i18n import translate

    with pytest.raises(InvalidInput) as info:
        record(session, w, actor="township", diagnoses=["O80.0"])
    error = info.value.errors[0]
    text = translate(error.reason_key, "zh_CN", **error.params)
    assert "O80.0" in text and "女性" in text and "O00–O99" in text


def test_cervical_and_breast_screening_is_for_women_aged_35_to_64(session, w):
    """国家卫生健康委《宫颈癌筛查工作方案》《乳腺癌筛查工作方案》(2022-01-18), as 新华社 quotes them:
    "筛查服务对象范围由以往的农村适龄妇女扩大为城乡适龄（35至64周岁）妇女". 周岁: 35 on the 35th birthday,
    still 64 the day before the 65th."""
    young = f.make_resident(session, name="吴年轻", sex="female", birth_date=date(1990, 6, 2))  # 34 on 2025-06-01
    turns_35 = f.make_resident(session, name="吴满岁", sex="female", birth_date=date(1990, 6, 1))
    old = f.make_resident(session, name="吴年长", sex="female", birth_date=date(1960, 6, 1))  # 65 on 2025-06-01
    still_64 = f.make_resident(session, name="吴未满", sex="female", birth_date=date(1960, 6, 2))
    for kind in ("cervical", "breast"):
        for person in (young, old):
            errors = refused(session, lambda p=person, k=kind: screen(session, w, p, k, "negative"))
            assert errors == {"kind": "care.records.errors.screening_age"}, (kind, person.name)
        for person in (turns_35, still_64):
            assert screen(session, w, person, kind, "negative").kind == kind


def test_prenatal_screening_is_for_women_of_childbearing_age(session, w):
    """Prenatal screening is of pregnant women: 育龄妇女 15-49 岁 (国家统计局's childbearing age; issue 14:
    "prenatal screening for women of childbearing age")."""
    girl = f.make_resident(session, name="郑十四", sex="female", birth_date=date(2011, 1, 1))  # 14
    fifty = f.make_resident(session, name="郑五十", sex="female", birth_date=date(1975, 1, 1))  # 50
    for person in (girl, fifty):
        errors = refused(session, lambda p=person: screen(session, w, p, "prenatal", "low_risk"))
        assert errors == {"kind": "care.records.errors.screening_age"}, person.name
    assert screen(session, w, w.people["woman"], "prenatal", "low_risk").kind == "prenatal"


def test_the_rules_file_loads_and_names_its_sources():
    from weijian.care.records import rules

    loaded = rules.load()
    text = rules.DATA_FILE.read_text(encoding="utf-8")
    assert "宫颈癌筛查工作方案" in text and "35至64周岁" in text and "ICD-10" in text
    assert rules.screening_fit("cervical").age_min == 35 and rules.screening_fit("breast").age_max == 64
    assert loaded.version >= 1


# --- (3) correct or void an entry with a reason, audited; the tallies follow ----------------------
def _void(session, w, kind, entry, actor="village", reason="登记错误：患者未就诊"):
    from weijian.care.records import service as records
    from weijian.care.records.schemas import VoidIn

    return records.void_entry(session=session, entry_kind=kind, entry_id=entry.id, actor=w.actors[actor],
                              void_in=commands.build(VoidIn, {"reason": reason})).entry


def _correct(session, w, encounter, actor="village", **values):
    from weijian.care.records import service as records
    from weijian.care.records.schemas import EncounterCorrection

    return records.correct_encounter(session=session, encounter_id=encounter.id, actor=w.actors[actor], today=TODAY,
                                     correction_in=commands.build(EncounterCorrection, values))


def _visits_counted(session) -> int:
    from weijian.care import counts

    got = counts.encounter_counts(session=session, lo=f.COUNTY, hi=f.COUNTY[:6] + "999999",
                                  start=date(2025, 1, 1), end=date(2025, 12, 31))
    return sum(v[0] for v in got.values())


def test_a_voided_visit_stays_in_the_record_marked_and_leaves_the_counts_and_tallies(session, w):
    """Issue 14 item 12: an entry can be voided with a reason, audited, and the tallies follow."""
    from weijian.core import tallies as core_tallies

    core_tallies.rebuild(session)
    visit_ = record(session, w)
    assert _visits_counted(session) == 1 and core_tallies.check(session) == []
    voided = _void(session, w, "encounter", visit_)
    assert voided.voided_at is not None and voided.void_reason == "登记错误：患者未就诊"
    assert voided.voided_by == w.users["village"].username
    assert _visits_counted(session) == 0 and core_tallies.check(session) == []
    event = rs.audit_events(session, w.people["man"].id, action="void")[-1]
    assert event.entity_type == "encounter" and event.entity_id == str(visit_.id)
    assert json.loads(event.detail)["reason"] == "登记错误：患者未就诊"
    # still in the record, marked; voided twice is refused
    from weijian.care.records import service as records

    page = records.timeline(session=session, resident_id=w.people["man"].id, actor=w.actors["village"])
    assert page.items[0].data["voided"] is True and "已作废" in page.items[0].summary
    with pytest.raises(InvalidState):
        _void(session, w, "encounter", visit_)


def test_a_void_needs_a_reason_and_the_writer_of_the_facility(session, w):
    visit_ = record(session, w)
    with pytest.raises(InvalidInput) as info:
        _void(session, w, "encounter", visit_, reason="  ")
    assert {e.field for e in info.value.errors} == {"reason"}
    errors = refused(session, lambda: _void(session, w, "encounter", visit_, actor="township"))
    assert errors == {"facility_id": "care.records.errors.facility_not_own"}
    assert session.get(Encounter, visit_.id).voided_at is None


def test_a_voided_stay_no_longer_blocks_another_and_a_settled_stay_is_not_voided(session, w):
    stay = record(session, w, actor="township", type="inpatient", start_date="2025-06-01")
    _void(session, w, "encounter", stay, actor="township", reason="重复登记")
    record(session, w, actor="county", type="inpatient", start_date="2025-06-02", end_date="2025-06-05")
    settled = session.query(Encounter).filter_by(type="inpatient", voided_at=None).one()
    with pytest.raises(InvalidState):
        _void(session, w, "encounter", settled, actor="county")


def test_voided_checks_and_screenings_leave_the_figures(session, w):
    from weijian.care import counts
    from weijian.core import tallies as core_tallies

    core_tallies.rebuild(session)
    s = rs.create_screening(session=session, actor=w.actors["township"], today=TODAY, values={
        "resident_id": w.people["woman"].id, "date": "2025-06-01", "kind": "cervical", "result": "negative"})
    h = rs.create_health_check(session=session, actor=w.actors["township"], today=TODAY, values={
        "resident_id": w.people["elder"].id, "date": "2025-06-01", "kind": "annual_65", "sbp": 130, "dbp": 80})

    def screened() -> int:
        got = counts.screening_counts(session=session, lo=f.COUNTY, hi=f.COUNTY[:6] + "999999",
                                      start=date(2025, 1, 1), end=date(2025, 12, 31), kind="cervical")
        return sum(got.values())

    assert screened() == 1
    _void(session, w, "screening", s, actor="township", reason="录入错误")
    _void(session, w, "health_check", h, actor="township", reason="录入错误")
    assert screened() == 0 and core_tallies.check(session) == []


def test_a_correction_replaces_the_values_under_the_rules_and_is_audited_with_before_and_after(session, w):
    """Issue 14 item 12: an entry can be corrected with a reason, audited; the tallies follow."""
    from weijian.core import tallies as core_tallies

    core_tallies.rebuild(session)
    visit_ = record(session, w, diagnoses=["J06.9"], start_date="2025-05-31")
    fixed = _correct(session, w, visit_, reason="诊断录入错误", diagnoses=["J20.9", "I10"], start_date="2025-06-01")
    assert [d.code for d in fixed.diagnoses] == ["J20.9", "I10"] and fixed.primary_diagnosis == "J20.9"
    assert fixed.start_date == date(2025, 6, 1) and fixed.correction_reason == "诊断录入错误"
    assert core_tallies.check(session) == []
    event = rs.audit_events(session, w.people["man"].id, action="correct")[-1]
    detail = json.loads(event.detail)
    assert detail["before"] == {"diagnoses": ["J06.9"], "start_date": "2025-05-31"}
    assert detail["after"] == {"diagnoses": ["J20.9", "I10"], "start_date": "2025-06-01"}
    # the rules of recording hold: a man's pregnancy code, a date after today
    assert refused(session, lambda: _correct(session, w, visit_, reason="x", diagnoses=["O80.0"])) == {
        "diagnoses[0]": "care.records.errors.diagnosis_sex"}
    assert refused(session, lambda: _correct(session, w, visit_, reason="x", start_date="2025-07-01")) == {
        "start_date": "care.records.errors.date_future"}
    with pytest.raises(InvalidState):
        _correct(session, w, visit_, reason="没有改动", start_date="2025-06-01")


def test_a_corrected_stay_may_not_come_to_overlap_another(session, w):
    record(session, w, actor="county", type="inpatient", start_date="2025-06-01", end_date="2025-06-05")
    stay = record(session, w, actor="county", type="inpatient", start_date="2025-06-10")
    assert refused(session, lambda: _correct(session, w, stay, actor="county", reason="入院日期",
                                             start_date="2025-06-04")) == {
        "start_date": "care.records.errors.stay_overlaps"}
    assert _correct(session, w, stay, actor="county", reason="入院日期", start_date="2025-06-05").start_date == date(
        2025, 6, 5)


def _correct_entry(session, w, entry_kind, entry, actor="township", **values):
    from weijian.care.records import service as records
    from weijian.care.records.schemas import HealthCheckCorrection, ScreeningCorrection

    if entry_kind == "health_check":
        return records.correct_health_check(session=session, health_check_id=entry.id, actor=w.actors[actor],
                                            today=TODAY, correction_in=commands.build(HealthCheckCorrection, values))
    return records.correct_screening(session=session, screening_id=entry.id, actor=w.actors[actor], today=TODAY,
                                     correction_in=commands.build(ScreeningCorrection, values))


def _county(fn, **kw):
    return fn(lo=f.COUNTY, hi=f.COUNTY[:6] + "999999", **kw)


def test_a_health_check_is_corrected_under_the_rules_of_recording_and_the_elderly_count_follows(session, w):
    """Issue 14 item 12 (an entry corrected with a reason, audited, the tallies follow). The annual check counts
    for residents aged 65 and over: 国家基本公共卫生服务规范（第三版）老年人健康管理服务规范, 服务对象
    "辖区内65岁及以上常住居民" (as record_rules.yaml cites it)."""
    from weijian.care import counts
    from weijian.core import tallies as core_tallies
    from weijian.core.periods import parse_period

    core_tallies.rebuild(session)
    elder = rs.create_health_check(session=session, actor=w.actors["township"], today=TODAY, values={
        "resident_id": w.people["elder"].id, "date": "2025-06-01", "kind": "annual_65", "sbp": 130, "dbp": 80})
    man = rs.create_health_check(session=session, actor=w.actors["township"], today=TODAY, values={
        "resident_id": w.people["man"].id, "date": "2025-06-01", "kind": "general", "sbp": 130, "dbp": 80})
    year = [parse_period("2025")]

    def checked() -> int:
        return sum(_county(counts.elderly_checked, session=session, periods=year)[0].values())

    assert checked() == 1
    fixed = _correct_entry(session, w, "health_check", elder, reason="体检类型选错", kind="general",
                           height_cm="170", weight_kg="65")
    assert fixed.kind == "general" and str(fixed.bmi) == "22.5" and fixed.correction_reason == "体检类型选错"
    assert checked() == 0 and core_tallies.check(session) == []
    detail = json.loads(rs.audit_events(session, w.people["elder"].id, action="correct")[-1].detail)
    assert detail["before"]["kind"] == "annual_65" and detail["after"]["kind"] == "general"
    # the rules of recording hold: 55 years old is no 65+ annual check; diastolic below systolic; a reason
    assert refused(session, lambda: _correct_entry(session, w, "health_check", man, reason="x",
                                                   kind="annual_65")) == {
        "kind": "care.records.errors.annual_65_too_young"}
    assert refused(session, lambda: _correct_entry(session, w, "health_check", man, dbp=140)) == {
        "reason": "core.errors.validation.missing", "dbp": "care.records.errors.dbp_not_below_sbp"}
    # only the facility that recorded it
    assert refused(session, lambda: _correct_entry(session, w, "health_check", man, actor="village", reason="x",
                                                   sbp=125)) == {"facility_id": "care.records.errors.facility_not_own"}


def test_a_screening_is_corrected_under_the_programme_ages_and_the_counts_follow(session, w):
    """The 两癌 programmes screen women aged 35 to 64: 国家卫生健康委 宫颈癌筛查工作方案 / 乳腺癌筛查工作方案
    (2022): "筛查服务对象范围由以往的农村适龄妇女扩大为城乡适龄（35至64周岁）妇女" (新华社 2022-01-18, research14 §3).
    A correction of the kind moves the screening from one count to the other; a result of another kind is
    refused; a date moved to before her 35th birthday is refused."""
    from weijian.care import counts
    from weijian.core import tallies as core_tallies

    core_tallies.rebuild(session)
    s = rs.create_screening(session=session, actor=w.actors["township"], today=TODAY, values={
        "resident_id": w.people["woman"].id, "date": "2025-06-01", "kind": "cervical", "result": "negative"})

    def screened(kind: str) -> int:
        return sum(_county(counts.screening_counts, session=session, start=date(2025, 1, 1), end=date(2025, 12, 31),
                           kind=kind).values())

    assert (screened("cervical"), screened("breast")) == (1, 0)
    assert refused(session, lambda: _correct_entry(session, w, "screening", s, reason="x", result="low_risk")) == {
        "result": "care.records.errors.screening_result_unknown"}
    # born 1985-03-08: 34 on 2020-03-07, 35 on 2020-03-08
    assert refused(session, lambda: _correct_entry(session, w, "screening", s, reason="x", date="2020-03-07")) == {
        "kind": "care.records.errors.screening_age"}
    fixed = _correct_entry(session, w, "screening", s, reason="筛查类型选错", kind="breast")
    assert fixed.kind == "breast" and (screened("cervical"), screened("breast")) == (0, 1)
    assert core_tallies.check(session) == []
    assert _correct_entry(session, w, "screening", s, reason="日期", date="2020-03-08").date == date(2020, 3, 8)
    with pytest.raises(InvalidState):
        _correct_entry(session, w, "screening", s, reason="没有改动", kind="breast")


def test_a_settled_stay_is_voided_only_once_its_settlement_is_reversed(session, w):
    """Issue 14 item 12 (a settled stay and its void): "该住院已结算，须先冲销结算后再作废" names the
    settlement; after the reversal (冲销) the stay is voided, and settlement neither lists it as pending nor
    settles it again."""
    from weijian.core.i18n import Translator
    from weijian.settlement import service as settlement_service
    from weijian.settlement.settle.schemas import PendingIn, ReverseIn, SettleIn

    stay = record(session, w, actor="county", type="inpatient", start_date="2025-06-02", end_date="2025-06-05",
                  diagnoses=["J18.9"], total_cost="3000", in_policy_cost="2500")
    [live] = settlement_service.for_encounter(session=session, actor=w.actors["county"], encounter_id=stay.id)
    with pytest.raises(InvalidState) as info:
        _void(session, w, "encounter", stay, actor="county", reason="登记错误")
    assert info.value.message_key == "care.records.errors.settled_stay_not_voided"
    message = Translator("zh_CN")(info.value.message_key, **info.value.params)
    assert message.startswith("该住院已结算") and message.endswith("须先冲销结算后再作废")
    assert f"结算单 {live.id}" in message and session.get(Encounter, stay.id).voided_at is None
    settlement_service.reverse(session=session, actor=w.actors["county"], settlement_id=live.id,
                               reverse_in=ReverseIn(reason="住院登记错误"))
    assert _void(session, w, "encounter", stay, actor="county", reason="登记错误").voided_at is not None
    pending = session.execute(settlement_service.pending_statement(actor=w.actors["county"], year=2025)).all()
    assert stay.id not in [r.id for r in pending]
    assert settlement_service.settle_pending(session=session, actor=w.actors["county"],
                                             pending_in=PendingIn(year=2025)) == 0
    with pytest.raises(InvalidState):
        settlement_service.settle_encounter(session=session, actor=w.actors["county"],
                                            settle_in=SettleIn(encounter_id=stay.id))


def test_an_open_stay_voided_is_not_discharged_afterwards(session, w):
    stay = record(session, w, actor="township", type="inpatient", start_date="2025-06-01")
    _void(session, w, "encounter", stay, actor="township", reason="重复登记")
    with pytest.raises(InvalidState):
        rs.discharge(session=session, encounter_id=stay.id, actor=w.actors["township"], end_date="2025-06-05",
                     today=TODAY)


def _registration(session, resident):
    from weijian.care.models import ChronicRegistration

    return session.query(ChronicRegistration).filter_by(resident_id=resident.id, program="hypertension").one()


def test_voiding_the_last_diagnosis_that_registered_a_patient_closes_the_registration(session, w):
    """国家基本公共卫生服务规范（第三版）高血压患者健康管理服务规范: "对已确诊的原发性高血压患者纳入高血压患者健康
    管理" (360docs 404502669, research14 §1a). A registration made from a diagnosis rests on it: while another
    live visit carries the diagnosis it stays; when the last is voided as recorded in error nothing confirms
    the patient any more, and the registration is closed as 诊断更正 (kept, with its history)."""
    first = record(session, w, diagnoses=["I10"], start_date="2025-05-01")
    second = record(session, w, diagnoses=["J06.9", "I10"], start_date="2025-06-01")
    registration = _registration(session, w.people["man"])
    assert registration.status == "active" and registration.encounter_id == first.id
    _void(session, w, "encounter", first)
    assert registration.status == "active"  # the second visit still carries I10
    _void(session, w, "encounter", second)
    assert registration.status == "closed" and registration.closed_on is not None
    close = rs.audit_events(session, w.people["man"].id, action="close", entity_type="chronic_registration")[-1]
    assert json.loads(close.detail)["reason"] == "diagnosis_revised"
    void = rs.audit_events(session, w.people["man"].id, action="void")[-1]
    assert json.loads(void.detail)["chronic_closed"] == [registration.id]


def test_a_correction_that_takes_the_last_diagnosis_off_closes_the_registration_too(session, w):
    """The same text as above: a diagnosis corrected away was recorded in error, as a voided one; a
    correction to another code of the programme (I10 → I11.9, both 高血压) keeps the registration."""
    visit_ = record(session, w, diagnoses=["I10"])
    registration = _registration(session, w.people["man"])
    _correct(session, w, visit_, reason="诊断更正", diagnoses=["I11.9"])
    assert registration.status == "active"
    _correct(session, w, visit_, reason="诊断录入错误", diagnoses=["J20.9"])
    assert registration.status == "closed"


# --- (4) walk-ins ---------------------------------------------------------------------------------
def test_a_village_doctor_records_the_visit_of_a_walk_in_from_a_neighbouring_village(session, w):
    """Issue 14 item 14: a village doctor records a visit of a resident of a neighbouring village (counted
    where the care happened), with the access basis `walk_in` audited. Neighbouring: the same township."""
    from weijian.care.records import service as records

    neighbour = f.make_resident(session, name="钱西河", sex="male", birth_date=date(1975, 2, 2),
                                village_code=f.VILLAGE_A2)
    visit_ = rs.create_encounter(session=session, actor=w.actors["village"], today=TODAY,
                                 values=visit(resident_id=neighbour.id))
    assert visit_.facility_id == w.facilities["clinic_a1"].id  # where the care happened
    event = rs.audit_events(session, neighbour.id, action="create", entity_type="encounter")[-1]
    assert event.basis == "walk_in"
    # the doctor reads (and may void) what they recorded, on the same basis
    assert records.get_encounter(session=session, encounter_id=visit_.id, actor=w.actors["village"]).id == visit_.id
    assert rs.audit_events(session, neighbour.id, action="read", entity_type="encounter")[-1].basis == "walk_in"
    # a walk-in is a visit: no stay, no check, no screening of the neighbour, and no one from another township
    with pytest.raises(NotFound):
        rs.create_health_check(session=session, actor=w.actors["village"], today=TODAY, values={
            "resident_id": neighbour.id, "date": "2025-06-01", "sbp": 120, "dbp": 80})
    with pytest.raises(NotFound):
        rs.create_encounter(session=session, actor=w.actors["village"], today=TODAY,
                            values=visit(resident_id=w.people["other_town"].id))


def test_a_walk_in_visit_is_counted_as_primary_care_where_it_happened(session, w):
    """The visit at the village clinic counts as a primary-care visit (基层就诊) of the facility that gave it."""
    from weijian.care import counts

    neighbour = f.make_resident(session, name="钱西河", sex="male", birth_date=date(1975, 2, 2),
                                village_code=f.VILLAGE_A2)
    rs.create_encounter(session=session, actor=w.actors["village"], today=TODAY,
                        values=visit(resident_id=neighbour.id))
    got = counts.encounter_counts(session=session, lo=f.COUNTY, hi=f.COUNTY[:6] + "999999",
                                  start=date(2025, 1, 1), end=date(2025, 12, 31))
    assert sum(v[1] for v in got.values()) == 1  # outpatient_primary
