"""The demo's hazard ledger and practical projects (issue 18 parts 1–2): a fire-safety and safety-production
sweep of the township centres and county hospitals over the 90 days before `reference` (problems closed on
time and late, awaiting verification, open and not yet due, and overdue — so the escalation list is not
empty), and 20 practical projects of the reference year in the 6 categories with quarterly milestones and
monthly progress entered up to `reference` (some behind the calendar, some ahead), one computed from the
prenatal screening rate. Rows are written directly (a few hundred), dated on or before `reference`, from
their own `random.Random(seed)` so that the other parts' draws are unchanged."""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from weijian.ledgers.hazards.models import Inspection, Problem, Rectification
from weijian.ledgers.hazards.rules import rules as hazard_rules
from weijian.ledgers.projects.models import Milestone, ProgressEntry, Project
from weijian.orgunits.models import Facility

BY = "demo"
INSPECTED_TYPES = ("township_centre", "county_general", "county_tcm", "county_mch")
# (location, problem, standard to meet) of the sweep, per category.
FINDINGS = {
    "fire": [("门诊楼二楼", "安全出口被杂物堵塞", "疏散通道、安全出口畅通，无杂物堆放"),
             ("住院部走廊", "灭火器过期未更换", "灭火器在有效期内，压力正常，每月巡查记录齐全"),
             ("病房楼", "应急照明灯不亮", "应急照明和疏散指示标志完好有效")],
    "electrical": [("配电房", "电缆老化、私拉乱接", "线路规范敷设，无私拉乱接，配电箱上锁"),
                   ("病房", "使用大功率电器", "病房内不使用违规大功率电器")],
    "hazardous_chemicals": [("检验科", "危化品未双人双锁管理", "危险化学品专柜存放，双人双锁，台账完整")],
    "medical_gas": [("氧气间", "氧气瓶未固定、无防倾倒措施", "气瓶直立固定，空瓶满瓶分区存放并标识")],
    "construction": [("改扩建工地", "施工区域未设置硬质围挡", "施工区与诊疗区硬质隔离，动火作业审批")],
    "medical_waste": [("医疗废物暂存间", "交接登记不全", "医疗废物分类收集，交接登记完整，48小时内转运")],
}
COMPUTED = {"村卫生室规范化建设": "standard:village_clinic", "乡镇卫生院“四化”建设": "standard:township_quality",
            "孕妇产前筛查": "indicator:prenatal_screening_rate"}
INSPECTORS = ("县卫健局安全检查组", "县消防救援大队联合检查组")
LEADERS = ("分管副院长", "院长", "后勤副院长")
PERSONS = ("总务科长", "保卫科长", "设备科长", "院感科长")
# (category, name, owner, unit, target, pace): pace is the share of the calendar's expectation reached;
# None: the figure is computed (COMPUTED: from the indicator file or the standardisation checklists).
PROJECTS = [
    ("primary_care", "村卫生室规范化建设", "基层卫生股", "facility", 150, None),  # computed: the checklists
    ("primary_care", "乡镇卫生院“四化”建设", "基层卫生股", "facility", 11, None),
    ("primary_care", "基层医疗卫生机构订单定向医学生招录", "人事股", "person", 30, Decimal("1.10")),
    ("primary_care", "村医学历提升培训", "科教股", "person", 200, Decimal("0.95")),
    ("emergency_care", "公共场所配置AED", "医政股", "device", 993, Decimal("0.80")),
    ("emergency_care", "乡镇急救站点建设", "医政股", "facility", 6, Decimal("1.05")),
    ("emergency_care", "群众急救技能培训", "医政股", "person_time", 20000, Decimal("1.20")),
    ("elderly", "老年人智能手机使用培训", "老龄健康股", "person_time", 87422, Decimal("1.02")),
    ("elderly", "医养结合机构建设", "老龄健康股", "facility", 4, Decimal("0.70")),
    ("elderly", "65岁及以上老年人免费健康体检", "基本公卫股", "person", 52000, Decimal("0.98")),
    ("maternal_child", "适龄妇女两癌免费筛查", "妇幼股", "person", 12000, Decimal("0.92")),
    ("maternal_child", "新生儿疾病免费筛查", "妇幼股", "person", 2600, Decimal("1.00")),
    ("maternal_child", "孕妇产前筛查", "妇幼股", "percent", 90, None),  # computed: the indicator
    ("public_health", "严重精神障碍患者免费服药", "疾控股", "person", 800, Decimal("0.99")),
    ("public_health", "农村改厕与健康村建设", "爱卫办", "item", 40, Decimal("0.75")),
    ("public_health", "重点人群结核病筛查", "疾控股", "person", 15000, Decimal("1.08")),
    ("digital", "电子健康档案向居民开放", "规划信息股", "person", 300000, Decimal("0.96")),
    ("digital", "远程会诊覆盖乡镇卫生院", "规划信息股", "facility", 11, Decimal("1.00")),
    ("digital", "检查检验结果互认", "医政股", "item", 120, Decimal("0.85")),
    ("digital", "“互联网+护理服务”试点", "医政股", "facility", 3, Decimal("1.15")),
]


