"""The rules of maternal health management, as data: data/maternal.yaml (国家基本公共卫生服务规范 第三版,
孕产妇健康管理服务规范; the risk colours of 孕产妇妊娠风险评估与管理工作规范) loaded and validated at first use
(`rules()`), and the pure schedule of one pregnancy: the expected date of delivery, the five antenatal
windows from the last menstrual period, and each window's status on a day (`schedule`)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

RULES_FILE = Path(__file__).resolve().parent.parent / "data" / "maternal.yaml"
# A window's status on a day: its visit recorded (done), open now (due), closed without one (overdue), or
# not open yet (upcoming).
STATUSES = ("done", "due", "overdue", "upcoming")
PREGNANCY_STATUSES = ("open", "delivered", "ended")
POSTPARTUM_KINDS = ("home", "check_42")


@dataclass(frozen=True)
class Choice:
    code: str
    zh: str
    en: str

    def label(self, locale: str) -> str:
        return self.en if locale == "en" else self.zh


@dataclass(frozen=True)
class VisitRule(Choice):
    """One antenatal visit: `before_weeks` (visit 1: from the LMP to LMP + 7·before − 1 days) or the weeks
    from_weeks–to_weeks (LMP + 7·from days to LMP + 7·to + 6 days)."""

    number: int = 0
    from_weeks: int | None = None
    to_weeks: int | None = None
    before_weeks: int | None = None

    def window(self, lmp: dt.date) -> tuple[dt.date, dt.date]:
        if self.before_weeks is not None:
            return lmp, lmp + dt.timedelta(days=7 * self.before_weeks - 1)
        assert self.from_weeks is not None and self.to_weeks is not None
        return lmp + dt.timedelta(days=7 * self.from_weeks), lmp + dt.timedelta(days=7 * self.to_weeks + 6)


@dataclass(frozen=True)
class Colour(Choice):
    rank: int = 0
    refer: bool = False


@dataclass(frozen=True)
class Criterion(Choice):
    colour: str = "yellow"


@dataclass(frozen=True)
class Rules:
    version: int
    edd_days: int
    lmp_max_weeks: int
    min_age: int
    max_age: int
    postpartum_home_days: int
    postpartum_rate_days: int
    check_42_from_day: int
    check_42_to_day: int
    visits: tuple[VisitRule, ...]
    colours: dict[str, Colour]  # lowest first
    purple: Choice
    criteria: dict[str, Criterion]
    outcomes: dict[str, Choice]

    def visit(self, number: int) -> VisitRule:
        return self.visits[number - 1]


class RulesInvalid(ValueError):
    """maternal.yaml does not hold together (raised at first use: the application does not start)."""


def _choice(cls: type[Any], raw: dict[str, Any], **extra: Any) -> Any:
    return cls(code=str(raw["code"]), zh=str(raw["zh"]), en=str(raw["en"]), **extra)


def load_rules(path: Path = RULES_FILE) -> Rules:
    """Read and check the rules file: five visits numbered 1–5 with windows in order and not overlapping,
    each criterion's colour known."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    try:
        visits = tuple(VisitRule(code=str(v["number"]), zh=v["zh"], en=v["en"], number=int(v["number"]),
                                 from_weeks=v.get("from_weeks"), to_weeks=v.get("to_weeks"),
                                 before_weeks=v.get("before_weeks")) for v in data["visits"])
        colours = {c["code"]: _choice(Colour, c, rank=i, refer=bool(c.get("refer"))) for i, c in
                   enumerate(data["colours"])}
        purple = _choice(Choice, data["purple"])
        criteria = {c["code"]: _choice(Criterion, c, colour=str(c["colour"])) for c in data["criteria"]}
        outcomes = {c["code"]: _choice(Choice, c) for c in data["outcomes"]}
        out = Rules(version=int(data["version"]), edd_days=int(data["edd_days"]),
                    lmp_max_weeks=int(data["lmp_max_weeks"]), min_age=int(data["min_age"]),
                    max_age=int(data["max_age"]), postpartum_home_days=int(data["postpartum_home_days"]),
                    postpartum_rate_days=int(data["postpartum_rate_days"]),
                    check_42_from_day=int(data["check_42_from_day"]), check_42_to_day=int(data["check_42_to_day"]),
                    visits=visits, colours=colours, purple=purple, criteria=criteria, outcomes=outcomes)
    except (KeyError, TypeError, ValueError) as exc:
        raise RulesInvalid(f"{path.name}: {exc!r}") from None
    if [v.number for v in visits] != list(range(1, len(visits) + 1)):
        raise RulesInvalid(f"{path.name}: visits must be numbered 1, 2, … in order")
    probe = dt.date(2000, 1, 1)
    ends = [v.window(probe) for v in visits]
    for (_, end), (start, _) in zip(ends, ends[1:], strict=False):
        if start <= end:
            raise RulesInvalid(f"{path.name}: antenatal windows overlap or are out of order")
    for c in criteria.values():
        if c.colour not in colours and c.colour != purple.code:
            raise RulesInvalid(f"{path.name}: criterion {c.code} has an unknown colour {c.colour}")
    return out


