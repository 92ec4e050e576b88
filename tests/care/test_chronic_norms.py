"""Chronic-disease management held to the national text: 国家基本公共卫生服务规范（第三版）, 国家卫生计生委 2017
(国卫基层发〔2017〕13号), 高血压患者健康管理服务规范 and 2型糖尿病患者健康管理服务规范. The values below are
transcribed from that text (as quoted in the copies chronic_programs.yaml names), never read from our data file."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from tests import factories as f
from tests.care import records_setup as rs
from weijian.care.chronic import service as chronic
from weijian.care.chronic.schemas import ChronicRegister
from weijian.care.models import ChronicRegistration
from weijian.core.commands import build
from weijian.core.errors import InvalidInput

TODAY = date(2025, 12, 31)


@pytest.fixture()
def village_doctor(session):
    from weijian.accounts import service as accounts_service

    f.make_county(session)
    return accounts_service.actor_for(f.make_user(session, "village_doctor", f.VILLAGE_A1))


def register(session, actor, resident, program="hypertension", on="2025-06-01"):
    return chronic.register(session=session, registration_in=build(
        ChronicRegister, resident_id=resident.id, program=program, registered_on=on), actor=actor, today=TODAY)


# --- item 1: who is managed ---------------------------------------------------------------------------
@pytest.mark.parametrize("program", ["hypertension", "diabetes"])
def test_a_resident_under_35_is_not_registered_and_35_is(session, village_doctor, program):
    """服务对象: "辖区内35岁及以上常住居民中原发性高血压患者" / "…中2型糖尿病患者" (规范 第三版). A child
    or a 34-year-old is refused naming the resident and the rule; the day he turns 35 he is registered."""
    child = f.make_resident(session, birth_date=date(2015, 3, 1))
    young = f.make_resident(session, birth_date=date(1990, 6, 2))  # 34 on 2025-06-01
    for person in (child, young):
        with pytest.raises(InvalidInput) as exc:
            register(session, village_doctor, person, program)
        [err] = exc.value.errors
        assert (err.field, err.reason_key) == ("resident_id", "care.chronic.errors.under_min_age")
        assert err.params["min_age"] == 35
    assert session.scalars(select(ChronicRegistration)).all() == []
    turned = f.make_resident(session, birth_date=date(1990, 6, 1))  # 35 on 2025-06-01
    assert register(session, village_doctor, turned, program).status == "active"


def test_the_age_refusal_is_worded_in_chinese_and_english():
    """The refusal names the rule: 35岁及以上 (规范 第三版, 服务对象)."""
    from weijian.core.i18n import catalog

    assert "35岁及以上" in catalog("zh_CN")["care.chronic.errors.under_min_age"].format(
        program="高血压", min_age=35, age=12)
    assert "35" in catalog("en")["care.chronic.errors.under_min_age"].format(
        program="Hypertension", min_age=35, age=12)


@pytest.fixture()
def w(session):
    return rs.build(session)


def registered_programs(session, resident) -> list[str]:
    return sorted(session.scalars(select(ChronicRegistration.program)
                                  .where(ChronicRegistration.resident_id == resident.id)))


@pytest.mark.parametrize(("code", "programs"), [
    ("I10", ["hypertension"]),  # 原发性高血压
    ("I11.9", ["hypertension"]), ("I12.9", ["hypertension"]), ("I13.9", ["hypertension"]),
    ("I15.9", []), ("I15.0", []),  # 继发性高血压: "对可疑继发性高血压患者，及时转诊", not managed
    ("E11.9", ["diabetes"]),  # 2型糖尿病
    ("E10.9", []), ("E14.9", []),  # type 1; unspecified: the clinician confirms type 2 by hand
])
def test_which_diagnoses_register_a_patient(session, w, code, programs):
    """服务对象 of 规范 第三版: primary (原发性) hypertension and type 2 diabetes. The text lists no ICD-10
    codes: I10–I13 and E11 register (weijian's reading, chronic_programs.yaml); secondary hypertension (I15)
    is referred, not registered from a diagnosis; E14 needs the clinician's confirmation."""
    rs.create_encounter(session=session, actor=w.actors["village"], today=rs.TODAY,
                        values=rs.visit(resident_id=w.people["man"].id, diagnoses=[code]))
    assert registered_programs(session, w.people["man"]) == programs


def test_a_diagnosis_does_not_register_a_patient_under_35(session, w):
    """服务对象: 35岁及以上 (规范 第三版): an I10 diagnosis of a 30-year-old is recorded, not registered."""
    young = f.make_resident(session, birth_date=date(1995, 1, 1))
    e = rs.create_encounter(session=session, actor=w.actors["village"], today=rs.TODAY,
                            values=rs.visit(resident_id=young.id, diagnoses=["I10"]))
    assert e.id is not None
    assert registered_programs(session, young) == []
