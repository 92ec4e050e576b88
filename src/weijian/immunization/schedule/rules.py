"""The national immunization schedule (国家免疫规划疫苗儿童免疫程序) as versioned YAML editions under data/:
read, validate (every refusal names the key path), and select the edition in force on a date.

An edition is a list of series. A series is an ordered list of dose slots; any vaccine code the series
accepts fills its next slot (IPV and bOPV fill the one polio series; a DT given under 2021 fills the
fifth DTaP slot of 2025). An alternative (JE-L or JE-I, HepA-L or HepA-I) is a series with variants: a
child follows one variant. Ages and intervals are written "0d", "1m", "18m", "6y", "1y6m".
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from itertools import pairwise
from pathlib import Path
from typing import Any

import yaml

from weijian.core.errors import FieldError, InvalidInput, RulesInvalid

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
VACCINE_CODES = ("HepB", "BCG", "IPV", "bOPV", "DTaP", "DT", "MMR", "JE-L", "JE-I", "MPSV-A", "MPSV-AC",
                 "HepA-L", "HepA-I")
_AGE = re.compile(r"^(?:(\d+)y)?(?:(\d+)m)?(?:(\d+)d)?$")
_ID = re.compile(r"^[a-z0-9]+(?:[-.][a-z0-9]+)*$")
_E = "immunization.errors.schedule."
_DAYS_IN_MONTH = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


# --- ages -----------------------------------------------------------------------------------------
def add_months(d: date, months: int) -> date:
    """`d` plus whole calendar months; a day past the target month's end falls on its last day
    (2024-01-31 + 1 month = 2024-02-29), as dateutil's relativedelta does."""
    if not months:
        return d
    y, m = divmod(d.month - 1 + months, 12)
    y += d.year
    day = d.day
    if day > 28:
        last = 29 if m == 1 and (y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)) else _DAYS_IN_MONTH[m]
        day = min(day, last)
    return date(y, m + 1, day)


@dataclass(frozen=True, slots=True)
class Age:
    """An age or interval: calendar months, then days (`1y6m` = 18 months)."""

    months: int
    days: int
    text: str

    def after(self, d: date) -> date:
        """The date this age (or interval) after `d`."""
        if self.months:
            d = add_months(d, self.months)
        return d + timedelta(days=self.days) if self.days else d

    def __str__(self) -> str:
        return self.text


def parse_age(text: Any) -> Age | None:
    """`6y`, `18m`, `28d`, `1y6m` → Age; None when the text is not an age."""
    if not isinstance(text, str):
        return None
    m = _AGE.match(text.strip())
    if m is None or not any(m.groups()):
        return None
    years, months, days = (int(g) if g else 0 for g in m.groups())
    return Age(months=12 * years + months, days=days, text=text.strip())


def _age_order(a: Age) -> tuple[int, int]:
    # For comparing ages in validation only (a month counted as at most 31 days).
    return (a.months * 31 + a.days, a.months)


# --- the schedule, as the engine sees it ----------------------------------------------------------
@dataclass(frozen=True, slots=True)
class After:
    """This dose is at least `interval` after slot `slot` (0-based) of series `series`, when that dose
    is given or still to be given (a dose no longer given imposes nothing)."""

    series: str
    slot: int
    interval: Age
    # When that dose is no longer given (its catch-up age passed before it was given): this dose may be
    # given from age `[0]`, at least `[1]` after the last dose of `series` given, if any (the 2021 流脑
    # catch-up: MPSV-AC from 24 months, 3 months after a single MPSV-A). None: the rule then imposes nothing.
    if_not_given: tuple[Age, Age] | None = None


@dataclass(frozen=True, slots=True)
class Dose:
    vaccine: str  # the code given in this slot by default
    number: int  # 1-based slot number within the series
    recommended: Age  # earliest age (起始接种年龄)
    complete_before: Age  # should be complete before this age (default overdue date)
    min_interval: Age | None  # from the previous slot of the series
    after: tuple[After, ...]
    catch_up_until: Age | None  # missing at this age or later: no longer given (e.g. BCG from 4 years)
    tb_test_from: Age | None  # from this age a catch-up dose needs a negative TB test first (BCG)
    live_injectable: bool


