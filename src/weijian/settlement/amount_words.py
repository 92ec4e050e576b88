"""An amount of money in Chinese capital numerals (大写金额), as slips and vouchers print it.

Written to 中国人民银行《正确填写票据和结算凭证的基本规定》 (支付结算办法 附件, 银发〔1997〕393号), whose examples
the tests transcribe: 零 where digits in the middle are 0 (one 零 for a run), 元 then 整 when there are no 角
and 分, no 整 after 角 or 分, and 零 after 元 when the 元 digit is 0 but 角 is not or when 角 is 0 but 分 is not
(of the two forms the rule allows for a 0 at 万 or 元 before a non-zero 仟 or 角, weijian writes the first:
¥107,000.53 → 壹拾万柒仟元零伍角叁分). A tens digit is written 壹拾, as finance does. No library on the
project's registries does this with these rules and Decimal, so it is this small function.
"""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

DIGITS = "零壹贰叁肆伍陆柒捌玖"
PLACES = ("", "拾", "佰", "仟")
GROUPS = ("", "万", "亿", "万亿")


def _group(n: int) -> str:
    """1 ≤ n ≤ 9999 in capitals, zeros inside written as one 零, trailing zeros dropped."""
    out: list[str] = []
    zero = False
    for place in (3, 2, 1, 0):
        d = n // 10 ** place % 10
        if d == 0:
            zero = bool(out)
            continue
        if zero:
            out.append("零")
            zero = False
        out.append(DIGITS[d] + PLACES[place])
    return "".join(out)


def rmb_upper(amount: Decimal) -> str:
    """`amount` (yuan, rounded half up to the fen; not negative) in 大写, without the "人民币" prefix."""
    if amount < 0:
        raise ValueError("amount must not be negative")
    fen_total = int((amount * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    yuan, jiao, fen = fen_total // 100, fen_total // 10 % 10, fen_total % 10
    groups = []
    n = yuan
    while n:
        groups.append(n % 10000)
        n //= 10000
    if len(groups) > len(GROUPS):
        raise ValueError("amount too large")
    parts: list[str] = []
    for i in range(len(groups) - 1, -1, -1):
        g = groups[i]
        if g == 0:
            continue
        if parts and (g < 1000 or groups[i + 1] == 0):  # zeros before it since the last non-zero group
            parts.append("零")
        parts.append(_group(g) + GROUPS[i])
    text = "".join(parts)
    if yuan:
        text += "元"
    if jiao == 0 and fen == 0:
        return (text or "零元") + "整"
    if yuan and (yuan % 10 == 0 or jiao == 0):
        text += "零"
    if jiao:
        text += DIGITS[jiao] + "角"
    if fen:
        text += DIGITS[fen] + "分"
    return text
