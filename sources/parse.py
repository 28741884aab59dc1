"""Typed conversion of text cells, as DuckDB SQL over a whole column at once (never row by row in Python).

Numbers (`number_sql`): thousands separators, currency symbols and codes (¥ ￥ 元 US$ $ € RMB CNY USD EUR),
`(1,234.00)` and trailing-minus negatives, accounting dashes (`-` alone is zero), percent strings (`12%` → 0.12)
and amounts in 万 or 亿 (`3.2万元` → 32000). Separators are checked, not stripped blindly: with the default
decimal point `1,234.5` is 1234.5 but `1.234,56` and `12,34` are not numbers (rejected, with a hint to set the
source option `decimal: comma`, under which `1.234,56` is 1234.56). A whole column can carry a unit stated in its
header or in the title above it (`目标（万元）`), applied to every cell without a unit of its own.

Dates (`choose_date_rule`, `date_sql`): the formats are chosen per column from all its values (never row by
row), so day-first and month-first are decided by the whole column; a column may mix compatible formats (dates
with and without a time), never day-first with month-first. Two-digit years follow the POSIX rule (00–68 →
2000–2068, 69–99 → 1969–1999). Excel serial numbers, `2018年1月1日` and trailing or leading weekdays
(`2018-01-01 星期一`, `Mon 01/01/2018`) are understood; impossible dates such as 2018-02-29 do not parse and the
row is rejected with the reason, never rolled over.

The SQL here only ever embeds identifiers the loader generated itself (c0, c1, ...) and patterns and formats
from this module; values from files or users are never formatted into SQL.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

NUMBER_RULE = (
    "currency symbols and codes (¥ ￥ 元 $ US$ € £ RMB CNY USD EUR) removed; thousands separators checked "
    "(1,234.5 with a decimal point, 1.234,5 under `decimal: comma`); (1,234.00), -1234 and 1234- are negative; "
    "a lone dash (- – —) is 0; 12% is 0.12; 万 ×10,000, 亿 ×10^8"
)

DATE_FORMATS: tuple[str, ...] = (
    "%Y-%m-%d",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S.%f",
    "%Y-%m-%dT%H:%M:%S.%f",
    "%Y-%m-%dT%H:%M:%S%z",
    "%Y-%m-%d %H:%M:%S%z",
    "%Y/%m/%d",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y.%m.%d",
    "%Y%m%d",
    "%Y年%m月%d日",
    "%Y年%m月%d日 %H:%M:%S",
    "%Y年%m月%d日 %H:%M",
    "%Y年%m月%d日%H时%M分",
    "%Y-%m",
    "%Y/%m",
    "%Y年%m月",
    "%m/%d/%Y",
    "%d/%m/%Y",
    "%m/%d/%Y %H:%M",
    "%d/%m/%Y %H:%M",
    "%m/%d/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M:%S",
    "%m/%d/%y",
    "%d/%m/%y",
    "%m/%d/%y %H:%M",
    "%d/%m/%y %H:%M",
    "%m-%d-%Y",
    "%d-%m-%Y",
    "%m-%d-%y",
    "%d-%m-%y",
    "%d.%m.%Y",
    "%d.%m.%y",
    "%d-%b-%Y",
    "%d-%b-%y",
    "%d %b %Y",
    "%b %d, %Y",
    "%B %d, %Y",
    "%d %B %Y",
    "%b-%y",
    "%b-%Y",
    "%b %Y",
    "%B %Y",
)
MONTH_FIRST_FORMATS = {f for f in DATE_FORMATS if f.startswith("%m")}
DAY_FIRST_FORMATS = {f for f in DATE_FORMATS if f.startswith("%d")}
# Excel serial day numbers accepted in a date column: 10000 (1927-05-18) .. 100000 (2173-10-14). Smaller
# integers in a date column are far more likely counts or codes than dates, and are rejected instead.
SERIAL_RANGE = (10_000, 100_000)
# A `%Y` format reads `03` as the year 3; such a year is not a date (`03` is a two-digit year, read by `%y`).
MIN_YEAR = 1000

_WEEKDAY_PATTERN = (
    r"[\s,]*[\(（]?(星期[一二三四五六日天]|周[一二三四五六日天]|礼拜[一二三四五六日天]|"
    r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*\.?)[\)）]?\s*$"
)
_LEADING_WEEKDAY = r"^\s*(Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*\.?,?\s+"
_ANY_WEEKDAY = r"(星期|周[一二三四五六日天]|礼拜|Mon|Tue|Wed|Thu|Fri|Sat|Sun)"
_SPACES = " \t\u3000\u00a0\u202f"

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
_CURRENCY = r"us\$|hk\$|nt\$|a\$|c\$|s\$|rmb|cny|usd|eur|gbp|jpy|hkd|twd|cn¥|人民币|¥|￥|\$|€|£"
_PREFIX_OK = rf"(?i)^(\s|[-−+(（]|{_CURRENCY})*$"
_SUFFIX_OK = rf"(?i)^(\s|[-−)）%]|元|万元|万|亿元|亿|{_CURRENCY})*$"
_DASH = r"^[¥￥$€£\s]*[-–—−]+[\s]*$"
_SCIENTIFIC = r"^[-+]?[0-9]+(\.[0-9]+)?[eE][-+]?[0-9]+$"
_EUROPEAN_LOOK = r"^[^0-9]*([0-9]{1,3}(\.[0-9]{3})+,[0-9]+|[0-9]+,[0-9]{1,2})[^0-9]*$"
_FULLWIDTH = ("０１２３４５６７８９．，－＋（）％", "0123456789.,-+()%")


@dataclass(frozen=True)
class NumberRule:
    """How one number column is read: the decimal mark, a unit scale from its header or title, and why."""

    decimal: str = "."
    scale: float = 1.0
    unit: str = ""  # the words that set `scale`, e.g. "header 目标（万元）"

    @property
    def describe(self) -> str:
        mark = "decimal comma (1.234,56)" if self.decimal == "," else "decimal point (1,234.56)"
        unit = f"; ×{self.scale:,.0f} ({self.unit})" if self.scale != 1 else ""
        return f"{mark}{unit}"


def text_sql(col: str) -> str:
    """Trimmed text; empty becomes NULL (the literal 'NA' stays text: it is a territory, not a missing value).

    Only cells that start or end with a space (ASCII, tab, full-width or no-break) are trimmed, so the common case
    costs a few prefix tests, not a copy.
    """
    edge = " OR ".join(f"{col} LIKE '{s}%' OR {col} LIKE '%{s}'" for s in _SPACES[:4])
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


def number_value_sql(col: str, plain: str, matched: str, parts: str, rule: NumberRule | None = None) -> str:
    """The number of a text cell `col`; NULL when it is not a number.

    `plain` is the cell's `plain_number_sql`, `matched` its `fast_number_match_sql`, `parts` its
    `number_parts_sql` (NULL where not needed), each computed once in an inner query.
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
        f"OR NOT regexp_matches({parts}.pre, '{_PREFIX_OK}') OR NOT regexp_matches({parts}.post, '{_SUFFIX_OK}') "
        "THEN NULL "
        f"ELSE TRY_CAST({digits} AS DOUBLE) * {scale} * CASE WHEN {opened} OR {minus} THEN -1.0 ELSE 1.0 END"
        + (f" * CASE WHEN {own_unit} THEN 1.0 ELSE {rule.scale!r} END" if rule.scale != 1 else "")
        + " END"
    )
    scaled = (lambda x: f"{x} * {rule.scale!r}") if rule.scale != 1 else (lambda x: x)
    return (
        f"(CASE WHEN {col} IS NULL THEN NULL WHEN {plain} IS NOT NULL THEN "
        f"CASE WHEN isfinite({plain}) THEN {scaled(plain)} END "
        f"WHEN {matched} THEN {scaled(fast)} WHEN {parts} IS NOT NULL THEN {slow} END)"
    )


