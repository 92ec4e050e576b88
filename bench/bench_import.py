"""Roster import speed: a synthetic 100,000-row xlsx roster imported into a fresh SQLite database
(residents.importer: bulk INSERTs in one transaction), measured in the same run against
- a plain executemany of the same rows (the residents, households and groups the import wrote, read back
  and inserted with the driver's `executemany` into another fresh database: the floor for writing them,
  with no reading, checking or tallies),
- the code as it was at `--before` (default BEFORE: src and bench out of git, in a child process), on the same
  file,
- a naive baseline (one ORM object per row, a commit per row) measured on a sample and extrapolated.

    .venv/bin/python bench/bench_import.py [--rows N] [--baseline-rows N] [--postgres URL] [--before REV]

Writes bench/results/import.json (import_postgres.json with --postgres). WEIJIAN_BENCH_SMALL=1 runs a
tenth of the size.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import sys
import tempfile
import time
import zipfile
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from faker import Faker
from openpyxl import Workbook
from openpyxl.utils import get_column_letter
from sqlalchemy import func, select, text

from common import fresh_database, peak_rss_mb, timer, write_results
from weijian.core import tallies
from weijian.core.actor import Actor
from weijian.core.commands import build
from weijian.core.db import unit_of_work
from weijian.core.identifiers import make_id_number
from weijian.orgunits.models import OrgUnit
from weijian.residents import service as residents_service
from weijian.residents.importer.service import import_file
from weijian.residents.models import Household, Resident, ResidentGroup
from weijian.residents.schemas import ResidentCreate

COUNTY = "421124"
TOWNSHIPS = 11
VILLAGES_PER_TOWNSHIP = (21, 22)  # ~236 villages, as in the county weijian is built for
HEADERS = ["姓名", "性别", "出生日期", "身份证号", "联系电话", "户主身份证号", "与户主关系", "所属村", "参保类型", "人群分类"]
GROUP_LABELS = ["", "", "", "", "", "", "高血压", "糖尿病", "脱贫", "低保", "65岁以上", "高血压、65岁以上"]
SCHEMES = ["城乡居民医保"] * 8 + ["职工医保", "无"]
SEED = 20240601
BEFORE = "06a5ca7"  # main before the second round of issue 15 item 5 (9bcf429: before its first)


# --- the county and the roster -----------------------------------------------------------------------
def build_county(factory) -> list[tuple[str, str]]:
    """County, townships and villages written directly; returns (village code, village name)."""
    villages: list[tuple[str, str]] = []
    with unit_of_work(factory) as session:
        session.add(OrgUnit(code=f"{COUNTY}000000", name="英山县", level="county"))
        session.flush()
        for t in range(TOWNSHIPS):
            town = f"{COUNTY}{100 + t:03d}000"
            session.add(OrgUnit(code=town, name=f"第{t + 1}镇", level="township", kind="town",
                                parent_code=f"{COUNTY}000000"))
            session.flush()
            for v in range(VILLAGES_PER_TOWNSHIP[t % 2]):
                code, name = f"{COUNTY}{100 + t:03d}{201 + v:03d}", f"镇{t + 1}第{v + 1}村"
                session.add(OrgUnit(code=code, name=name, level="village", kind="villagers_committee",
                                    parent_code=town))
                villages.append((code, name))
        session.flush()
    return villages


def make_roster(n: int, villages: list[tuple[str, str]]) -> list[dict]:
    """Households of 1-5 people (householder, spouse, children), valid identity numbers, seeded."""
    fake = Faker("zh_CN")
    Faker.seed(SEED)
    rnd = random.Random(SEED)
    used: set[str] = set()

    def id_number(birth: date, male: bool) -> str:
        while True:
            seq = rnd.randrange(0, 500) * 2 + (1 if male else 0)
            number = make_id_number(COUNTY, birth, seq)
            if number not in used:
                used.add(number)
                return number

    def birth_between(lo: int, hi: int) -> date:
        return date(1930, 1, 1) + timedelta(days=rnd.randrange(lo, hi))

    rows: list[dict] = []
    while len(rows) < n:
        code, name = rnd.choice(villages)
        village = code if rnd.random() < 0.9 else name
        surname = fake.last_name()
        head_male = rnd.random() < 0.85
        head_birth = birth_between(365 * 10, 365 * 60)
        head_id = id_number(head_birth, head_male)
        people = [(surname + (fake.first_name_male() if head_male else fake.first_name_female()),
                   head_male, head_birth, head_id, "户主")]
        size = rnd.choice([1, 2, 2, 3, 3, 3, 4, 4, 5])
        if size >= 2:
            birth = head_birth + timedelta(days=rnd.randrange(-1500, 1500))
            people.append((fake.last_name() + (fake.first_name_female() if head_male else fake.first_name_male()),
                           not head_male, birth, id_number(birth, not head_male), "配偶"))
        for _ in range(size - 2):
            male = rnd.random() < 0.5
            birth = min(head_birth + timedelta(days=rnd.randrange(365 * 20, 365 * 40)), date(2024, 12, 31))
            people.append((surname + (fake.first_name_male() if male else fake.first_name_female()), male, birth,
                           id_number(birth, male), "子" if male else "女"))
        for person_name, male, birth, number, relation in people:
            rows.append({
                "姓名": person_name, "性别": "男" if male else "女",
                # Some counties keep real Excel dates, most type text.
                "出生日期": datetime(birth.year, birth.month, birth.day) if rnd.random() < 0.3 else birth.isoformat(),
                "身份证号": number, "联系电话": f"1{rnd.choice('3589')}{rnd.randrange(10**9):09d}",
                "户主身份证号": "" if relation == "户主" else head_id, "与户主关系": relation,
                "所属村": village, "参保类型": rnd.choice(SCHEMES), "人群分类": rnd.choice(GROUP_LABELS),
                "_village_code": code,
            })
    return rows[:n]  # a household's householder comes first, so a cut never orphans a member


def write_roster(path: Path, rows: list[dict], *, excel_layout: bool = True) -> None:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("花名册")
    ws.append(HEADERS)
    for r in rows:
        ws.append([r[h] for h in HEADERS])
    wb.save(path)
    if excel_layout:
        _as_excel_writes_it(path, len(rows) + 1, len(HEADERS))


_INLINE = re.compile(r'<c r="([A-Z]+[0-9]+)"((?: s="[0-9]+")?) t="inlineStr"><is><t(?: [^>]*)?>(.*?)</t></is></c>')


def _as_excel_writes_it(path: Path, n_rows: int, n_cols: int) -> None:
    """Rewrite openpyxl's streaming output the way Excel and WPS save a workbook: text in a shared-string
    table and a <dimension> element. (openpyxl writes inline strings and, in write-only mode, no dimension,
    which makes openpyxl's reader scan the whole sheet once more just to size it.)"""
    strings: dict[str, int] = {}

    def shared(m: re.Match) -> str:
        index = strings.setdefault(m[3], len(strings))
        return f'<c r="{m[1]}"{m[2]} t="s"><v>{index}</v></c>'

    tmp = path.with_suffix(".tmp")
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                text = _INLINE.sub(shared, data.decode("utf-8"))
                last = get_column_letter(n_cols)
                text = text.replace("<sheetViews>", f'<dimension ref="A1:{last}{n_rows}"/><sheetViews>', 1)
                data = text.encode("utf-8")
            elif item.filename == "[Content_Types].xml":
                data = data.replace(b"</Types>", b'<Override PartName="/xl/sharedStrings.xml" ContentType='
                                    b'"application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings'
                                    b'+xml"/></Types>')
            elif item.filename == "xl/_rels/workbook.xml.rels":
                data = data.replace(b"</Relationships>", b'<Relationship Id="rIdSharedStrings" Type='
                                    b'"http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
                                    b'sharedStrings" Target="sharedStrings.xml"/></Relationships>')
            zout.writestr(item, data)
        table = "".join(f"<si><t>{s}</t></si>" for s in strings)
        zout.writestr("xl/sharedStrings.xml", '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                      '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
                      f'count="{len(strings)}" uniqueCount="{len(strings)}">{table}</sst>')
    tmp.replace(path)


# --- the baselines measured in the same run ---------------------------------------------------------
_BEFORE_CHILD = """
import json, sys
from pathlib import Path
tree, roster, url = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3] or None
sys.path[:0] = [str(tree / "bench"), str(tree / "src")]
import common  # the old tree's: it puts the old src first and wires the old domains
import bench_import as b
assert Path(b.__file__).resolve().is_relative_to(tree.resolve()), b.__file__
settings, engine, factory = common.fresh_database("import_before", url)
villages = b.build_county(factory)
b.warm_up(b.make_roster(200, villages))
result, figures = b.timed_import(b.import_file, factory, roster)
assert result.created == result.rows, result
engine.dispose()
b._drop(settings)
print("BEFORE " + json.dumps(figures))
"""


def before_tree(revision: str, path: Path, postgres: str | None) -> dict | None:
    """The whole code at `revision` (its importer, tallies, pinyin keys: src and bench taken out of git into
    a temp dir) importing the same file into a fresh database, in a child process of this run; its
    figures, or None when git or the revision is not at hand."""
    import subprocess

    root = Path(__file__).resolve().parent.parent
    tree = Path(tempfile.mkdtemp(prefix="weijian-bench-before-"))
    try:
        archive = subprocess.run(["git", "archive", revision, "src", "bench"], cwd=root, capture_output=True,
                                 check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
        out = subprocess.run([sys.executable, "-c", _BEFORE_CHILD, str(tree), str(path), postgres or ""],
                             capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        print(f"the code at {revision} could not be run: {exc}", flush=True)
        return None
    finally:
        shutil.rmtree(tree, ignore_errors=True)
    line = next(x for x in out.splitlines() if x.startswith("BEFORE "))
    return json.loads(line[len("BEFORE "):])


WRITTEN = {"households": ("id", "number", "village_code", "address", "created_at"),
           "residents": ("id", "id_number", "name", "name_initials", "name_pinyin", "sex", "birth_date", "phone",
                         "village_code", "household_id", "relation_to_head", "insurance_scheme", "status",
                         "created_at", "updated_at"),
           "resident_groups": tuple(c.name for c in ResidentGroup.__table__.columns)}


def _names(cols: tuple[str, ...]) -> str:
    return ", ".join(f'"{c}"' for c in cols)  # "group" is a keyword


def plain_executemany(source_factory, postgres: str | None) -> dict:
    """The rows the import wrote, inserted again with the driver's executemany, one statement a table,
    one transaction, into a fresh database: the floor the import is compared with."""
    with source_factory() as session:
        conn = session.connection()
        data = {t: [tuple(r) for r in conn.execute(text(f"SELECT {_names(cols)} FROM {t} ORDER BY 1"))]
                for t, cols in WRITTEN.items()}
    settings, engine, factory = fresh_database("import_plain", postgres)
    build_county(factory)
    mark = "%s" if postgres else "?"
    cpu = time.process_time()
    with timer() as t:
        raw = engine.raw_connection()
        try:
            cur = raw.cursor()
            if not postgres:
                # weijian's SQLite connections run the driver in autocommit (core.db begins itself): one
                # transaction here too, with the page cache the importer sets while it writes.
                cur.execute("PRAGMA cache_size = -65536")
                cur.execute("BEGIN")
            for table, cols in WRITTEN.items():
                cur.executemany(f"INSERT INTO {table} ({_names(cols)}) VALUES ({', '.join([mark] * len(cols))})",
                                data[table])
            raw.commit()
        finally:
            raw.close()
    cpu = time.process_time() - cpu
    engine.dispose()
    _drop(settings)
    rows = len(data["residents"])
    return {"method": "driver executemany of the residents, households and groups rows the import wrote, "
                      "one transaction, fresh database (no reading, checks or tallies)",
            "rows": {t: len(v) for t, v in data.items()}, "seconds": round(t["seconds"], 2),
            "cpu_seconds": round(cpu, 2), "rows_per_second": round(rows / t["seconds"])}


@contextmanager
def tally_rows_counted():
    """How many tally rows the import's `apply_for` upserts (the three grains of every delta)."""
    box = {"rows": 0, "seconds": 0.0}
    add, apply = tallies._add, tallies.apply_for

    def counting_add(conn, deltas):
        box["rows"] += len(tallies._grains(deltas))
        return add(conn, deltas)

    def timed_apply(*args, **kw):
        started = time.perf_counter()
        try:
            return apply(*args, **kw)
        finally:
            box["seconds"] += time.perf_counter() - started

    tallies._add, tallies.apply_for = counting_add, timed_apply
    try:
        yield box
    finally:
        tallies._add, tallies.apply_for = add, apply


def warm_up(rows: list[dict]) -> None:
    settings, engine, factory = fresh_database("import_warm_up")
    build_county(factory)
    path = Path(tempfile.mkdtemp(prefix="weijian-bench-warm-")) / "warm.xlsx"
    write_roster(path, rows)
    with unit_of_work(factory) as session:
        import_file(session=session, path=path, actor=Actor.system("bench"))
    engine.dispose()
    shutil.rmtree(path.parent, ignore_errors=True)
    _drop(settings)


def _drop(settings) -> None:
    db_file = settings.sqlite_path()
    if db_file is not None:  # the SQLite files (~100 MB for 100,000 rows)
        shutil.rmtree(db_file.parent, ignore_errors=True)


def timed_import(import_file_fn, factory, path: Path) -> tuple[object, dict]:
    cpu = time.process_time()
    with timer() as t, tally_rows_counted() as tally, unit_of_work(factory) as session:
        result = import_file_fn(session=session, path=path, actor=Actor.system("bench"))
    cpu = time.process_time() - cpu
    return result, {"seconds": round(t["seconds"], 2), "rows_per_second": round(result.created / t["seconds"]),
                    "cpu_seconds": round(cpu, 2),
                    "read_validate_seconds": round(result.seconds["read_validate"], 2),
                    "write_seconds": round(result.seconds["write"], 2),
                    "tallies_seconds": round(tally["seconds"], 2), "tally_rows_upserted": tally["rows"],
                    "households_created": result.households_created}


# --- the naive baseline --------------------------------------------------------------------------------
def naive_import(factory, rows: list[dict]) -> None:
    """What an import looks like written the obvious way: per row, validate against the database, look
    for a duplicate, find or make the household, add one ORM object, commit. Rows are given already read
    and with village codes (no file parsing, no name look-up): the baseline is flattered, not handicapped."""
    session = factory()
    try:
        for r in rows:
            values = {"name": r["姓名"], "sex": r["性别"], "birth_date": r["出生日期"], "id_number": r["身份证号"],
                      "phone": r["联系电话"], "village_code": r["_village_code"], "insurance_scheme": r["参保类型"],
                      "groups": [g for g in re.split(r"[,，、;；\s]+", r["人群分类"] or "") if g],
                      "relation_to_head": r["与户主关系"]}
            if isinstance(values["birth_date"], datetime):
                values["birth_date"] = values["birth_date"].date()
            data = residents_service.check_resident(build(ResidentCreate, values), session=session)
            if session.scalar(select(Resident.id).where(Resident.id_number == data.id_number)) is not None:
                continue
            number = "H" + (r["户主身份证号"] or data.id_number)
            household = session.scalar(select(Household).where(Household.number == number))
            if household is None:
                household = Household(number=number, village_code=data.village_code)
                session.add(household)
                session.flush()
            initials, full = residents_service.pinyin_keys(data.name)
            session.add(Resident(
                id_number=data.id_number, name=data.name, name_initials=initials, name_pinyin=full, sex=data.sex,
                birth_date=data.birth_date, phone=data.phone, village_code=data.village_code,
                household_id=household.id, relation_to_head=data.relation_to_head,
                insurance_scheme=data.insurance_scheme, status="active",
                groups=[ResidentGroup(group=g) for g in data.groups]))
            session.commit()
    finally:
        session.close()


# --- main ------------------------------------------------------------------------------------------------
def main() -> None:
    small = os.environ.get("WEIJIAN_BENCH_SMALL") == "1"
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000 if small else 100_000)
    parser.add_argument("--baseline-rows", type=int, default=500 if small else 2_000)
    parser.add_argument("--openpyxl-layout", action="store_true",
                        help="keep openpyxl's own file layout (inline strings, no dimension) instead of Excel's")
    parser.add_argument("--before", default=BEFORE, help="git revision of the code to compare with")
    parser.add_argument("--postgres", default=os.environ.get("WEIJIAN_BENCH_POSTGRES_URL"),
                        help="PostgreSQL server URL (default: SQLite file in a temp dir)")
    args = parser.parse_args()

    settings, engine, factory = fresh_database("import", args.postgres)
    villages = build_county(factory)
    with timer() as t_gen:
        rows = make_roster(args.rows, villages)
        path = Path(tempfile.mkdtemp(prefix="weijian-bench-roster-")) / "roster.xlsx"
        write_roster(path, rows, excel_layout=not args.openpyxl_layout)
    n = len(rows)
    print(f"roster: {n} rows, {path.stat().st_size / 1e6:.1f} MB, generated in {t_gen['seconds']:.1f} s", flush=True)

    warm_up(rows[:200])  # the caches every import fills once per process (pinyin tables, rules files)
    result, current = timed_import(import_file, factory, path)
    with factory() as session:
        stored = session.scalar(select(func.count()).select_from(Resident))
    assert result.invalid == 0 and result.created == n == stored, (result, stored)
    print(f"import: {n} rows in {current['seconds']:.1f} s = {current['rows_per_second']:,} rows/s "
          f"(read+validate {current['read_validate_seconds']:.1f} s, write {current['write_seconds']:.1f} s of which "
          f"tallies {current['tallies_seconds']:.1f} s for {current['tally_rows_upserted']:,} tally rows; "
          f"{result.households_created} households; {current['cpu_seconds']:.1f} s of CPU, "
          f"load average {os.getloadavg()[0]:.1f})", flush=True)

    plain = plain_executemany(factory, args.postgres)
    print(f"plain executemany of the same rows: {plain['seconds']:.1f} s = {plain['rows_per_second']:,} rows/s",
          flush=True)

    with timer() as t_again, unit_of_work(factory) as session:
        again = import_file(session=session, path=path, actor=Actor.system("bench"))
    assert again.created == 0 and again.unchanged == n
    print(f"same file again: {t_again['seconds']:.1f} s, 0 created, {again.unchanged} unchanged", flush=True)
    engine.dispose()

    before_figures = before_tree(args.before, path, args.postgres)
    if before_figures is not None:
        print(f"the code at {args.before}: {before_figures['seconds']:.1f} s = "
              f"{before_figures['rows_per_second']:,} rows/s ({before_figures['cpu_seconds']:.1f} s of CPU)", flush=True)

    sample = rows[:args.baseline_rows]
    base_settings, base_engine, base_factory = fresh_database("import_naive", args.postgres)
    build_county(base_factory)
    with timer() as t_base:
        naive_import(base_factory, sample)
    base_engine.dispose()
    base_rate = len(sample) / t_base["seconds"]
    extrapolated = n / base_rate
    print(f"naive baseline: {len(sample)} rows in {t_base['seconds']:.1f} s = {base_rate:,.0f} rows/s; "
          f"extrapolated to {n} rows: {extrapolated / 60:.1f} min (linear extrapolation from the sample)",
          flush=True)

    write_results("import_postgres" if args.postgres else "import", {
        "database": "postgresql" if args.postgres else "sqlite (file, WAL)",
        "rows": n,
        "file_mb": round(path.stat().st_size / 1e6, 2),
        "file_layout": "openpyxl (inline strings, no dimension)" if args.openpyxl_layout
                       else "as Excel/WPS save it (shared strings, dimension)",
        "load_average_1min_at_end": round(os.getloadavg()[0], 1),
        "generate_seconds": round(t_gen["seconds"], 2),
        "target_rows_per_second": 20_000,
        "import": current,
        "plain_executemany": plain,
        "import_vs_plain_executemany": round(current["rows_per_second"] / plain["rows_per_second"], 3),
        "before": {"revision": args.before, **before_figures} if before_figures else None,
        "speedup_over_before": round(before_figures["seconds"] / current["seconds"], 2) if before_figures else None,
        "reimport_same_file_seconds": round(t_again["seconds"], 2),
        "naive_baseline": {
            "method": "one ORM object per row, validate against the database, commit per row; rows given "
                      "pre-read with village codes",
            "sample_rows": len(sample),
            "seconds": round(t_base["seconds"], 2),
            "rows_per_second": round(base_rate),
            "extrapolated_seconds_for_all_rows": round(extrapolated, 1),
            "extrapolated": True,
        },
        "speedup_over_naive": round(current["rows_per_second"] / base_rate, 1),
        "peak_rss_mb": peak_rss_mb(),
    })
    path.unlink()
    for used in (settings, base_settings):
        _drop(used)


if __name__ == "__main__":
    main()
