"""The roster import's fast write path (issue 15 item 5) against the ORM: the same roster's households and
residents written by the importer's bulk path (plain tuples through the driver, COPY on PostgreSQL, ids
read back by range, the tallies applied once for the sources a new resident counts in) and, in the same
database, by ORM objects flushed one table at a time (the history's mapper events and the tallies' flush
listeners doing what they do for every other write) leave identical rows, residence histories, tallies
and audit."""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from tests import factories as f
from tests.residents.test_import import SYSTEM, family, person, write_xlsx
from weijian.accounts.models import AuditEvent
from weijian.core import clock
from weijian.core import tallies as core_tallies
from weijian.residents import service as residents_service
from weijian.residents.importer import service as importer
from weijian.residents.models import Household, Resident, ResidentGroup, ResidentResidence


def orm_households(session, households) -> int:
    """The households as ORM objects, one flush (the reference for `_insert_households`)."""
    objs = [(h, Household(number=h.number, village_code=h.village_code, address=h.address)) for h in households]
    session.add_all([o for _, o in objs])
    session.flush()
    for h, o in objs:
        h.db_id = o.id
    return len(households)


def orm_residents(session, rows) -> int:
    """The residents and their groups as ORM objects, one flush (the reference for `_insert_residents`):
    their residence history opened by its mapper event, the tallies counted by the flush listeners."""
    for r in rows:
        d = r.data
        initials, full = residents_service.pinyin_keys(d.name)
        household = r.household if r.household is not None and r.household.db_id is not None else None
        session.add(Resident(
            id_number=d.id_number, name=d.name, name_initials=initials, name_pinyin=full, sex=d.sex,
            birth_date=d.birth_date, phone=d.phone, village_code=d.village_code,
            household_id=household.db_id if household else None,
            relation_to_head=(d.relation_to_head or ("head" if r.is_head else None)) if household else None,
            insurance_scheme=d.insurance_scheme, status="active",
            groups=[ResidentGroup(group=g) for g in d.groups]))
    session.flush()
    return len(rows)


def roster(today: date) -> list[dict]:
    """Families in two villages of every age the tallies count: infants and toddlers (births, vaccination
    coverage's eligible children), school children, adults, the 65+ (elderly bands), a member born on
    29 February, people in groups, blank phones, Excel dates as well as text dates."""
    rows = family() + family(f.VILLAGE_B1)
    for i, (village, head_birth) in enumerate(((f.VILLAGE_A1, date(1952, 2, 29)), (f.VILLAGE_A2, date(1988, 8, 31)),
                                                (f.VILLAGE_B1, date(1995, 12, 1)))):
        head = person(f"曾{'东明华'[i]}", birth=head_birth, village=village, 人群分类="糖尿病")
        baby = person(f"单{'一二三'[i]}", birth=today - timedelta(days=40 + 200 * i), male=i % 2 == 0,
                      relation="子" if i % 2 == 0 else "女", head=head["身份证号"], village=village, 联系电话="")
        child = person(f"解{'甲乙丙'[i]}", birth=date(2019, 3, 1 + i), relation="子", head=head["身份证号"],
                       village=village, 人群分类="脱贫")
        child["出生日期"] = datetime(2019, 3, 1 + i)  # a real Excel date
        rows += [head, baby, child]
    rows.append(person("赵六", birth=date(1940, 1, 1), relation="", head="", 人群分类="65岁以上、高血压"))
    return rows


