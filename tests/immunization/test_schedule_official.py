"""The 2021 schedule file pinned to the official table, dose by dose.

Source: 国家卫生健康委员会《国家免疫规划疫苗儿童免疫程序及说明（2021年版）》 (notice of 2021-02-23).
The commission's own page was not reachable; the values below were transcribed from reproductions of
the national text: 青岛市疾控中心 "国家免疫规划疫苗儿童免疫程序说明(2021年版)" parts 5 (polio,
www.cdcqd.cn/info_view?newsid=116826) and 6 (DTaP/DT, newsid=116827), verbatim; the 广东省疾控中心 mirror
of the official PDF (cdcp.gd.gov.cn/attachment/0/416/416672/3442966.pdf), read as close paraphrase; the
浙江 2021 方案 (m.hz.bendibao.com/mip/108111.shtm) for 流脑; China CDC Weekly's English translation for
the complete-before ages the short Chinese list leaves out (polio 4 < 5 y, JE-I4 < 7 y, MPSV-AC1 < 4 y).

"程序表所列接种时间是可接种该剂次的最小年龄" — the table's age is the earliest age of the dose.
Values the official text does not give (HepB2 / IPV / DTaP1–2 complete-before, the HepB intervals) are
None here and not asserted: they are weijian's reading, marked so in the data file.

The table is written here from the texts, not read from the data file, so an edit of
`data/nip-2021.yaml` that disagrees (e.g. MMR2 moved to 12 months) fails.
"""
from __future__ import annotations

import copy
from typing import NamedTuple

import pytest
import yaml

from weijian.immunization.schedule.rules import DATA_DIR, Age, Edition, load_edition, parse_age, parse_edition

NIP_2021 = DATA_DIR / "nip-2021.yaml"


class Official(NamedTuple):
    series: str  # the series (or variant) id in weijian's file
    number: int  # dose number within the series
    vaccine: str
    age: str  # 起始接种年龄 (earliest age)
    complete_before: str | None  # 完成该剂次的最迟年龄, where the text gives it
    min_interval: str | None  # from the previous dose of the series, where the text gives it
    quote: str  # the official wording the row is transcribed from


OFFICIAL_2021 = [
    Official("HepB", 1, "HepB", "0d", "1d", None, "乙肝疫苗…出生时(24小时内)接种第1剂"),
    Official("HepB", 2, "HepB", "1m", None, None, "1月龄"),
    Official("HepB", 3, "HepB", "6m", "12m", None, "6月龄；乙肝第3剂…小于12月龄完成"),
    Official("BCG", 1, "BCG", "0d", "3m", None, "卡介苗出生时接种；小于3月龄完成"),
    Official("polio", 1, "IPV", "2m", None, None, "2月龄、3月龄各接种1剂IPV"),
    Official("polio", 2, "IPV", "3m", None, "28d", "两剂次间隔不小于28天"),
    Official("polio", 3, "bOPV", "4m", "12m", "28d", "4月龄、4周岁各接种1剂bOPV；脊灰第3剂小于12月龄"),
    Official("polio", 4, "bOPV", "4y", "5y", "28d", "脊灰第4剂小于5周岁 (China CDC Weekly)"),
    Official("DTP", 1, "DTaP", "3m", None, None, "3月龄、4月龄、5月龄、18月龄各接种1剂DTaP"),
    Official("DTP", 2, "DTaP", "4m", None, "28d", "前3剂每剂间隔不小于28天"),
    Official("DTP", 3, "DTaP", "5m", "12m", "28d", "前3剂每剂间隔不小于28天；百白破第3剂小于12月龄"),
    Official("DTP", 4, "DTaP", "18m", "24m", "6m", "第4剂与第3剂间隔不小于6个月；百白破第4剂小于24月龄"),
    Official("DTP", 5, "DT", "6y", "7y", "12m", "6周岁接种1剂DT；DT与第4剂DTaP间隔不小于12个月；白破小于7周岁"),
    Official("MMR", 1, "MMR", "8m", "12m", None, "麻腮风 8月龄；第1剂小于12月龄"),
    Official("MMR", 2, "MMR", "18m", "24m", "28d", "18月龄；第2剂小于24月龄；两剂MMR接种间隔应不小于28天"),
    Official("JE-L", 1, "JE-L", "8m", "12m", None, "乙脑减毒活疫苗 8月龄；第1剂小于12月龄"),
    Official("JE-L", 2, "JE-L", "2y", "3y", "12m", "2周岁；补齐2剂，间隔不小于12个月；小于3周岁"),
    Official("JE-I", 1, "JE-I", "8m", None, None, "乙脑灭活疫苗 8月龄接种2剂"),
    Official("JE-I", 2, "JE-I", "8m", "12m", "7d", "第1、2剂间隔7-10天；第2剂小于12月龄"),
    Official("JE-I", 3, "JE-I", "2y", "3y", "1m", "第2、3剂间隔1-12个月；2周岁；小于3周岁"),
    Official("JE-I", 4, "JE-I", "6y", "7y", "3y", "第3、4剂间隔不小于3年；6周岁；小于7周岁"),
    Official("MPSV-A", 1, "MPSV-A", "6m", None, None, "分别于6月龄、9月龄各接种1剂次"),
    Official("MPSV-A", 2, "MPSV-A", "9m", "18m", "3m", "MPSV-A两剂次间隔≥3个月；第2剂小于18月龄"),
    Official("MPSV-AC", 1, "MPSV-AC", "3y", "4y", None, "3周岁、6周岁各接种1剂；第1剂小于4周岁"),
    Official("MPSV-AC", 2, "MPSV-AC", "6y", "7y", "3y", "MPSV-AC两剂次间隔≥3年；第2剂小于7周岁"),
    Official("HepA-L", 1, "HepA-L", "18m", "24m", None, "甲肝减毒活疫苗 18月龄；小于24月龄"),
    Official("HepA-I", 1, "HepA-I", "18m", "24m", None, "甲肝灭活疫苗 18月龄；第1剂小于24月龄"),
    Official("HepA-I", 2, "HepA-I", "24m", "3y", "6m", "24月龄；补齐2剂，间隔不小于6个月；小于3周岁"),
]
# MPSV-AC1 "与MPSV-A第2剂次，间隔≥12个月" (浙江 2021 方案, matching the 广东 mirror).
OFFICIAL_AFTER_2021 = {("MPSV-AC", 1): ("MPSV-A", 2, "12m")}