def number_sql(col: str, rule: NumberRule | None = None) -> str:
    """The parsed number of a text column in one expression (for small tables; loads use the layered form)."""
    rule = rule or NumberRule()
    plain = plain_number_sql(col, rule.decimal)
    matched = fast_number_match_sql(col, rule.decimal)
    parts = f"(CASE WHEN {col} IS NOT NULL THEN {number_parts_sql(col)} END)"
    return number_value_sql(col, plain, matched, parts, rule)


def number_hint_sql(col: str, rule: NumberRule | None = None) -> str:
    """Words added to a reject reason when a cell looks like a number written with a decimal comma."""
    if (rule or NumberRule()).decimal == ",":
        return "''"
    return (
        f"CASE WHEN regexp_matches({col}, '{_EUROPEAN_LOOK}') THEN ' (looks like a decimal comma; if the file "
        "writes 1.234,56, set the source option decimal: comma)' ELSE '' END"
    )


def bool_sql(col: str) -> str:
    v = f"lower(trim({col}))"
    return (
        f"(CASE WHEN {v} IN ('true','t','yes','y','1','是','已删除','deleted') THEN TRUE "
        f"WHEN {v} IN ('false','f','no','n','0','否','') THEN FALSE ELSE NULL END)"
    )


# ---- dates ----------------------------------------------------------------------------------------------
def clean_date_sql(col: str) -> str:
    """The date text with a trailing or leading weekday removed (`2018-01-01 Monday`, `2018年1月1日 星期一`)."""
    return f"regexp_replace(regexp_replace(trim({col}), '{_WEEKDAY_PATTERN}', ''), '{_LEADING_WEEKDAY}', '')"