def snapshot(session) -> dict:
    """Everything the import writes, keyed so that ids (which differ between the two runs) do not matter."""
    R, H, G, RR = Resident.__table__, Household.__table__, ResidentGroup.__table__, ResidentResidence.__table__
    conn = session.connection()
    number_of = dict(conn.execute(select(R.c.id, R.c.id_number)).tuples().all())
    household_of = dict(conn.execute(select(H.c.id, H.c.number)).tuples().all())
    skip = {"id", "household_id", "created_at", "updated_at", "merged_into_id", "mother_id"}
    residents = {}
    for row in conn.execute(select(R)).mappings():
        residents[row["id_number"]] = {**{k: v for k, v in row.items() if k not in skip},
                                       "household": household_of.get(row["household_id"]),
                                       "merged_into_id": row["merged_into_id"], "mother_id": row["mother_id"]}
    return {
        "residents": residents,
        "households": sorted(tuple(r) for r in conn.execute(select(H.c.number, H.c.village_code, H.c.address))),
        "groups": sorted((number_of[rid], g) for rid, g in conn.execute(select(G.c.resident_id, G.c["group"]))),
        "history": sorted((number_of[rid], a, b, v, s) for rid, a, b, v, s in conn.execute(
            select(RR.c.resident_id, RR.c.valid_from, RR.c.valid_to, RR.c.village_code, RR.c.status))),
        "tallies": {tuple(k): n for *k, n in conn.execute(select(*core_tallies.Tally.__table__.columns)) if n},
    }


def test_bulk_path_writes_what_the_orm_writes_for_the_same_roster(session, county, tmp_path, monkeypatch):
    today = clock.today()
    registered_head = f.make_resident(session, name="刘备", birth_date=date(1970, 4, 4), sex="male")
    household = Household(number="H" + registered_head.id_number, village_code=registered_head.village_code)
    session.add(household)
    session.flush()
    registered_head.household_id, registered_head.relation_to_head = household.id, "head"
    session.flush()
    rows = [*roster(today), person("刘禅", birth=date(2000, 5, 5), relation="子", head=registered_head.id_number)]
    path = write_xlsx(tmp_path / "roster.xlsx", rows)
    assert core_tallies.fresh(session) >= {"people", "cov"}  # built: the import must keep them in step

    results, snapshots, audits = [], [], []
    for writers in ((), (("_insert_households", orm_households), ("_insert_residents", orm_residents))):
        nested = session.begin_nested()
        with monkeypatch.context() as m:
            for name, fn in writers:
                m.setattr(importer, name, fn)
            result = importer.import_file(session=session, path=path, actor=SYSTEM, today=today)
        session.flush()
        results.append((result.rows, result.created, result.unchanged, result.invalid, result.households_created))
        snapshots.append(snapshot(session))
        audits.append([(e.action, e.entity_type, e.entity_id, e.basis, json.loads(e.detail)) for e in session.scalars(
            select(AuditEvent).where(AuditEvent.entity_type == "resident_import"))])
        assert core_tallies.check(session) == []
        nested.rollback()

    bulk, orm = snapshots
    assert results[0] == results[1] == (len(rows), len(rows), 0, 0, 5)
    assert len(bulk["residents"]) == len(rows) + 1 and len(bulk["history"]) == len(rows) + 1
    assert bulk["residents"] == orm["residents"]
    assert bulk["households"] == orm["households"]
    assert bulk["groups"] == orm["groups"] and len(bulk["groups"]) == 12
    assert bulk["history"] == orm["history"]
    assert bulk["tallies"] == orm["tallies"]
    # The roster's babies are counted: births, and the coverage tallies of children eligible for a dose.
    series = {k[0] for k in bulk["tallies"]}
    assert "people:births" in series and any(s.startswith("cov:") for s in series)
    assert audits[0] == audits[1] and len(audits[0]) == 1


@pytest.mark.parametrize("name", ["曾东", "单明", "解放军", "查干·巴特尔", "欧阳娜娜"])
def test_pinyin_keys_of_names_whose_given_name_repeats_are_read_per_name(name):
    """The given-name part is read once per process (a cache): a surname's reading still decides the keys
    of each name (曾 zeng as a surname, 解 xie), whatever was read before."""
    residents_service.pinyin_keys("东" + name[1:])  # the given name read first without the surname
    expected = {"曾东": ("zd", "zengdong"), "单明": ("sm", "shanming"), "解放军": ("xfj", "xiefangjun"),
                "查干·巴特尔": ("cgbte", "chaganbateer"), "欧阳娜娜": ("oynn", "ouyangnana")}
    assert residents_service.pinyin_keys(name) == expected[name]
