"""Maternal health pages: the register per village (next window, colour, referral needed), the
registration form, and the visit form refused with the error beside the field and the input kept."""
from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from tests import factories as f
from weijian.care.maternal.models import AntenatalVisit, PostpartumVisit, Pregnancy
from weijian.core import clock

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture()
def county(session):
    return f.make_county(session)


@pytest.fixture()
def login(client, session, county):
    client.headers.update(f.token_headers(session, f.make_user(session, "village_doctor", f.VILLAGE_A1)))


def csrf(client, url: str) -> str:
    res = client.get(url)
    assert res.status_code == 200, res.text
    return CSRF.search(res.text).group(1)


def _pregnancy(session, name, village=f.VILLAGE_A1, days=100, colour="green"):
    r = f.make_resident(session, name=name, sex="female", birth_date=date(1995, 1, 1), village_code=village)
    lmp = clock.today() - timedelta(days=days)
    p = Pregnancy(resident_id=r.id, lmp=lmp, edd=lmp + timedelta(days=280), registered_on=lmp + timedelta(days=50),
                  booked_weeks=7, status="open", risk_colour=colour, created_by="test")
    session.add(p)
    session.flush()
    return p


def test_register_lists_the_village_women_with_next_window_and_referral_flag(client, session, login):
    red = _pregnancy(session, "高危孕妇", colour="red")
    _pregnancy(session, "普通孕妇")
    _pregnancy(session, "邻村孕妇", village=f.VILLAGE_A2)
    res = client.get("/care/maternal")
    assert res.status_code == 200
    html = res.text
    assert "孕产妇登记" in html and 'href="/care/maternal"' in html
    assert html.count('data-testid="pregnancy-row"') == 2 and "邻村孕妇" not in html
    assert html.index("高危孕妇") < html.index("普通孕妇")  # a referral needed comes first
    assert 'data-testid="needs-referral"' in html and "第1次 逾期" in html
    detail = client.get(f"/care/maternal/pregnancies/{red.id}")
    assert detail.status_code == 200 and "红色（高风险）" in detail.text
    assert f"/care/referrals/new?resident_id={red.resident_id}" in detail.text


def test_registration_form_registers_and_redirects(client, session, login):
    woman = f.make_resident(session, sex="female", birth_date=date(1995, 1, 1))
    token = csrf(client, "/care/maternal/new")
    lmp = clock.today() - timedelta(days=40)
    res = client.post("/care/maternal/new", data={"csrf_token": token, "resident_id": str(woman.id),
                                                  "lmp": lmp.isoformat(), "registered_on": clock.today().isoformat(),
                                                  "gravidity": "2", "parity": "1"}, follow_redirects=False)
    assert res.status_code == 303, res.text
    p = session.scalars(select(Pregnancy).where(Pregnancy.resident_id == woman.id)).one()
    assert res.headers["location"] == f"/care/maternal/pregnancies/{p.id}" and (p.gravidity, p.parity) == (2, 1)


def test_a_refused_visit_form_keeps_the_input_and_names_the_field(client, session, login):
    p = _pregnancy(session, "晚建册孕妇", days=120)
    url = f"/care/maternal/pregnancies/{p.id}"
    token = csrf(client, url)
    res = client.post(f"{url}/visits", data={"csrf_token": token, "number": "1", "date": clock.today().isoformat(),
                                             "findings": "胎心正常"})
    assert res.status_code == 422
    assert 'data-testid="error-out_of_window_reason"' in res.text and "胎心正常" in res.text
    assert session.scalar(select(func.count()).select_from(AntenatalVisit)) == 0
    ok = client.post(f"{url}/visits", data={"csrf_token": token, "number": "1", "date": clock.today().isoformat(),
                                            "out_of_window_reason": "外出务工返乡"}, follow_redirects=False)
    assert ok.status_code == 303


def test_the_village_doctors_worklist_lists_antenatal_visits_overdue_or_due(client, session, login):
    """今日工作 gathers the packages (issue 17 item 7): a woman whose first visit (before 13 weeks: LMP … LMP + 90
    days) has passed unrecorded is overdue, one 30 days after her LMP is due; one whose first visit is recorded
    and whose second window (16–20 weeks) has not opened is not listed, nor is a woman of another village."""
    _pregnancy(session, "逾期孕妇", days=100)
    _pregnancy(session, "应访孕妇", days=30)
    done = _pregnancy(session, "已检孕妇", days=100)
    session.add(AntenatalVisit(pregnancy_id=done.id, resident_id=done.resident_id, number=1,
                               date=done.lmp + timedelta(days=60), weeks=8, days=4, created_by="test"))
    _pregnancy(session, "邻村孕妇", village=f.VILLAGE_A2, days=100)
    session.flush()
    html = client.get("/care/worklist").text
    section = html[html.index('data-testid="worklist-antenatal"'):]
    section = section[:section.index("</section>")]
    assert section.count('data-testid="antenatal-row"') == 2
    assert section.index("逾期孕妇") < section.index("应访孕妇")  # overdue first
    assert 'data-status="overdue"' in section and 'data-status="due"' in section
    assert "已检孕妇" not in section and "邻村孕妇" not in section