def _lit(fmt: str) -> str:
    """A format from DATE_FORMATS as a SQL literal (fixed strings of this module, never user input)."""
    assert fmt in DATE_FORMATS
    return "'" + fmt + "'"


@dataclass(frozen=True)
class DateRule:
    """How one column's dates are read: strptime formats tried in order, Excel serial numbers, weekday removal."""

    format: str | None
    serial: bool
    parsed: int
    total: int
    note: str = ""
    formats: tuple[str, ...] = field(default=())
    weekday: bool = False

    @property
    def all_formats(self) -> tuple[str, ...]:
        return self.formats or ((self.format,) if self.format else ())

    @property
    def describe(self) -> str:
        ways = list(self.all_formats) + (["Excel serial day numbers"] if self.serial else [])
        how = " or ".join(ways) if ways else "none"
        extra = f"; {self.note}" if self.note else ""
        return f"{how} ({self.parsed:,} of {self.total:,} values parse{extra})"


def _family(fmt: str) -> str | None:
    if fmt in MONTH_FIRST_FORMATS:
        return "mdy"
    if fmt in DAY_FIRST_FORMATS:
        return "dmy"
    return None


def _parses_sql(v: str, fmt: str) -> str:
    """True when `v` parses under `fmt`; a four-digit-year format must give a four-digit year (`03` is not 0003)."""
    parsed = f"try_strptime({v}, {_lit(fmt)})"
    if "%Y" in fmt:
        return f"coalesce(year({parsed}) >= {MIN_YEAR}, FALSE)"
    return f"{parsed} IS NOT NULL"


def _serial_sql(v: str) -> str:
    lo, hi = SERIAL_RANGE
    return f"(regexp_matches({v}, '^[0-9]+(\\.[0-9]+)?$') AND TRY_CAST({v} AS DOUBLE) BETWEEN {lo} AND {hi})"


def choose_date_rule(
    con: duckdb.DuckDBPyConnection, table: str, col: str, where: str = "TRUE", prefer: str | None = None
) -> DateRule:
    """Choose how a whole column's dates are read, from all its values.

    Candidate formats come from a sample (the first and last rows and a random draw) and are counted on every
    row of the column; the one parsing the most rows is taken. The rows it leaves are then looked at in turn:
    their own formats (never day-first next to month-first), Excel serial numbers and weekdays are added while
    they parse more rows. Ties between month-first and day-first (every day and month ≤ 12) are settled by
    `prefer` ('dmy' or 'mdy', a source option) else month-first, and reported in the note.
    """
    filled = f"{where} AND {col} IS NOT NULL AND {text_sql(col)} IS NOT NULL"
    text = text_sql(col)
    _sample(
        con,
        f"(SELECT {text} AS v FROM {table} WHERE {filled} ORDER BY _line LIMIT 500) UNION ALL "
        f"(SELECT {text} AS v FROM {table} WHERE {filled} ORDER BY _line DESC LIMIT 500) UNION ALL "
        f"(SELECT {text} AS v FROM {table} WHERE {filled} USING SAMPLE reservoir(3000 ROWS) REPEATABLE (7))",
    )
    weekday = _sample_has_weekday(con)
    cell = clean_date_sql(col) if weekday else text
    chosen: list[str] = []
    use_serial = False
    family: str | None = None
    note = ""
    total: int | None = None
    parsed = 0
    unread = filled
    for _round in range(4):
        live, serial_seen = _sample_formats(con, weekday, family, chosen)
        if not live and not serial_seen:
            break
        counts_sql = [f"count(*) FILTER (WHERE {_parses_sql(cell, f)})" for f in live]
        if serial_seen:
            counts_sql.append(f"count(*) FILTER (WHERE {_serial_sql(cell)})")
        row = con.execute(f"SELECT count(*), {', '.join(counts_sql)} FROM {table} WHERE {unread}").fetchall()[0]
        total = row[0] if total is None else total
        counts = dict(zip(live, row[1 : 1 + len(live)], strict=True))
        serial_count = row[-1] if serial_seen else 0
        best = max(counts.values(), default=0)
        if serial_count > best:
            use_serial = True
            parsed += serial_count
            unread += f" AND NOT ({_serial_sql(cell)})"
        elif best > 0:
            tied = [f for f in DATE_FORMATS if counts.get(f) == best]
            month_first = [f for f in tied if f in MONTH_FIRST_FORMATS]
            day_first = [f for f in tied if f in DAY_FIRST_FORMATS]
            if month_first and day_first:
                order = prefer or "mdy"
                pick = (day_first if order == "dmy" else month_first)[0]
                note = (
                    f"ambiguous: every day and month is ≤ 12; read as {'day' if order == 'dmy' else 'month'}-first "
                    "(set the source option date_order: dmy or mdy)"
                )
            else:
                pick = tied[0]
            chosen.append(pick)
            family = family or _family(pick)
            parsed += best
            unread += f" AND NOT ({_parses_sql(cell, pick)})"
        else:
            break
        if parsed >= total:
            break
        # The rows left: their own sample decides what else to try.
        _sample(con, f"SELECT {text} AS v FROM {table} WHERE {unread} LIMIT 3000")
        if not weekday and _sample_has_weekday(con):
            con.execute("DROP TABLE IF EXISTS _date_sample")
            return _with_weekdays(con, table, col, where, prefer)
    con.execute("DROP TABLE IF EXISTS _date_sample")
    if total is None:
        total = con.execute(f"SELECT count(*) FROM {table} WHERE {filled}").fetchall()[0][0]
    if total == 0:
        return DateRule(None, False, 0, 0, "column is empty")
    if not chosen and not use_serial:
        return DateRule(None, False, 0, total, "no known date format matches")
    if parsed < total:
        unread_n = total - parsed
        note = (note + "; " if note else "") + f"{unread_n:,} value{'s match' if unread_n != 1 else ' matches'} none of these"
    if use_serial:
        note = (note + "; " if note else "") + "numbers read as Excel serial dates (1900 system)"
    return DateRule(
        chosen[0] if chosen else None, use_serial, parsed, total, note, formats=tuple(chosen), weekday=weekday
    )


