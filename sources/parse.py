"""Typed conversion of text cells, as DuckDB SQL over a whole column at once (never row by row in Python).

Numbers (`number_sql`): thousands separators, currency symbols and codes (¥ ￥ 元 US$ $ € RMB CNY USD EUR),
`(1,234.00)` and trailing-minus negatives, accounting dashes (`-` alone is zero), percent strings (`12%` → 0.12)
and amounts in 万 or 亿 (`3.2万元` → 32000). Separators are checked, not stripped blindly: with the default
decimal point `1,234.5` is 1234.5 but `1.234,56` and `12,34` are not numbers (rejected, with a hint to set the
source option `decimal: comma`, under which `1.234,56` is 1234.56). A whole column can carry a unit stated in its
header or in the title above it (`目标（万元）`), applied to every cell without a unit of its own.

Dates are read by `sources.dates` (re-exported here).

The SQL here only ever embeds identifiers the loader generated itself (c0, c1, ...) and patterns and formats
from this module; values from files or users are never formatted into SQL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sources.dates import (  # noqa: F401  (re-exported: the date rules live in sources.dates)
    DATE_FORMATS,
    DateRule,
    choose_date_rule,
    clean_date_sql,
    date_guard_sql,
    date_sql,
    revise_date_rule,
)

NUMBER_RULE = (
    "currency symbols and codes (¥ ￥ 元 $ US$ € £ RMB CNY USD EUR) removed; thousands separators checked "
    "(1,234.5 with a decimal point, 1.234,5 under `decimal: comma`); (1,234.00), -1234 and 1234- are negative; "
    "a lone dash (- – —) is 0; 12% is 0.12 in a rate column and refused in an amount column; 万 ×10,000, 亿 ×10^8"
)

_SPACES = " \t\u3000\u00a0\u202f"
_SPACE_CODES = ", ".join(str(ord(c)) for c in _SPACES)

# ---- numbers --------------------------------------------------------------------------------------------
_FAST = {
    ".": r"^[¥￥$€£]?-?([0-9]{1,3}(,[0-9]{3})+|[0-9]+)(\.[0-9]+)?$",
    ",": r"^[¥￥$€£]?-?([0-9]{1,3}(\.[0-9]{3})+|[0-9]+)(,[0-9]+)?$",
}
_GROUPED = {
    ".": r"^(([0-9]{1,3}(,[0-9]{3})+|[0-9]+)(\.[0-9]+)?|\.[0-9]+)$",
    ",": r"^(([0-9]{1,3}(\.[0-9]{3})+|[0-9]+)(,[0-9]+)?|,[0-9]+)$",
}
_SPLIT = r"^(.*?)([0-9][0-9,. ]*[0-9]|[0-9]|[.,][0-9]+)(.*)$"
# The currency an amount cell names by its sign or code; `$` and `¥` alone name a family.
_TOKENS = {
    **dict.fromkeys(("us$", "usd"), "USD"),
    **dict.fromkeys(("hk$", "hkd"), "HKD"),
    **dict.fromkeys(("nt$", "twd"), "TWD"),
    **dict.fromkeys(("a$", "au$", "aud"), "AUD"),
    **dict.fromkeys(("c$", "ca$", "cad"), "CAD"),
    **dict.fromkeys(("nz$", "nzd"), "NZD"),
    **dict.fromkeys(("s$", "sgd"), "SGD"),
    **dict.fromkeys(("€", "eur"), "EUR"),
    **dict.fromkeys(("£", "gbp"), "GBP"),
    **dict.fromkeys(("jpy", "円"), "JPY"),
    **dict.fromkeys(("cny", "rmb", "人民币", "cn¥", "元"), "CNY"),
    "$": "$",
    "¥": "¥",
    "￥": "¥",
}
# The signs and codes allowed around a number: every spelling above, longest first.
_CURRENCY = "|".join(t.replace("$", "\\$") for t in sorted(_TOKENS, key=len, reverse=True))
_PREFIX_OK = rf"(?i)^(\s|[-−+(（]|{_CURRENCY})*$"
_SUFFIX_OK = rf"(?i)^(\s|[-−)）%]|元|万元|万|亿元|亿|{_CURRENCY})*$"
_DASH = r"^[¥￥$€£\s]*[-–—−]+[\s]*$"
_SCIENTIFIC = r"^[-+]?[0-9]+(\.[0-9]+)?[eE][-+]?[0-9]+$"
_EUROPEAN_LOOK = r"^[^0-9]*([0-9]{1,3}(\.[0-9]{3})+,[0-9]+|[0-9]+,[0-9]{1,2})[^0-9]*$"
# `12.500` under a decimal point is 12.5 — unless the column writes decimal commas elsewhere (`99,90`), where it is
# as likely 12 500: such cells are then refused rather than read either way.
_DOTTED_THOUSANDS = r"^[^0-9,]*[0-9]{1,3}(\.[0-9]{3})+[^0-9,]*$"
_COMMA_THOUSANDS = r"^[^0-9.]*[0-9]{1,3}(,[0-9]{3})+[^0-9.]*$"  # `1,250`: 1250, or 1,25 in such a column
DECIMAL_COMMA_HINT = "looks like a decimal comma"
_FULLWIDTH = ("０１２３４５６７８９．，－＋（）％", "0123456789.,-+()%")


@dataclass(frozen=True)
class NumberRule:
    """How one number column is read: the decimal mark, a unit scale from its header or title, and why."""

    decimal: str = "."
    scale: float = 1.0
    unit: str = ""  # the words that set `scale`, e.g. "header 目标（万元）"
    commas_seen: bool = False  # the column writes decimal commas somewhere: `12.500` is refused, not read as 12.5
    commas_likely: bool = False  # a `;`-separated file, as decimal-comma locales save CSV: less evidence needed

    @property
    def describe(self) -> str:
        mark = "decimal comma (1.234,56)" if self.decimal == "," else "decimal point (1,234.56)"
        unit = f"; ×{self.scale:,.0f} ({self.unit})" if self.scale != 1 else ""
        seen = (
            "; the column also writes decimal commas, so values like 12.500 are refused (set decimal: comma if meant)"
            if self.commas_seen
            else ""
        )
        return f"{mark}{unit}{seen}"


def text_sql(col: str) -> str:
    """Trimmed text; empty becomes NULL (the literal 'NA' stays text: it is a territory, not a missing value).

    Only cells that start or end with a space (ASCII, tab, full-width, no-break or narrow no-break) are trimmed, so
    the common case costs two code-point tests, not a copy (half the cost of a LIKE per kind of space).
    """
    spaces = _SPACE_CODES
    edge = f"ord({col}) IN ({spaces}) OR ord({col}[-1]) IN ({spaces})"
    return f"(CASE WHEN {col} = '' OR {edge} THEN NULLIF(trim({col}, '{_SPACES}'), '') ELSE {col} END)"


def plain_number_sql(col: str, decimal: str = ".") -> str:
    """DuckDB's own cast of a plain number (`1234`, `-12.5`, `1e5`), the cheapest first try; NULL otherwise.

    Under a decimal comma a `.` is a thousands separator, so cells with one are left to the full parse.
    """
    if decimal == ",":
        return f"(CASE WHEN contains({col}, '.') THEN NULL ELSE TRY_CAST({col} AS DOUBLE) END)"
    return f"TRY_CAST({col} AS DOUBLE)"


def fast_number_match_sql(col: str, decimal: str = ".") -> str:
    """True when a cell is a number with at most a currency sign and well-placed thousands separators."""
    return f"regexp_matches({col}, '{_FAST[decimal]}')"


def number_parts_sql(col: str) -> str:
    """A struct {pre, num, post, s} splitting a cell the fast paths cannot read.

    `num` is the digits with their separators; `pre` and `post` what stands around them (currency, sign,
    parentheses, unit); `s` the cleaned cell. Computed once per such cell in an inner query (callers guard it with
    a CASE so that ordinary cells never pay for it) and read by `number_value_sql`.
    """
    s = f"translate(trim(replace(replace({col}, chr(160), ' '), chr(8239), ' ')), '{_FULLWIDTH[0]}', '{_FULLWIDTH[1]}')"
    return f"struct_insert(regexp_extract({s}, '{_SPLIT}', ['pre', 'num', 'post']), s := {s})"


def number_value_sql(
    col: str, plain: str, matched: str, parts: str, rule: NumberRule | None = None, *, percent: bool = True
) -> str:
    """The number of a text cell `col`; NULL when it is not a number.

    `plain` is the cell's `plain_number_sql`, `matched` its `fast_number_match_sql`, `parts` its
    `number_parts_sql` (NULL where not needed), each computed once in an inner query. `percent=False` (amounts)
    refuses `12%` instead of reading 0.12.
    """
    rule = rule or NumberRule()
    d = rule.decimal
    unsigned = f"CASE WHEN {col}[1] IN ('¥', '￥', '$', '€', '£') THEN {col}[2:] ELSE {col} END"
    if d == ",":
        fast = f"CAST(replace(replace({unsigned}, '.', ''), ',', '.') AS DOUBLE)"
        digits = f"replace(replace(replace({parts}.num, ' ', '.'), '.', ''), ',', '.')"
        grouped = f"regexp_matches(replace({parts}.num, ' ', '.'), '{_GROUPED[',']}')"
    else:
        fast = f"CAST(replace({unsigned}, ',', '') AS DOUBLE)"
        digits = f"replace(replace({parts}.num, ' ', ''), ',', '')"
        grouped = f"regexp_matches(replace({parts}.num, ' ', ','), '{_GROUPED['.']}')"
    around = f"({parts}.pre || {parts}.post)"
    own_unit = f"(contains({around}, '万') OR contains({around}, '亿'))"
    scale = (
        f"(CASE WHEN contains({around}, '亿') THEN 100000000.0 WHEN contains({around}, '万') THEN 10000.0 "
        f"ELSE 1.0 END * CASE WHEN contains({around}, '%') THEN 0.01 ELSE 1.0 END)"
    )
    opened = f"(contains({parts}.pre, '(') OR contains({parts}.pre, '（'))"
    closed = f"(contains({parts}.post, ')') OR contains({parts}.post, '）'))"
    minus = f"(regexp_matches({around}, '[-−]'))"
    slow = (
        f"CASE WHEN regexp_matches({parts}.s, '{_DASH}') THEN 0.0 "
        f"WHEN regexp_matches({parts}.s, '{_SCIENTIFIC}') THEN TRY_CAST({parts}.s AS DOUBLE) * {rule.scale!r} "
        f"WHEN {parts}.num = '' OR {opened} <> {closed} OR NOT {grouped} "
        + ("" if percent else f"OR contains({around}, '%') ")
        + f"OR NOT regexp_matches({parts}.pre, '{_PREFIX_OK}') OR NOT regexp_matches({parts}.post, '{_SUFFIX_OK}') "
        "THEN NULL "
        f"ELSE TRY_CAST({digits} AS DOUBLE) * {scale} * CASE WHEN {opened} OR {minus} THEN -1.0 ELSE 1.0 END"
        + (f" * CASE WHEN {own_unit} THEN 1.0 ELSE {rule.scale!r} END" if rule.scale != 1 else "")
        + " END"
    )
    scaled = (lambda x: f"{x} * {rule.scale!r}") if rule.scale != 1 else (lambda x: x)
    refused = (
        f"WHEN regexp_matches({col}, '{_DOTTED_THOUSANDS}') OR regexp_matches({col}, '{_COMMA_THOUSANDS}') THEN NULL "
        if rule.commas_seen and d == "."
        else ""
    )
    return (
        f"(CASE WHEN {col} IS NULL THEN NULL {refused}WHEN {plain} IS NOT NULL THEN "
        f"CASE WHEN isfinite({plain}) THEN {scaled(plain)} END "
        f"WHEN {matched} THEN {scaled(fast)} WHEN {parts} IS NOT NULL THEN {slow} END)"
    )


# How currency columns write a currency besides its ISO code.
_CURRENCY_NAMES = {
    "CNY": ("人民币", "人民币元", "RMB", "元", "CN¥", "¥", "￥"),
    "USD": ("美元", "美金", "US$", "US DOLLAR", "US DOLLARS"),
    "EUR": ("欧元", "€", "EURO", "EUROS"),
    "GBP": ("英镑", "£"),
    "HKD": ("港币", "港元", "HK$"),
    "JPY": ("日元", "円"),
    "TWD": ("新台币", "NT$"),
}


_ISO_IN_HEADER = re.compile(r"(?<![A-Za-z])(USD|EUR|GBP|HKD|JPY|CNY|RMB|TWD|SGD|AUD|CAD)(?![A-Za-z])")


def currency_in_header(header: str) -> str | None:
    """The currency an amount column's header names (`Amount (USD)`, `金额(美元)`, `Revenue USD`), if exactly one."""
    found = {m.group(1).upper() for m in _ISO_IN_HEADER.finditer(header.upper())}
    found |= {code for code, names in _CURRENCY_NAMES.items() for name in names if len(name) > 1 and name in header}
    found = {"CNY" if code == "RMB" else code for code in found}
    return found.pop() if len(found) == 1 else None