@dataclass(frozen=True)
class LedgersSummary:
    inspections: int
    problems: int
    overdue: int
    projects: int


def build(*, session: Session, seed: int, reference: date) -> LedgersSummary:
    rng = random.Random(f"ledgers:{seed}")
    hazards = _hazards(session, rng, reference)
    projects = _projects(session, rng, reference)
    session.flush()
    return LedgersSummary(hazards[0], hazards[1], hazards[2], projects)


def _hazards(session: Session, rng: random.Random, reference: date) -> tuple[int, int, int]:
    facilities = list(session.scalars(select(Facility).where(Facility.type.in_(INSPECTED_TYPES))
                                      .order_by(Facility.code)))
    categories = [c for c in FINDINGS if c in hazard_rules().categories]
    inspections = problems = overdue = 0
    for n, fac in enumerate(facilities):
        category = categories[n % len(categories)]
        inspected = reference - timedelta(days=rng.randint(15, 90))
        inspection = Inspection(facility_id=fac.id, orgunit_code=fac.orgunit_code, category=category,
                                inspected_on=inspected, inspector=rng.choice(INSPECTORS), recorded_by=BY)
        session.add(inspection)
        session.flush()
        inspections += 1
        for location, text, standard in rng.sample(FINDINGS[category], k=min(len(FINDINGS[category]),
                                                                            rng.randint(1, 2))):
            deadline = inspected + timedelta(days=rng.choice((7, 15, 30)))
            problem = Problem(inspection_id=inspection.id, facility_id=fac.id, orgunit_code=fac.orgunit_code,
                              location=location, description=text,
                              severity="major" if rng.random() < 0.2 else "general",
                              responsible_person=f"{fac.name[:3]}{rng.choice(PERSONS)}",
                              responsible_leader=f"{fac.name[:3]}{rng.choice(LEADERS)}", deadline=deadline,
                              standard=standard, status="open", recorded_by=BY)
            session.add(problem)
            session.flush()
            problems += 1
            fate = rng.random()
            if fate < 0.45:  # rectified and accepted (on time, or a few days late)
                done = min(deadline + timedelta(days=rng.choice((-5, -2, 0, 3))), reference - timedelta(days=1))
                done = max(done, inspected)
                session.add(Rectification(problem_id=problem.id, done_on=done, measures=f"已按要求整改：{standard}",
                                          reported_by=fac.name, verdict="accepted", verified_by=INSPECTORS[0],
                                          verified_on=min(done + timedelta(days=2), reference)))
                problem.status, problem.closed_on = "closed", done
            elif fate < 0.6:  # rectified, awaiting verification
                done = max(min(deadline, reference - timedelta(days=1)), inspected)
                session.add(Rectification(problem_id=problem.id, done_on=done, measures="已整改，申请验收",
                                          reported_by=fac.name))
                problem.status = "submitted"
            if problem.status != "closed" and deadline < reference:
                overdue += 1
    return inspections, problems, overdue


def _projects(session: Session, rng: random.Random, reference: date) -> int:
    start, end = date(reference.year, 1, 1), date(reference.year, 12, 31)
    total = (end - start).days + 1
    for category, name, owner, unit, target, pace in PROJECTS:
        project = Project(name=name, category=category, owner=owner, person_in_charge=None, unit=unit,
                          target=Decimal(target), starts_on=start, ends_on=end, tolerance=Decimal("0.05"),
                          source=COMPUTED.get(name) if pace is None else None, created_by=BY)
        session.add(project)
        session.flush()
        for quarter in range(1, 5):
            due = date(reference.year, quarter * 3, 1) + timedelta(days=31)
            due = due.replace(day=1) - timedelta(days=1)  # the quarter's last day
            figure = Decimal(target) * quarter / 4
            reached = None
            if pace is not None and due <= reference and pace >= 1:
                reached = due
            session.add(Milestone(project_id=project.id, title=f"第{quarter}季度完成{quarter * 25}%",
                                  due_on=due, target_done=figure.quantize(Decimal("1")), reached_on=reached,
                                  created_by=BY))
        if pace is None:
            continue
        month = 1
        while True:
            day = (date(reference.year, month, 1) + timedelta(days=31)).replace(day=1) - timedelta(days=1)
            if day > reference:
                day = reference
            expected = Decimal((day - start).days + 1) / total
            jitter = Decimal(rng.uniform(-0.02, 0.02)).quantize(Decimal("0.0001"))
            done = (Decimal(target) * expected * (pace + jitter)).quantize(Decimal("1"))
            done = max(Decimal(0), done)
            note = "超额完成，已报县政府督查室备案" if done > target else None
            session.add(ProgressEntry(project_id=project.id, as_of=day, done=done, note=note,
                                      evidence=f"{owner}{day.month}月进度报表", recorded_by=BY))
            if day >= reference or month == 12:
                break
            month += 1
    return len(PROJECTS)
