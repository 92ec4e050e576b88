"""Resident search speed on a county-sized index: 400,000 residents in ~236 villages, searched through
residents.service.search (scope condition, capped count, one page, the audit event) by every kind of
query the search box understands, as a county user and as a village doctor. Prints each query's plan
so an index that stops being used shows up.

    .venv/bin/python bench/bench_resident_search.py [--residents N] [--postgres URL]

Writes bench/results/resident_search.json. WEIJIAN_BENCH_SMALL=1 runs a tenth of the size.
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import fresh_database, percentiles, timer, write_results  # noqa: E402
from sqlalchemy import insert, text  # noqa: E402

from weijian.core.actor import Actor  # noqa: E402
from weijian.core.db import session_scope  # noqa: E402
from weijian.core import clock  # noqa: E402
from weijian.core.identifiers import make_id_number  # noqa: E402
from weijian.orgunits.models import OrgUnit  # noqa: E402
from weijian.residents import service  # noqa: E402
from weijian.residents.models import Resident  # noqa: E402

COUNTY = "421124"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国志文斌春梅海燕云飞鹏辉林波宇浩凯"
SEED = 20240601


def build(factory, n: int) -> dict:  # noqa: ANN001
    rng = random.Random(SEED)
    villages = []
    with session_scope(factory) as s:
        s.add(OrgUnit(code=f"{COUNTY}000000", name="英山县", level="county"))
        s.flush()
        for t in range(11):
            town = f"{COUNTY}{100 + t:03d}000"
            s.add(OrgUnit(code=town, name=f"第{t + 1}镇", level="township", kind="town", parent_code=f"{COUNTY}000000"))
            s.flush()
            for v in range(21 + t % 2):
                code = f"{COUNTY}{100 + t:03d}{201 + v:03d}"
                s.add(OrgUnit(code=code, name=f"镇{t + 1}第{v + 1}村", level="village", parent_code=town))
                villages.append(code)
    keys: dict[str, tuple[str, str]] = {}
    sample = {}
    now = clock.now()
    with session_scope(factory) as s:
        batch = []
        for i in range(n):
            name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
            if name not in keys:
                keys[name] = service.pinyin_keys(name)
            # Unique numbers: within each block of 34,000 rows the birth dates differ, and blocks differ by sequence.
            born = date(1930, 1, 1) + timedelta(days=(i * 7919) % 34000)
            seq = i // 34000
            idn = make_id_number(COUNTY, born, seq)
            row = dict(id=i + 1, id_number=idn, name=name, name_initials=keys[name][0], name_pinyin=keys[name][1],
                       sex="male" if seq % 2 else "female", birth_date=born, phone=f"139{i:08d}",
                       village_code=villages[i % len(villages)], insurance_scheme="resident", status="active",
                       created_at=now, updated_at=now)
            batch.append(row)
            if i == n // 2:
                sample = row
            if len(batch) == 10000:
                s.execute(insert(Resident), batch)
                batch = []
        if batch:
            s.execute(insert(Resident), batch)
    return {"villages": villages, "sample": sample}


def plan(session, dialect: str, stmt) -> str:  # noqa: ANN001
    sql = stmt.compile(dialect=session.bind.dialect, compile_kwargs={"literal_binds": True})
    prefix = "EXPLAIN QUERY PLAN " if dialect == "sqlite" else "EXPLAIN "
    rows = session.execute(text(prefix + str(sql))).all()
    return " | ".join(str(r[-1]) for r in rows)


def main() -> None:
    ap = argparse.ArgumentParser()
    small = os.environ.get("WEIJIAN_BENCH_SMALL") == "1"
    ap.add_argument("--residents", type=int, default=40_000 if small else 400_000)
    ap.add_argument("--postgres", default=os.environ.get("WEIJIAN_BENCH_POSTGRES_URL"))
    ap.add_argument("--repeat", type=int, default=30)
    args = ap.parse_args()
    _, engine, factory = fresh_database("resident_search", args.postgres)
    with timer() as t_build:
        data = build(factory, args.residents)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    s = data["sample"]
    village = data["villages"][len(data["villages"]) // 2]
    county_actor = Actor(user_id=None, username="bench", role="county_doctor", scope_code=f"{COUNTY}000000",
                         permissions=frozenset({"resident:read"}))
    village_actor = Actor(user_id=None, username="bench", role="village_doctor", scope_code=village,
                          permissions=frozenset({"resident:read"}))
    queries = {
        "surname (1 char)": s["name"][0], "full name": s["name"], "pinyin initials": s["name_initials"][:2],
        "full pinyin": s["name_pinyin"][:6], "id number": s["id_number"], "id prefix (10)": s["id_number"][:10],
        "phone": s["phone"], "no match": "鑫鑫鑫", "one letter": "z", "county code (6 digits)": COUNTY,
    }
    figures: dict = {"residents": args.residents, "dialect": engine.dialect.name,
                     "build_seconds": round(t_build["seconds"], 1), "searches": {}}
    for who, actor in (("county", county_actor), ("village", village_actor)):
        for label, q in queries.items():
            samples = []
            with session_scope(factory) as session:
                for _ in range(args.repeat):
                    start = time.perf_counter()
                    result = service.search(session=session, actor=actor, q=q)
                    samples.append((time.perf_counter() - start) * 1000)
                session.rollback()
            figures["searches"][f"{who}: {label}"] = {**percentiles(samples), "total": result.total,
                                                       "capped": result.capped}
    with session_scope(factory) as session:
        from sqlalchemy import select

        for who, actor in (("county", county_actor), ("village", village_actor)):
            for label in ("surname (1 char)", "pinyin initials", "id prefix (10)", "county code (6 digits)"):
                _, where, order = service.search_statement(actor=actor, dialect=engine.dialect.name,
                                                           q=queries[label])
                stmt = select(Resident.id).where(*where).order_by(*order).limit(20)
                figures.setdefault("plans", {})[f"{who}: {label}"] = plan(session, engine.dialect.name, stmt)
    write_results("resident_search" + ("_postgres" if args.postgres else ""), figures)


if __name__ == "__main__":
    main()
