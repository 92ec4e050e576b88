"""大写金额 as 中国人民银行《正确填写票据和结算凭证的基本规定》 (支付结算办法 附件, 银发〔1997〕393号) writes it; every
expected value below is one of that text's examples, transcribed (where the text allows two forms, the first)."""
from __future__ import annotations

from decimal import Decimal

import pytest

from weijian.settlement.amount_words import rmb_upper


@pytest.mark.parametrize(("amount", "words"), [
    ("1409.50", "壹仟肆佰零玖元伍角"),  # 阿拉伯数字中间有"0"时，中文大写金额要写"零"字
    ("6007.14", "陆仟零柒元壹角肆分"),  # 中间连续有几个"0"时……可以只写一个"零"字
    ("1680.32", "壹仟陆佰捌拾元零叁角贰分"),  # 元位是"0"……角位不是"0"
    ("107000.53", "壹拾万柒仟元零伍角叁分"),  # 万位、元位也是"0"，但千位、角位不是"0"
    ("16409.02", "壹万陆仟肆佰零玖元零贰分"),  # 角位是"0"，而分位不是"0"时，"元"后面应写"零"字
    ("325.04", "叁佰贰拾伍元零肆分"),
    ("532.00", "伍佰叁拾贰元整"),  # 到"元"为止的，在"元"之后，应写"整"字
])
def test_the_banks_examples(amount: str, words: str) -> None:
    assert rmb_upper(Decimal(amount)) == words


@pytest.mark.parametrize(("amount", "words"), [
    ("0", "零元整"), ("0.56", "伍角陆分"), ("0.05", "伍分"), ("10", "壹拾元整"),
    ("100500", "壹拾万零伍佰元整"), ("100000001", "壹亿零壹元整"), ("100010000", "壹亿零壹万元整"),
    ("9999999999.99", "玖拾玖亿玖仟玖佰玖拾玖万玖仟玖佰玖拾玖元玖角玖分"),
])
def test_edges(amount: str, words: str) -> None:
    assert rmb_upper(Decimal(amount)) == words


def test_a_negative_amount_is_refused() -> None:
    with pytest.raises(ValueError):
        rmb_upper(Decimal("-1"))