@dataclass(frozen=True, slots=True)
class Series:
    id: str  # "polio"; for a variant, the variant's id ("JE-L")
    group: str  # the series id in the file ("JE" for both of its variants)
    doses: tuple[Dose, ...]
    accepts: frozenset[str]  # vaccine codes that fill this series' slots
    default: bool  # the variant followed when a child has started none (True for a plain series)
    catch_up: CatchUp | None = None
    # (born before, the code of each slot): the doses still to give of a child born before that day follow
    # this older sequence (polio: 1 IPV then bOPV for children born before 2019-10-01).
    older_sequence: tuple[date, tuple[str, ...]] | None = None


@dataclass(frozen=True, slots=True)
class CatchUp:
    """How the doses still to give of a series are given from an age on (the 2021 DTaP/DT rule for
    children of 6 years and more): with `vaccine`, until `until`, the series complete at `doses` doses;
    with that many or more given, one dose more unless one of `vaccine` was given; `intervals[k]` is the
    minimum interval of the (k+1)-th dose of the series from the one before (None for the first)."""

    from_age: Age
    until: Age
    vaccine: str
    doses: int
    intervals: tuple[Age | None, ...]


@dataclass(frozen=True, slots=True)
class Source:
    title: str
    issuer: str
    date: date | None
    url: str
    note: str


@dataclass(frozen=True, slots=True)
class Edition:
    id: str
    name: str
    sources: tuple[Source, ...]
    effective_from: date
    effective_to: date | None  # inclusive; None: still in force
    follow_until: Age  # children are caught up until this age (18 years)
    groups: tuple[tuple[Series, ...], ...]  # in schedule order; one series, or the variants (default first)
    series: dict[str, Series]  # by id (variants by their own id)
    series_of_code: dict[str, Series]  # vaccine code → the series that accepts it
    live_injectable: frozenset[str]
    path: str = ""

    def in_force(self, on: date) -> bool:
        return self.effective_from <= on and (self.effective_to is None or on <= self.effective_to)


ScheduleInvalid = RulesInvalid  # a schedule file refused: the one rules-file error (core.errors)


