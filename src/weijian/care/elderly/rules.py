"""The rules of the elderly's annual service as data: data/elderly.yaml (the 生活自理能力评估表 and the
auxiliary tests) and data/tcm_constitution.yaml (the 33 questions and the 体质判定标准表 of 老年人中医药健康管理
服务记录表), loaded and validated at first use, and the two pure scorings: `self_care` (five levels → scores,
total, band) and `constitution` (33 answers → the nine constitutions' scores and judgements)."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

DATA = Path(__file__).resolve().parent.parent / "data"
ELDERLY_FILE = DATA / "elderly.yaml"
TCM_FILE = DATA / "tcm_constitution.yaml"
# A biased constitution's judgement (是 / 倾向是 / 否) and the balanced one's (是 / 基本是 / 否).
VERDICTS = ("yes", "leaning", "basic", "no")


@dataclass(frozen=True)
class Choice:
    code: str
    zh: str
    en: str

    def label(self, locale: str) -> str:
        return self.en if locale == "en" else self.zh


@dataclass(frozen=True)
class Item(Choice):
    scores: tuple[tuple[str, int | None], ...] = ()

    def score(self, level: str) -> int | None:
        return dict(self.scores).get(level)

    def levels(self) -> tuple[str, ...]:
        return tuple(lv for lv, s in self.scores if s is not None)


@dataclass(frozen=True)
class Band(Choice):
    min: int = 0


@dataclass(frozen=True)
class ElderlyRules:
    version: int
    min_age: int
    levels: dict[str, Choice]
    items: tuple[Item, ...]
    bands: tuple[Band, ...]  # lowest first
    tests: dict[str, Choice]
    test_results: tuple[str, ...]

    def band(self, total: int) -> Band:
        """The band of a total: the last band whose min it reaches (0–3, 4–8, 9–18, ≥19)."""
        found = self.bands[0]
        for b in self.bands:
            if total >= b.min:
                found = b
        return found


@dataclass(frozen=True)
class Constitution(Choice):
    items: tuple[int, ...] = ()
    reverse: tuple[int, ...] = ()
    guidance_zh: str = ""
    guidance_en: str = ""

    def guidance(self, locale: str) -> str:
        return self.guidance_en if locale == "en" else self.guidance_zh

    def score(self, answers: tuple[int, ...]) -> int:
        """The sum of its items' answers (question n is answers[n − 1]), a reverse-scored item as 6 − answer."""
        return sum(6 - answers[n - 1] if n in self.reverse else answers[n - 1] for n in self.items)


@dataclass(frozen=True)
class TcmRules:
    version: int
    answer_min: int
    answer_max: int
    questions: dict[int, Choice]
    biased: tuple[Constitution, ...]
    balanced: Constitution
    yes_min: int
    leaning_min: int
    balanced_yes_min: int
    others_yes_max: int
    others_basic_max: int

    def all(self) -> tuple[Constitution, ...]:
        return (self.balanced, *self.biased)

    def get(self, code: str) -> Constitution:
        return next(c for c in self.all() if c.code == code)


def _choice(d: dict[str, Any]) -> dict[str, str]:
    return {"code": str(d["code"]), "zh": str(d["zh"]), "en": str(d["en"])}


@lru_cache(maxsize=1)
def rules() -> ElderlyRules:
    raw = yaml.safe_load(ELDERLY_FILE.read_text(encoding="utf-8"))
    levels = {d["code"]: Choice(**_choice(d)) for d in raw["levels"]}
    items = tuple(Item(**_choice(d), scores=tuple((lv, d["scores"].get(lv)) for lv in levels)) for d in raw["items"])
    for it in items:
        if set(it.levels()) - set(levels) or "independent" not in it.levels():
            raise ValueError(f"elderly.yaml: item {it.code} has unknown levels")
    bands = tuple(Band(**_choice(d), min=int(d["min"])) for d in raw["bands"])
    if bands[0].min != 0 or any(a.min >= b.min for a, b in zip(bands, bands[1:], strict=False)):
        raise ValueError("elderly.yaml: bands must start at 0 and rise")
    return ElderlyRules(version=int(raw["version"]), min_age=int(raw["min_age"]), levels=levels, items=items,
                        bands=bands, tests={d["code"]: Choice(**_choice(d)) for d in raw["tests"]},
                        test_results=tuple(raw["test_results"]))