def _same(age: Age | None, text: str) -> bool:
    want = parse_age(text)
    assert want is not None, text
    return age is not None and (age.months, age.days) == (want.months, want.days)


def disagreements(edition: Edition) -> list[str]:
    """Every way the loaded edition differs from the official table (empty when it agrees)."""
    out: list[str] = []
    official = {(row.series, row.number) for row in OFFICIAL_2021}
    loaded = {(s.id, d.number) for s in edition.series.values() for d in s.doses}
    out += [f"{k}: in the file, not in the official table" for k in sorted(loaded - official)]
    out += [f"{k}: in the official table, missing from the file" for k in sorted(official - loaded)]
    for row in OFFICIAL_2021:
        if (row.series, row.number) not in loaded:
            continue
        dose = edition.series[row.series].doses[row.number - 1]
        key = f"{row.series} {row.number}"
        if dose.vaccine != row.vaccine:
            out.append(f"{key}: vaccine {dose.vaccine} != {row.vaccine}")
        if not _same(dose.recommended, row.age):
            out.append(f"{key}: age {dose.recommended} != {row.age}")
        if row.complete_before and not _same(dose.complete_before, row.complete_before):
            out.append(f"{key}: complete_before {dose.complete_before} != {row.complete_before}")
        if row.min_interval and not _same(dose.min_interval, row.min_interval):
            out.append(f"{key}: min_interval {dose.min_interval} != {row.min_interval}")
        want_after = OFFICIAL_AFTER_2021.get((row.series, row.number))
        if want_after:
            got = {(a.series, a.slot + 1): a.interval for a in dose.after}  # slot is 0-based
            if not _same(got.get(want_after[:2]), want_after[2]):
                out.append(f"{key}: after {want_after} not in {sorted(got)}")
    return out


def test_the_2021_file_agrees_with_the_official_table_dose_by_dose():
    """国家免疫规划疫苗儿童免疫程序及说明（2021年版）: each dose's age, minimum interval and
    complete-before age (see the module docstring for where each was read)."""
    assert disagreements(load_edition(NIP_2021)) == []


@pytest.mark.parametrize(("series_id", "number", "key", "value", "expected"), [
    ("MMR", 2, "recommended", "12m", "MMR 2: age 12m != 18m"),  # the edit of issue 14
    ("MPSV-A", 2, "min_interval", "1m", "MPSV-A 2: min_interval 1m != 3m"),
    ("DTP", 4, "complete_before", "3y", "DTP 4: complete_before 3y != 24m"),
    ("polio", 3, "vaccine", "IPV", "polio 3: vaccine IPV != bOPV"),
])
def test_a_data_edit_that_disagrees_with_the_official_table_is_caught(series_id, number, key, value, expected):
    """Same source: 2021年版 MMR "8月龄、18月龄"; MPSV-A "两剂次间隔≥3个月"; DTaP4 "小于24月龄";
    polio "4月龄…接种1剂bOPV". An edit of any of them in the data file must not pass."""
    data = copy.deepcopy(yaml.safe_load(NIP_2021.read_text(encoding="utf-8")))
    group = next(s for s in data["series"] if s["id"] == series_id)
    group["doses"][number - 1][key] = value
    assert expected in disagreements(parse_edition(data, source="edited.yaml"))