@lru_cache(maxsize=1)
def rules() -> Rules:
    return load_rules()


# --- the schedule of one pregnancy (pure) -----------------------------------------------------------------
def edd(lmp: dt.date) -> dt.date:
    """预产期: LMP + 280 days."""
    return lmp + dt.timedelta(days=rules().edd_days)


def gestation(lmp: dt.date, on: dt.date) -> tuple[int, int]:
    """孕周 on a day: (completed weeks, days) since the LMP."""
    return divmod((on - lmp).days, 7)


@dataclass(frozen=True)
class WindowStatus:
    visit: int
    start: dt.date
    end: dt.date
    status: str  # STATUSES
    done_on: dt.date | None = None


def window_status(start: dt.date, end: dt.date, as_of: dt.date, done_on: dt.date | None) -> str:
    """done once the visit is recorded (on or before `as_of`); else upcoming before the window opens, due
    while it is open (both ends included), overdue after its last day."""
    if done_on is not None and done_on <= as_of:
        return "done"
    if as_of < start:
        return "upcoming"
    return "due" if as_of <= end else "overdue"


def schedule(lmp: dt.date, as_of: dt.date, done: dict[int, dt.date] | None = None) -> list[WindowStatus]:
    """The five antenatal windows of a pregnancy and their status on `as_of` (`done`: visit number → the
    day it was recorded)."""
    done = done or {}
    out = []
    for v in rules().visits:
        start, end = v.window(lmp)
        on = done.get(v.number)
        out.append(WindowStatus(v.number, start, end, window_status(start, end, as_of, on),
                                on if on is not None and on <= as_of else None))
    return out


def in_window(number: int, lmp: dt.date, on: dt.date) -> bool:
    start, end = rules().visit(number).window(lmp)
    return start <= on <= end


@dataclass(frozen=True)
class Grade:
    colour: str  # green | yellow | orange | red
    infectious: bool  # 紫色, combined with the colour
    refer: bool  # the colour calls for an upward referral


def grade(criteria: list[str] | tuple[str, ...]) -> Grade:
    """妊娠风险分级 from the criteria noted: the highest colour among them (none: green), purple when an
    infectious disease is noted (shown with the colour). Unknown codes: KeyError (the command checks them)."""
    r = rules()
    colours = list(r.colours.values())
    best = colours[0]
    infectious = False
    for code in criteria:
        c = r.criteria[code]
        if c.colour == r.purple.code:
            infectious = True
        elif r.colours[c.colour].rank > best.rank:
            best = r.colours[c.colour]
    return Grade(best.code, infectious, best.refer)


def colour_labels(locale: str) -> dict[str, str]:
    r = rules()
    return {**{c.code: c.label(locale) for c in r.colours.values()}, r.purple.code: r.purple.label(locale)}


def lmp_problem(lmp: dt.date, on: dt.date) -> tuple[str, dict[str, Any]] | None:
    """Why an LMP cannot be that of a pregnancy on `on` (the i18n key's last part and its parameters): in
    the future, or more than `lmp_max_weeks` (44) weeks before — a pregnancy past 44 weeks is not open."""
    if lmp > on:
        return "lmp_future", {"date": on.isoformat()}
    weeks = rules().lmp_max_weeks
    if (on - lmp).days > 7 * weeks:
        return "lmp_too_old", {"weeks": weeks}
    return None