@lru_cache(maxsize=1)
def tcm() -> TcmRules:
    raw = yaml.safe_load(TCM_FILE.read_text(encoding="utf-8"))
    questions = {int(n): Choice(code=str(n), zh=str(q["zh"]), en=str(q["en"])) for n, q in raw["questions"].items()}
    if sorted(questions) != list(range(1, 34)):
        raise ValueError("tcm_constitution.yaml: questions must be numbered 1–33")

    def constitution(d: dict[str, Any]) -> Constitution:
        c = Constitution(**_choice(d), items=tuple(int(n) for n in d["items"]),
                         reverse=tuple(int(n) for n in d.get("reverse", ())),
                         guidance_zh=str(d["guidance"]["zh"]), guidance_en=str(d["guidance"]["en"]))
        if not set(c.items) <= set(questions) or not set(c.reverse) <= set(c.items):
            raise ValueError(f"tcm_constitution.yaml: {c.code} names an unknown question")
        return c

    biased = tuple(constitution(d) for d in raw["constitutions"])
    if len(biased) != 8:
        raise ValueError("tcm_constitution.yaml: eight biased constitutions")
    b, bal = raw["biased"], raw["balanced"]
    return TcmRules(version=int(raw["version"]), answer_min=int(raw["answer_min"]),
                    answer_max=int(raw["answer_max"]), questions=questions, biased=biased,
                    balanced=constitution(raw["balanced_constitution"]), yes_min=int(b["yes_min"]),
                    leaning_min=int(b["leaning_min"]), balanced_yes_min=int(bal["yes_min"]),
                    others_yes_max=int(bal["others_yes_max"]), others_basic_max=int(bal["others_basic_max"]))


# --- 生活自理能力评估 --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SelfCare:
    scores: dict[str, int]  # item → score
    total: int
    band: str
    version: int


def self_care(levels: dict[str, str]) -> SelfCare:
    """Score the five items from the level chosen for each (every item given, each level one the form offers
    for it: ValueError otherwise; the service names the field before it calls this)."""
    r = rules()
    scores: dict[str, int] = {}
    for it in r.items:
        s = it.score(levels[it.code])
        if s is None:
            raise ValueError(f"{it.code}: level {levels[it.code]} not on the form")
        scores[it.code] = s
    total = sum(scores.values())
    return SelfCare(scores=scores, total=total, band=r.band(total).code, version=r.version)


# --- 中医体质辨识 -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ConstitutionResult:
    scores: dict[str, int]  # constitution code → score (balanced first)
    verdicts: dict[str, str]  # code → yes | leaning | no (biased); yes | basic | no (balanced)
    main: str | None  # the constitution guidance starts from (None: a tie among the highest, or none)
    version: int

    def identified(self) -> list[str]:
        """The constitutions judged 是 / 倾向是 / 基本是 (兼夹体质: all of them), balanced first."""
        return [c for c, v in self.verdicts.items() if v != "no"]


def answer_problems(answers: list[int | None]) -> tuple[list[int], list[int]]:
    """(unanswered question numbers, numbers whose answer is outside 1–5) of a form of 33 answers."""
    t = tcm()
    missing = [i + 1 for i, a in enumerate(answers) if a is None]
    odd = [i + 1 for i, a in enumerate(answers) if a is not None and not t.answer_min <= a <= t.answer_max]
    return missing, odd


def constitution(answers: tuple[int, ...] | list[int]) -> ConstitutionResult:
    """Judge the nine constitutions from the 33 answers (1–5 each) by the 体质判定标准表: a biased one 是 at
    ≥11, 倾向是 at 9–10, 否 at ≤8; 平和质 (items 2, 4, 5, 13 reverse-scored) 是 at ≥17 with every biased
    score ≤8, 基本是 at ≥17 with every biased score ≤10, else 否. The main constitution is the
    highest-scoring biased one judged 是 or 倾向是 (a tie: none, the 中医师 decides), else 平和质 when it is
    是 or 基本是."""
    t = tcm()
    a = tuple(answers)
    if len(a) != len(t.questions) or any(not t.answer_min <= x <= t.answer_max for x in a):
        raise ValueError("33 answers of 1–5 are needed")
    scores = {c.code: c.score(a) for c in t.all()}
    verdicts: dict[str, str] = {}
    biased_scores = [scores[c.code] for c in t.biased]
    b = scores[t.balanced.code]
    if b >= t.balanced_yes_min and max(biased_scores) <= t.others_yes_max:
        verdicts[t.balanced.code] = "yes"
    elif b >= t.balanced_yes_min and max(biased_scores) <= t.others_basic_max:
        verdicts[t.balanced.code] = "basic"
    else:
        verdicts[t.balanced.code] = "no"
    for c in t.biased:
        s = scores[c.code]
        verdicts[c.code] = "yes" if s >= t.yes_min else "leaning" if s >= t.leaning_min else "no"
    found = [c.code for c in t.biased if verdicts[c.code] != "no"]
    main: str | None = None
    if found:
        top = max(scores[c] for c in found)
        leaders = [c for c in found if scores[c] == top]
        main = leaders[0] if len(leaders) == 1 else None
    elif verdicts[t.balanced.code] != "no":
        main = t.balanced.code
    return ConstitutionResult(scores=scores, verdicts=verdicts, main=main, version=t.version)


def parse_answers(text: str) -> list[int | None]:
    """'1,2,,5,…' → answers (an empty place: unanswered; a non-number: 0, out of range). For the CLI."""
    out: list[int | None] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            out.append(None)
        else:
            try:
                out.append(int(part))
            except ValueError:
                out.append(0)
    return out