def _sample(con: duckdb.DuckDBPyConnection, select: str) -> None:
    con.execute(f"CREATE OR REPLACE TEMP TABLE _date_sample AS SELECT DISTINCT v FROM ({select}) WHERE v IS NOT NULL")


def _sample_has_weekday(con: duckdb.DuckDBPyConnection) -> bool:
    return con.execute(
        f"SELECT count(*) FILTER (WHERE regexp_matches(v, '{_ANY_WEEKDAY}')) FROM _date_sample"
    ).fetchall()[0][0] > 0


def _sample_formats(
    con: duckdb.DuckDBPyConnection, weekday: bool, family: str | None, chosen: list[str]
) -> tuple[list[str], bool]:
    """The formats (compatible with `family`, not yet chosen) that parse some sampled value; any serial numbers?"""
    clean = clean_date_sql("v") if weekday else "v"
    formats = [f for f in DATE_FORMATS if f not in chosen and (family is None or _family(f) in (None, family))]
    row = con.execute(
        "SELECT "
        + ", ".join([f"count(*) FILTER (WHERE {_parses_sql(clean, f)})" for f in formats] + [f"count(*) FILTER (WHERE {_serial_sql(clean)})"])
        + " FROM _date_sample"
    ).fetchall()[0]
    return [f for f, n in zip(formats, row[:-1], strict=True) if n > 0], row[-1] > 0


def date_sql(col: str, rule: DateRule, *, timestamp: bool, source_tz: str | None, business_tz: str) -> str:
    """Typed date or timestamp from a text column under `rule`.

    Naive times are read in the source's zone and converted to the business zone; times with an offset are
    converted from their offset. `source_tz` and `business_tz` are bound as parameters $source_tz and
    $business_tz by the caller; this function only names them.
    """
    clean = clean_date_sql(col) if rule.weekday else text_sql(col)
    parts = []
    # The cell as it is first (the common case, cheapest), then trimmed and without a weekday.
    for cell in (col, clean):
        for fmt in rule.all_formats:
            parsed = f"try_strptime({cell}, {_lit(fmt)})"
            if "%z" in fmt:
                parsed = f"timezone($business_tz, {parsed})"
            elif timestamp and source_tz:
                parsed = f"timezone($business_tz, timezone($source_tz, {parsed}))"
            parts.append(parsed)
    if rule.serial:
        parts.append(
            f"(CASE WHEN {_serial_sql(clean)} THEN TIMESTAMP '1899-12-30' + "
            f"to_microseconds(CAST(round(TRY_CAST({clean} AS DOUBLE) * 86400000000) AS BIGINT)) END)"
        )
    if not parts:
        return "CAST(NULL AS TIMESTAMP)" if timestamp else "CAST(NULL AS DATE)"
    expr = parts[0] if len(parts) == 1 else f"coalesce({', '.join(parts)})"
    return f"CAST({expr} AS TIMESTAMP)" if timestamp else f"CAST({expr} AS DATE)"


def date_guard_sql(value: str) -> str:
    """`value` (a typed date column of an inner query) unless its year is below MIN_YEAR (`03` read by `%Y`)."""
    return f"(CASE WHEN year({value}) >= {MIN_YEAR} THEN {value} END)"
