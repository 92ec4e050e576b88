"""The demo county's health education (care.education): each township centre's and village clinic's
activities over the last year and this year up to the reference date — lectures month by month (every two
months at a clinic), consultations on the health days, bulletin boards every two months, printed and
audio-visual materials of several titles — most facilities keeping pace with the 规范's minimums, about a
quarter (and the demo village's clinic) behind. No photos (the demo writes no files). Written in bulk."""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from weijian.care.education import rules
from weijian.care.education.models import EducationActivity
from weijian.core import clock
from weijian.orgunits.models import Facility

BEHIND_SHARE = 0.25
LECTURES = ("高血压的防治", "糖尿病的自我管理", "合理膳食与健康", "控烟与健康", "老年人跌倒预防", "结核病防治知识",
            "孕产期保健", "儿童预防接种", "心理健康与睡眠", "冬季呼吸道传染病预防", "中医养生保健", "合理用药")
HEALTH_DAYS = (("03-24", "世界防治结核病日宣传咨询"), ("04-07", "世界卫生日义诊咨询"),
               ("04-25", "全国儿童预防接种日咨询"), ("05-31", "世界无烟日咨询"), ("06-06", "全国爱眼日咨询"),
               ("09-01", "全民健康生活方式日咨询"),
               ("10-08", "全国高血压日义诊"), ("11-14", "联合国糖尿病日咨询"), ("12-01", "世界艾滋病日宣传咨询"))
MATERIALS = ("高血压防治手册", "糖尿病防治折页", "控烟宣传单", "健康素养66条", "孕产妇保健手册", "儿童免疫规划折页",
             "结核病防治宣传单", "艾滋病防治折页", "老年人健康管理手册", "合理膳食宝塔", "中医药健康管理折页",
             "传染病防治宣传单", "心理健康宣传册", "慢阻肺防治折页")
VIDEOS = ("高血压防治科普片", "糖尿病饮食指导", "控烟公益片", "儿童预防接种科普", "结核病防治科普", "八段锦教学",
          "急救常识", "艾滋病防治宣传片")


@dataclass(frozen=True)
class EducationSummary:
    facilities: int
    activities: int
    behind: int


def _day(rng: random.Random, year: int, month: int) -> date:
    return date(year, month, rng.randint(1, 28))


def build(*, session: Session, seed: int, reference: date, demo_village: str | None = None) -> EducationSummary:
    """Write the activities for the facilities already in the database; flushes, never commits."""
    rng = random.Random(f"weijian-demo-education-{seed}")
    r = rules.rules()
    facilities = session.execute(select(Facility.id, Facility.type, Facility.orgunit_code)
                                 .where(Facility.type.in_(list(r.minimums))).order_by(Facility.id)).all()
    now = clock.now()
    rows: list[dict[str, object]] = []
    behind = 0
    for fid, ftype, code in facilities:
        lagging = rng.random() < BEHIND_SHARE or code == demo_village
        behind += lagging
        centre = ftype != "village_clinic"
        place = "卫生院健教室" if centre else "村卫生室"
        for year in (reference.year - 1, reference.year):
            pace = rng.uniform(0.45, 0.8) if lagging and year == reference.year else 1.0
            planned: list[tuple[str, date, str, int]] = []
            for month in range(1, 13) if centre else range(1, 13, 2):
                m = month if centre else month + rng.randint(0, 1)
                planned.append(("lecture", _day(rng, year, m), rng.choice(LECTURES), rng.randint(15, 60)))
            for month in range(2, 13, 2):
                board = f"{month}月健康教育宣传栏：{rng.choice(LECTURES)}"
                planned.append(("bulletin", _day(rng, year, month), board, 0))
            for n, title in enumerate(rng.sample(MATERIALS, 12)):
                planned.append(("materials", _day(rng, year, 1 + n), title, rng.randint(50, 300)))
            if centre:
                for md, topic in HEALTH_DAYS:
                    planned.append(("consultation", date.fromisoformat(f"{year}-{md}"), topic, rng.randint(40, 200)))
                for n, title in enumerate(rng.sample(VIDEOS, 6)):
                    planned.append(("video", _day(rng, year, 1 + 2 * n), title, rng.randint(20, 80)))
            rows += [{"facility_id": fid, "kind": kind, "date": on, "topic": topic, "place": place,
                      "audience": audience, "created_at": now, "created_by": "demo"}
                     for kind, on, topic, audience in planned if on <= reference and rng.random() < pace]
    if rows:
        session.connection().execute(insert(EducationActivity.__table__), rows)
    session.flush()
    return EducationSummary(facilities=len(facilities), activities=len(rows), behind=behind)