# --- loading --------------------------------------------------------------------------------------
class _Checker:
    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def add(self, path: str, reason: str, **params: Any) -> None:
        self.errors.append(FieldError(path or "file", _E + reason, params))

    def mapping(self, node: Any, path: str, required: Iterable[str], optional: Iterable[str] = ()
                ) -> dict[str, Any] | None:
        if not isinstance(node, dict):
            self.add(path, "not_mapping")
            return None
        required = tuple(required)
        allowed = set(required) | set(optional)
        for key in node:
            if key not in allowed:
                self.add(_join(path, str(key)), "unknown_key", allowed=", ".join(sorted(allowed)))
        for key in required:
            if node.get(key) is None:
                self.add(_join(path, key), "required")
        return node

    def text(self, node: Any, path: str) -> str | None:
        if node is None:
            return None  # a missing required key was reported by mapping()
        if not isinstance(node, str) or not node.strip():
            self.add(path, "not_text")
            return None
        return node.strip()

    def age(self, node: Any, path: str) -> Age | None:
        if node is None:
            return None
        age = parse_age(node)
        if age is None:
            self.add(path, "age_format", value=str(node))
        return age

    def date(self, node: Any, path: str) -> date | None:
        if node is None:
            return None
        if isinstance(node, date):
            return node
        try:
            return date.fromisoformat(str(node))
        except ValueError:
            self.add(path, "date_format", value=str(node))
            return None

    def boolean(self, node: Any, path: str) -> bool | None:
        if node is None:
            return None
        if not isinstance(node, bool):
            self.add(path, "not_boolean", value=str(node))
            return None
        return node

    def sequence(self, node: Any, path: str) -> list[Any]:
        if node is None:
            return []
        if not isinstance(node, list):
            self.add(path, "not_list")
            return []
        return node


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def load_edition(path: Path | str) -> Edition:
    """Read and validate one edition file; ScheduleInvalid lists every bad key."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ScheduleInvalid([FieldError("file", _E + "unreadable", {"detail": type(exc).__name__})],
                              source=path.name) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "file"
        detail = getattr(exc, "problem", None) or str(exc)
        raise ScheduleInvalid([FieldError(where, _E + "yaml", {"detail": detail})], source=path.name) from None
    return parse_edition(data, source=path.name)


def parse_edition(data: Any, *, source: str = "") -> Edition:
    """Validate an edition already read from YAML (a dict) and build the Edition."""
    c = _Checker()
    top = c.mapping(data, "", ("id", "name", "sources", "effective_from", "follow_until", "vaccines", "series"),
                    ("effective_to",))
    if top is None:
        raise ScheduleInvalid(c.errors, source=source)
    edition_id = c.text(top.get("id"), "id")
    if edition_id is not None and not _ID.match(edition_id):
        c.add("id", "id_format", value=edition_id)
    name = c.text(top.get("name"), "name")
    eff_from = c.date(top.get("effective_from"), "effective_from")
    eff_to = c.date(top.get("effective_to"), "effective_to")
    if eff_from and eff_to and eff_to < eff_from:
        c.add("effective_to", "effective_to_before_from")
    follow_until = c.age(top.get("follow_until"), "follow_until")
    sources = _sources(c, top.get("sources"))
    declared, live = _vaccines(c, top.get("vaccines"))
    groups = _series(c, top.get("series"), declared, live)
    if c.errors:
        raise ScheduleInvalid(c.errors, source=source)
    assert edition_id and name and eff_from and follow_until  # guaranteed when there are no errors
    by_id: dict[str, Series] = {}
    of_code: dict[str, Series] = {}
    for group in groups:
        for s in group:
            by_id[s.id] = s
            for code in s.accepts:
                of_code[code] = s
    return Edition(id=edition_id, name=name, sources=tuple(sources), effective_from=eff_from,
                   effective_to=eff_to, follow_until=follow_until, groups=tuple(groups), series=by_id,
                   series_of_code=of_code, live_injectable=frozenset(live), path=source)


def _sources(c: _Checker, node: Any) -> list[Source]:
    out = []
    items = c.sequence(node, "sources")
    if node is not None and isinstance(node, list) and not items:
        c.add("sources", "empty")
    for i, spec in enumerate(items):
        path = f"sources[{i}]"
        s = c.mapping(spec, path, ("title", "issuer"), ("date", "url", "note"))
        if s is None:
            continue
        title = c.text(s.get("title"), f"{path}.title")
        issuer = c.text(s.get("issuer"), f"{path}.issuer")
        when = c.date(s.get("date"), f"{path}.date")
        if title and issuer:
            out.append(Source(title=title, issuer=issuer, date=when, url=str(s.get("url") or ""),
                              note=str(s.get("note") or "")))
    return out


def _vaccines(c: _Checker, node: Any) -> tuple[set[str], set[str]]:
    """The `vaccines:` map (code → {live_injectable}): (the codes declared, the injectable live ones)."""
    declared: set[str] = set()
    live: set[str] = set()
    spec = c.mapping(node, "vaccines", (), VACCINE_CODES)
    for code, v in (spec or {}).items():
        path = f"vaccines.{code}"
        if code not in VACCINE_CODES:
            continue  # reported by mapping() as an unknown key, with the allowed codes
        m = c.mapping(v, path, ("live_injectable",))
        if m is None:
            continue
        is_live = c.boolean(m.get("live_injectable"), f"{path}.live_injectable")
        declared.add(code)
        if is_live:
            live.add(code)
    return declared, live


_DOSE_KEYS = ("vaccine", "recommended", "complete_before")
_DOSE_OPTIONAL = ("min_interval", "after", "catch_up_until", "tb_test_from", "note")


def _catch_up(c: _Checker, node: Any, path: str, accepts: set[str], slots: int) -> CatchUp | None:
    if node is None:
        return None
    m = c.mapping(node, path, ("from", "until", "vaccine", "doses", "intervals"), ("note",))
    if m is None:
        return None
    frm, until = c.age(m.get("from"), f"{path}.from"), c.age(m.get("until"), f"{path}.until")
    code, n = m.get("vaccine"), m.get("doses")
    ok = True
    if code is not None and code not in accepts:
        c.add(f"{path}.vaccine", "unknown_vaccine", value=str(code), allowed=", ".join(sorted(accepts)))
        ok = False
    if n is not None and (not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= slots):
        c.add(f"{path}.doses", "bad_slot_reference", value=str(n), max=slots)
        ok = False
    raw = c.sequence(m.get("intervals"), f"{path}.intervals")
    if isinstance(m.get("intervals"), list) and len(raw) != slots:
        c.add(f"{path}.intervals", "bad_slot_reference", value=str(len(raw)), max=slots)
        ok = False
    intervals = tuple(None if k == 0 and v is None else c.age(v, f"{path}.intervals[{k}]") for k, v in enumerate(raw))
    if not (ok and frm and until and isinstance(code, str) and isinstance(n, int)) or (
            any(v is None for v in intervals[1:])):
        return None
    return CatchUp(from_age=frm, until=until, vaccine=code, doses=n, intervals=intervals)


def _older_sequence(c: _Checker, node: Any, path: str, accepts: set[str], slots: int
                    ) -> tuple[date, tuple[str, ...]] | None:
    if node is None:
        return None
    m = c.mapping(node, path, ("born_before", "vaccines"), ("note",))
    if m is None:
        return None
    before = c.date(m.get("born_before"), f"{path}.born_before")
    codes = c.sequence(m.get("vaccines"), f"{path}.vaccines")
    ok = True
    if isinstance(m.get("vaccines"), list) and len(codes) != slots:
        c.add(f"{path}.vaccines", "bad_slot_reference", value=str(len(codes)), max=slots)
        ok = False
    for k, code in enumerate(codes):
        if code not in accepts:
            c.add(f"{path}.vaccines[{k}]", "unknown_vaccine", value=str(code), allowed=", ".join(sorted(accepts)))
            ok = False
    return (before, tuple(codes)) if ok and before is not None else None


def _series(c: _Checker, node: Any, declared: set[str], live: set[str]) -> list[tuple[Series, ...]]:
    known_codes = set(VACCINE_CODES)
    groups: list[tuple[Series, ...]] = []
    seen_ids: dict[str, str] = {}  # series or variant id → its path
    code_owner: dict[str, str] = {}  # vaccine code → path of the series accepting it
    slots_of: dict[str, int] = {}  # id → number of slots, for `after` references (earlier series only)
    items = c.sequence(node, "series")
    if isinstance(node, list) and not items:
        c.add("series", "empty")
    for i, spec in enumerate(items):
        path = f"series[{i}]"
        s = c.mapping(spec, path, ("id",), ("doses", "variants", "accepts", "catch_up", "older_sequence", "note"))
        if s is None:
            continue
        sid = c.text(s.get("id"), f"{path}.id")
        has_doses, has_variants = s.get("doses") is not None, s.get("variants") is not None
        if has_doses == has_variants:
            c.add(path, "doses_or_variants")
            continue
        if has_variants and s.get("accepts") is not None:
            c.add(f"{path}.accepts", "accepts_with_variants")
        variants: list[tuple[str, dict[str, Any], str, bool]] = []  # (id, node, path, default)
        if has_doses:
            variants.append((sid or "", s, path, True))
        else:
            raw = c.sequence(s.get("variants"), f"{path}.variants")
            if isinstance(s.get("variants"), list) and len(raw) < 2:
                c.add(f"{path}.variants", "variants_too_few")
            defaults = 0
            for j, vspec in enumerate(raw):
                vpath = f"{path}.variants[{j}]"
                v = c.mapping(vspec, vpath, ("id", "doses"), ("default", "accepts", "note"))
                if v is None:
                    continue
                vid = c.text(v.get("id"), f"{vpath}.id")
                is_default = bool(c.boolean(v.get("default"), f"{vpath}.default"))
                defaults += is_default
                variants.append((vid or "", v, vpath, is_default))
            if raw and defaults != 1:
                c.add(f"{path}.variants", "one_default")
        built: list[Series] = []
        for vid, vnode, vpath, is_default in variants:
            if not vid:
                continue
            if vid in seen_ids:
                c.add(f"{vpath}.id", "duplicate_id", value=vid, other=seen_ids[vid])
                continue
            seen_ids[vid] = vpath
            doses = _doses(c, vnode.get("doses"), f"{vpath}.doses", live, known_codes, declared, slots_of, vid)
            accepts = {d.vaccine for d in doses}
            for k, code in enumerate(c.sequence(vnode.get("accepts"), f"{vpath}.accepts")):
                if code not in known_codes or code not in declared:
                    c.add(f"{vpath}.accepts[{k}]", "unknown_vaccine", value=str(code),
                          allowed=", ".join(sorted(declared)))
                else:
                    accepts.add(code)
            if len({code in live for code in accepts}) > 1:  # the 28-day rule is per slot
                c.add(vpath, "live_mixed", codes=", ".join(sorted(accepts)))
            for code in sorted(accepts):
                if code in code_owner:
                    c.add(vpath, "code_in_two_series", value=code, other=code_owner[code])
                else:
                    code_owner[code] = vpath
            slots_of[vid] = len(doses)
            cu = _catch_up(c, vnode.get("catch_up"), f"{vpath}.catch_up", accepts, len(doses))
            older = _older_sequence(c, vnode.get("older_sequence"), f"{vpath}.older_sequence", accepts, len(doses))
            built.append(Series(id=vid, group=sid or vid, doses=tuple(doses), accepts=frozenset(accepts),
                                default=is_default, catch_up=cu, older_sequence=older))
        if built:
            built.sort(key=lambda x: not x.default)
            groups.append(tuple(built))
    if not c.errors:  # a series refused for another reason would show its codes as unused too
        for code in sorted(declared - set(code_owner)):
            c.add(f"vaccines.{code}", "vaccine_unused", value=code)
    return groups


def _doses(c: _Checker, node: Any, path: str, live: set[str], known: set[str], declared: set[str],
           slots_of: dict[str, int], own_id: str) -> list[Dose]:
    out: list[Dose] = []
    items = c.sequence(node, path)
    if isinstance(node, list) and not items:
        c.add(path, "empty")
    previous_rec: Age | None = None
    for k, spec in enumerate(items):
        dpath = f"{path}[{k}]"
        d = c.mapping(spec, dpath, _DOSE_KEYS, _DOSE_OPTIONAL)
        if d is None:
            continue
        code = d.get("vaccine")
        if code is not None and (code not in known or code not in declared):
            c.add(f"{dpath}.vaccine", "unknown_vaccine", value=str(code), allowed=", ".join(sorted(declared)))
        rec = c.age(d.get("recommended"), f"{dpath}.recommended")
        cb = c.age(d.get("complete_before"), f"{dpath}.complete_before")
        interval = c.age(d.get("min_interval"), f"{dpath}.min_interval")
        if k == 0 and d.get("min_interval") is not None:
            c.add(f"{dpath}.min_interval", "interval_on_first")
        catch_up = c.age(d.get("catch_up_until"), f"{dpath}.catch_up_until")
        tb_from = c.age(d.get("tb_test_from"), f"{dpath}.tb_test_from")
        if rec and cb and _age_order(cb) <= _age_order(rec):
            c.add(f"{dpath}.complete_before", "not_after_recommended", value=cb.text, recommended=rec.text)
        if rec and previous_rec and _age_order(rec) < _age_order(previous_rec):
            c.add(f"{dpath}.recommended", "before_previous_slot", value=rec.text, previous=previous_rec.text)
        if rec and catch_up and _age_order(catch_up) <= _age_order(rec):
            c.add(f"{dpath}.catch_up_until", "not_after_recommended", value=catch_up.text, recommended=rec.text)
        after: list[After] = []
        for m, aspec in enumerate(c.sequence(d.get("after"), f"{dpath}.after")):
            apath = f"{dpath}.after[{m}]"
            a = c.mapping(aspec, apath, ("series", "dose", "interval"), ("if_not_given",))
            if a is None:
                continue
            ref, slot = a.get("series"), a.get("dose")
            ival = c.age(a.get("interval"), f"{apath}.interval")
            alt = None
            if a.get("if_not_given") is not None:
                spec = c.mapping(a["if_not_given"], f"{apath}.if_not_given", ("from", "after_last"))
                if spec is not None:
                    frm = c.age(spec.get("from"), f"{apath}.if_not_given.from")
                    last = c.age(spec.get("after_last"), f"{apath}.if_not_given.after_last")
                    alt = (frm, last) if frm and last else None
            # A reference points back: to an earlier series, or to an earlier slot of this one.
            limit = k if ref == own_id else slots_of.get(ref) if isinstance(ref, str) else None
            if ref is not None and limit is None:
                c.add(f"{apath}.series", "unknown_reference", value=str(ref))
            elif slot is not None and limit is not None and (
                    not isinstance(slot, int) or isinstance(slot, bool) or not 1 <= slot <= limit):
                c.add(f"{apath}.dose", "bad_slot_reference", value=str(slot), max=limit)
            elif ival is not None and ref is not None and slot is not None:
                after.append(After(series=ref, slot=slot - 1, interval=ival, if_not_given=alt))
        if code in known and code in declared and rec and cb:
            out.append(Dose(vaccine=code, number=k + 1, recommended=rec, complete_before=cb, min_interval=interval,
                            after=tuple(after), catch_up_until=catch_up, tb_test_from=tb_from,
                            live_injectable=code in live))
            previous_rec = rec
    return out if len(out) == len(items) else []


def edition_files() -> list[Path]:
    """The schedule editions' files, in name order (what a digest of the schedule reads)."""
    return sorted(Path(DATA_DIR).glob("*.yaml"))