def currency_code_sql(value: str) -> str:
    """The ISO code of a currency as a currency column writes it (`人民币`, `RMB`, `美元` → CNY, USD), upper-cased."""
    names = " ".join(
        f"WHEN '{name}' THEN '{code}'" for code, spellings in _CURRENCY_NAMES.items() for name in spellings
    )
    return f"(CASE upper(trim({value})) {names} ELSE upper(trim({value})) END)"


_FAMILIES = {"$": ("USD", "HKD", "TWD", "AUD", "CAD", "SGD", "NZD", "MXN"), "¥": ("CNY", "JPY")}
# Signs that need no look in a source of that currency (the common case: `¥39,688.20` in a CNY export).
_OWN_SIGNS = {"CNY": "¥￥元币", "JPY": "¥￥円", "EUR": "€", "GBP": "£", **dict.fromkeys(_FAMILIES["$"], "$")}
_SIGNS = "$€£¥￥元円币"


def currency_mark_sql(col: str, currency: str | None = None) -> str:
    """The currency an amount cell names by its sign or code (`USD`, `EUR`, `CNY`, or `$` / `¥` for a family),
    else NULL. Only cells with a letter or a sign are looked at; given the source's `currency` (when rows carry
    no currency of their own), cells whose only sign is that currency's are not."""
    own = _OWN_SIGNS.get((currency or "").upper(), "")
    signs = "".join(c for c in _SIGNS if c not in own).replace("$", "\\$")
    cases = " ".join(f"WHEN '{t}' THEN '{m}'" for t, m in _TOKENS.items())
    return (
        f"(CASE WHEN regexp_matches({col}, '[A-Za-z{signs}]') THEN "
        f"CASE regexp_extract(lower({col}), '({_CURRENCY})', 1) {cases} END END)"
    )


