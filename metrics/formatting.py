"""How numbers are written on pages, exports and messages (the documented rule, README "Number formats").

- money, zh: ≥ 1亿 → `¥1.23亿`; ≥ 1万 → `¥123.46万`; otherwise `¥1,234.50`. en: ≥ 1B → `¥1.23B`; ≥ 1M →
  `¥1.23M`; ≥ 1K → `¥12.35K`; otherwise `¥123.45`. Two decimals on the scaled value, rounded half away from
  zero; a minus sign before the currency symbol.
- count: a whole number with thousands separators, `4,238`.
- percent: the fraction × 100 with one decimal, `63.2%`.
- days: one decimal, `12.5 天` / `12.5 days`.
- number: two decimals with thousands separators.
- no value: `—`.
- a change (`format_change`): the metric's own format with its sign, `+¥12.35万`; a ratio's change in
  percentage points, `+0.3 pp`.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal

CURRENCY_SYMBOLS = {"CNY": "¥", "USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "HKD": "HK$", "INR": "₹"}
NO_VALUE = "—"


def _round(value: float, places: int) -> Decimal:
    return Decimal(repr(value)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def symbol(currency: str) -> str:
    return CURRENCY_SYMBOLS.get(currency, currency + " ")


def format_value(value: float | int | None, fmt: str, *, lang: str = "zh", currency: str = "CNY") -> str:
    """Write one value under the documented rule for its metric format."""
    if value is None or (isinstance(value, float) and (math.isnan(value) or math.isinf(value))):
        return NO_VALUE
    if fmt == "money":
        return format_money(float(value), lang=lang, currency=currency)
    if fmt == "count":
        return f"{int(_round(float(value), 0)):,}"
    if fmt == "percent":
        return f"{_round(float(value) * 100, 1)}%"
    if fmt == "days":
        return f"{_round(float(value), 1)} {'天' if lang == 'zh' else 'days'}"
    return f"{_round(float(value), 2):,}"


def format_money(value: float, *, lang: str = "zh", currency: str = "CNY") -> str:
    sign = "-" if value < 0 else ""
    amount = abs(value)
    steps = ((1e8, "亿"), (1e4, "万")) if lang == "zh" else ((1e9, "B"), (1e6, "M"), (1e3, "K"))
    for size, unit in steps:
        if amount >= size:
            scaled = _round(amount / size, 2)
            return f"{sign}{symbol(currency)}{scaled:,}{unit}"
    return f"{sign}{symbol(currency)}{_round(amount, 2):,}"


def format_change(value: float | None, fmt: str, *, lang: str = "zh", currency: str = "CNY") -> str:
    """A change in a metric's own unit with its sign: `+¥12.35万`, `-3`; a ratio moves in points, `+0.3 pp`."""
    if value is None or (isinstance(value, float) and (math.isnan(value) or math.isinf(value))):
        return NO_VALUE
    if fmt == "percent":
        points = _round(float(value) * 100, 1)
        return f"{_sign(points)}{abs(points)} pp"
    # The sign of what is shown: a change that rounds to nothing is written without one (never `-¥0.00`).
    size = format_value(abs(float(value)), fmt, lang=lang, currency=currency)
    if size == format_value(0.0, fmt, lang=lang, currency=currency):
        return size
    return ("+" if float(value) > 0 else "-") + size


def _sign(rounded: Decimal) -> str:
    return "+" if rounded > 0 else "-" if rounded < 0 else ""


def format_delta_pct(value: float | None) -> str:
    """A change in percent with its sign, `+12.3%` / `-4.0%`."""
    if value is None or (isinstance(value, float) and (math.isnan(value) or math.isinf(value))):
        return NO_VALUE
    rounded = _round(float(value) * 100, 1)
    return f"{_sign(rounded)}{abs(rounded)}%"