def _delivered(session, name, delivered_ago, discharged_ago=None, visits=()):
    p = _pregnancy(session, name, days=delivered_ago + 270)
    p.status, p.outcome, p.live_births = "delivered", "live_birth", 1
    p.delivered_on = clock.today() - timedelta(days=delivered_ago)
    p.discharged_on = clock.today() - timedelta(days=discharged_ago) if discharged_ago is not None else None
    for kind, ago in visits:
        on = clock.today() - timedelta(days=ago)
        session.add(PostpartumVisit(pregnancy_id=p.id, resident_id=p.resident_id, kind=kind, date=on,
                                    days_after_discharge=(on - (p.discharged_on or p.delivered_on)).days,
                                    created_by="test"))
    session.flush()
    return p


def test_the_worklist_lists_postpartum_visits_due_or_overdue(client, session, login):
    """The 规范's postpartum home visit within a week of discharge (maternal.yaml postpartum_home_days 7: due
    on days 0–7 after it, overdue on days 8–28, postpartum_rate_days, then gone) and the 42-day check (due on
    days 42–56 after the delivery, the window the service accepts): worked by hand from today."""
    _delivered(session, "出院三天", delivered_ago=5, discharged_ago=3)  # home: day 3 → due
    _delivered(session, "出院十天", delivered_ago=12, discharged_ago=10)  # home: day 10 → overdue
    _delivered(session, "出院三十天", delivered_ago=32, discharged_ago=30)  # home: day 30 > 28; 42-day not open
    _delivered(session, "产后四十五天", delivered_ago=45, discharged_ago=43, visits=[("home", 40)])  # 42-day due
    _delivered(session, "都已完成", delivered_ago=45, discharged_ago=43, visits=[("home", 40), ("check_42", 1)])
    session.flush()
    html = client.get("/care/worklist").text
    section = html[html.index('data-testid="worklist-postpartum"'):]
    section = section[:section.index("</section>")]
    assert section.count('data-testid="postpartum-row"') == 3
    assert section.index("出院十天") < section.index("出院三天")  # overdue first
    assert 'data-status="overdue" data-kind="home"' in section
    assert 'data-status="due" data-kind="check_42"' in section and "产后四十五天" in section
    assert "出院三十天" not in section and "都已完成" not in section


def test_a_delivery_and_its_newborns_registration_link_to_each_other(client, session, county):
    """The delivery ↔ newborn link (issue 17 part 2): the mother's delivery on the day of the birth (county
    time) and the newborn's birth registration (immunization's 出生"一件事") — twins two — each page links to
    the other (through the composition root's hooks); another woman's baby is not listed."""
    from datetime import UTC, datetime

    from weijian.immunization.models import BirthRegistration

    hospital = f.make_facility(session, name="县人民医院", type="county_general", orgunit_code=f.COUNTY)
    doctor = f.make_user(session, "county_doctor", f.COUNTY, facility_id=hospital.id)
    client.headers.update(f.token_headers(session, doctor))
    p = _delivered(session, "产妇甲", delivered_ago=3, discharged_ago=1)
    other = _delivered(session, "产妇乙", delivered_ago=3, discharged_ago=1)
    # 08:00 in the county on the delivery day is 00:00 UTC of it.
    born = datetime.combine(p.delivered_on, datetime.min.time(), tzinfo=UTC)
    births = []
    for n, (mother, name) in enumerate(((p, "甲之长子"), (p, "甲之次子"), (other, "乙之女"))):
        child = f.make_resident(session, name=name, sex="male", birth_date=p.delivered_on, village_code=f.VILLAGE_A1)
        b = BirthRegistration(child_id=child.id, mother_id=mother.resident_id, facility_id=hospital.id,
                              birth_certificate_number=f"TL{n:07d}", born_at=born, birth_weight_g=3100,
                              gestational_weeks=39, created_by="test")
        session.add(b)
        session.flush()
        births.append(b)
    html = client.get(f"/care/maternal/pregnancies/{p.id}").text
    links = html[html.index('data-testid="newborns"'):]
    links = links[:links.index("</p>")]
    assert "甲之长子" in links and "甲之次子" in links and "乙之女" not in links
    assert f'href="/immunization/newborns/{births[0].id}"' in links
    page = client.get(f"/immunization/newborns/{births[1].id}")
    assert page.status_code == 200
    assert f'href="/care/maternal/pregnancies/{p.id}" data-testid="pregnancy-link"' in page.text
    theirs = client.get(f"/immunization/newborns/{births[2].id}").text
    assert f'href="/care/maternal/pregnancies/{other.id}"' in theirs