def foreign_mark_sql(mark: str, currency: str) -> str:
    """`mark` (a `currency_mark_sql` column) when it names another currency than `currency` (a SQL expression of
    the row's currency code), else NULL: such an amount would be read in the wrong currency."""
    fits = " ".join(
        f"WHEN '{family}' THEN {currency} IN ({', '.join(repr(c) for c in members)})"
        for family, members in _FAMILIES.items()
    )
    return f"(CASE WHEN {mark} IS NULL OR CASE {mark} {fits} ELSE {mark} = {currency} END THEN NULL ELSE {mark} END)"


def number_sql(col: str, rule: NumberRule | None = None) -> str:
    """The parsed number of a text column in one expression (for small tables; loads use the layered form)."""
    rule = rule or NumberRule()
    plain = plain_number_sql(col, rule.decimal)
    matched = fast_number_match_sql(col, rule.decimal)
    parts = f"(CASE WHEN {col} IS NOT NULL THEN {number_parts_sql(col)} END)"
    return number_value_sql(col, plain, matched, parts, rule)


def number_hint_sql(col: str, rule: NumberRule | None = None, *, percent: bool = True) -> str:
    """Words added to a reject reason when a cell looks like a number written with a decimal comma, or (amounts,
    `percent=False`) like a percentage."""
    rule = rule or NumberRule()
    if not percent:
        return (
            f"CASE WHEN regexp_matches({col}, '[0-9]\\s*[%％]') THEN ' (a percentage, not an amount)' "
            f"ELSE {number_hint_sql(col, rule)} END"
        )
    if rule.decimal == ",":
        return "''"
    dotted = (
        f"WHEN regexp_matches({col}, '{_DOTTED_THOUSANDS}') THEN ' (12.500 could be 12 500: the column writes decimal "
        "commas elsewhere; if the file writes 1.234,56, set the source option decimal: comma)' "
        f"WHEN regexp_matches({col}, '{_COMMA_THOUSANDS}') THEN ' (1,250 could be 1,25: the column writes decimal "
        "commas elsewhere; if the file writes 1.234,56, set the source option decimal: comma)' "
        if rule.commas_seen
        else ""
    )
    return (
        f"CASE WHEN regexp_matches({col}, '{_EUROPEAN_LOOK}') THEN ' ({DECIMAL_COMMA_HINT}; if the file "
        f"writes 1.234,56, set the source option decimal: comma)' {dotted}ELSE '' END"
    )


def bool_sql(col: str) -> str:
    v = f"lower(trim({col}))"
    return (
        f"(CASE WHEN {v} IN ('true','t','yes','y','1','是','已删除','deleted') THEN TRUE "
        f"WHEN {v} IN ('false','f','no','n','0','否','') THEN FALSE ELSE NULL END)"
    )
