"""The rules of health education, as data: data/health_education.yaml (国家基本公共卫生服务规范 第三版, 健康教育
服务规范) loaded and validated at first use (`rules()`), and the pure judgement of one facility's year: what
is done of each kind against the minimum and how much of it the calendar asks for by a day (`judge`)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

RULES_FILE = Path(__file__).resolve().parent.parent / "data" / "health_education.yaml"
COUNTS = ("activities", "topics")
# A kind's state in a year: its minimum reached (met), as far as the calendar asks (on_track), short of it
# (behind), or no minimum for the facility's type (none).
STATES = ("met", "on_track", "behind", "none")


@dataclass(frozen=True)
class Kind:
    code: str
    zh: str
    en: str
    count: str  # activities | topics

    def label(self, locale: str) -> str:
        return self.en if locale == "en" else self.zh


@dataclass(frozen=True)
class Rules:
    version: int
    photo_max_bytes: int
    photos_per_activity: int
    photo_formats: tuple[str, ...]
    kinds: dict[str, Kind]
    minimums: dict[str, dict[str, int]]  # facility type → kind → yearly minimum

    def minimum(self, facility_type: str, kind: str) -> int | None:
        return self.minimums.get(facility_type, {}).get(kind)


def _load(path: Path) -> Rules:
    raw: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    where = f"{path.name}: "
    if not isinstance(raw, dict) or not isinstance(raw.get("version"), int):
        raise ValueError(where + "a mapping with an integer version is expected")
    kinds: dict[str, Kind] = {}
    for code, k in (raw.get("kinds") or {}).items():
        if not isinstance(k, dict) or not k.get("zh") or not k.get("en") or k.get("count") not in COUNTS:
            raise ValueError(where + f"kind {code}: zh, en and count ({' | '.join(COUNTS)}) are needed")
        kinds[str(code)] = Kind(str(code), str(k["zh"]), str(k["en"]), str(k["count"]))
    if not kinds:
        raise ValueError(where + "no kinds")
    minimums: dict[str, dict[str, int]] = {}
    for ftype, row in (raw.get("minimums") or {}).items():
        if not isinstance(row, dict):
            raise ValueError(where + f"minimums of {ftype}: a mapping of kind to number is expected")
        for kind, n in row.items():
            if kind not in kinds:
                raise ValueError(where + f"minimums of {ftype}: unknown kind {kind}")
            if not isinstance(n, int) or isinstance(n, bool) or n < 1:
                raise ValueError(where + f"minimums of {ftype}.{kind}: a whole number ≥ 1 is expected")
        minimums[str(ftype)] = {str(k): int(v) for k, v in row.items()}
    size, per = raw.get("photo_max_bytes"), raw.get("photos_per_activity")
    if not isinstance(size, int) or size < 1 or not isinstance(per, int) or per < 1:
        raise ValueError(where + "photo_max_bytes and photos_per_activity: whole numbers ≥ 1")
    formats = tuple(str(f) for f in raw.get("photo_formats") or ())
    if not formats:
        raise ValueError(where + "photo_formats: at least one")
    return Rules(raw["version"], size, per, formats, kinds, minimums)


@lru_cache(maxsize=1)
def rules() -> Rules:
    return _load(RULES_FILE)


def expected_by(minimum: int, year: int, on: dt.date) -> int:
    """How many of a yearly minimum the calendar asks for by `on` (counting that day): all of it once the
    year is over, none before it starts, floor(minimum × days elapsed ÷ days in the year) within it."""
    start, end = dt.date(year, 1, 1), dt.date(year, 12, 31)
    if on >= end:
        return minimum
    if on < start:
        return 0
    elapsed = (on - start).days + 1
    return minimum * elapsed // ((end - start).days + 1)


def state(done: int, minimum: int | None, expected: int) -> str:
    if minimum is None:
        return "none"
    if done >= minimum:
        return "met"
    return "on_track" if done >= expected else "behind"


@dataclass(frozen=True)
class KindResult:
    kind: str
    done: int
    minimum: int | None
    expected: int
    state: str


def judge(facility_type: str, year: int, on: dt.date, done: dict[str, int]) -> list[KindResult]:
    """Each kind of the rules for one facility's year: `done` (activities or topics, as the kind counts)
    against its type's minimum and the calendar on `on`."""
    r = rules()
    out = []
    for code in r.kinds:
        minimum = r.minimum(facility_type, code)
        expected = expected_by(minimum, year, on) if minimum is not None else 0
        n = done.get(code, 0)
        out.append(KindResult(code, n, minimum, expected, state(n, minimum, expected)))
    return out