def load_editions(directory: Path | str = DATA_DIR) -> tuple[Edition, ...]:
    """Every edition file (`*.yaml`) in `directory`, validated and ordered by effective_from.
    Editions must follow each other without gap or overlap (the last may stay open)."""
    directory = Path(directory)
    paths = sorted(directory.glob("*.yaml"))
    if not paths:
        raise ScheduleInvalid([FieldError("file", _E + "no_files", {"directory": str(directory)})],
                              source=str(directory))
    editions: list[Edition] = []
    errors: list[FieldError] = []
    for path in paths:
        try:
            editions.append(load_edition(path))
        except ScheduleInvalid as exc:
            errors.extend(FieldError(f"{exc.source}: {e.field}", e.reason_key, e.params) for e in exc.errors)
    if errors:
        raise ScheduleInvalid(errors, source=str(directory))
    check_sequence(editions)
    return tuple(sorted(editions, key=lambda e: e.effective_from))


def check_sequence(editions: Sequence[Edition]) -> None:
    """Editions in force one after another: each ends the day before the next begins; ids unique."""
    errors: list[FieldError] = []
    ordered = sorted(editions, key=lambda e: e.effective_from)
    ids: set[str] = set()
    for e in ordered:
        if e.id in ids:
            errors.append(FieldError(f"{e.path}: id", _E + "duplicate_edition", {"value": e.id}))
        ids.add(e.id)
    for prev, nxt in pairwise(ordered):
        if prev.effective_to is None or prev.effective_to + timedelta(days=1) != nxt.effective_from:
            errors.append(FieldError(f"{prev.path}: effective_to", _E + "editions_not_contiguous",
                                     {"value": str(prev.effective_to), "next": nxt.id,
                                      "next_from": nxt.effective_from.isoformat()}))
    if errors:
        raise ScheduleInvalid(errors)


@lru_cache(maxsize=1)
def editions() -> tuple[Edition, ...]:
    """The shipped editions, read and validated once per process."""
    return load_editions(DATA_DIR)


def edition_for(on: date, schedules: Sequence[Edition] | None = None) -> Edition:
    """The edition in force on `on`; InvalidInput("as_of") when none is."""
    for e in reversed(schedules if schedules is not None else editions()):
        if e.in_force(on):
            return e
    raise InvalidInput("as_of", "immunization.errors.no_edition", date=on.isoformat())
