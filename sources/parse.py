"""Typed conversion of text cells, as DuckDB SQL over a whole column at once (never row by row in Python).

Numbers: thousands separators, currency symbols and codes (¥ ￥ 元 US$ $ € RMB CNY USD EUR), `(1,234.00)` and
trailing-minus negatives, accounting dashes (`-` alone is zero), percent strings (`12%` → 0.12) and amounts in
万 or 亿 (`1.5万` → 15000). Dates: one format is chosen per column from all its values (never row by row), so
day-first and month-first are decided by the whole column; two-digit years, Excel serial numbers,
`2018年1月1日` and trailing weekdays are understood; impossible dates such as 2018-02-29 do not parse and the row
is rejected with the reason, never rolled over.

The SQL here only ever embeds identifiers the loader generated itself (c0, c1, ...) and formats from the fixed
list below; values from files or users are never formatted into SQL.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

NUMBER_RULE = (
    "thousands separators and spaces removed; currency symbols and codes (¥ ￥ 元 $ US$ € £ RMB CNY USD EUR) "
    "removed; (1,234.00), -1234 and 1234- are negative; a lone dash (- – —) is 0; 12% is 0.12; 万 ×10,000, 亿 ×10^8"
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
    "%d.%m.%Y",
    "%d.%m.%y",
    "%d-%b-%Y",
    "%d-%b-%y",
    "%d %b %Y",
    "%b %d, %Y",
    "%B %d, %Y",
    "%d %B %Y",
)
MONTH_FIRST_FORMATS = {f for f in DATE_FORMATS if f.startswith("%m")}
DAY_FIRST_FORMATS = {f for f in DATE_FORMATS if f.startswith("%d")}

_WEEKDAY_PATTERN = (
    r"[\s,]*[\(（]?(星期[一二三四五六日天]|周[一二三四五六日天]|礼拜[一二三四五六日天]|"
    r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*\.?)[\)）]?\s*$"
)
_LEADING_WEEKDAY = r"^\s*(Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*\.?,?\s+"


def text_sql(col: str) -> str:
    """Trimmed text; empty becomes NULL (the literal 'NA' stays text: it is a territory, not a missing value)."""
    return f"NULLIF(trim({col}), '')"


def number_sql(col: str) -> str:
    """The parsed number of a text column, NULL when it is empty or not a number."""
    s = f"trim(replace({col}, chr(160), ' '))"
    core = f"regexp_replace({s}, '(US|HK|RMB|CNY|USD|EUR|GBP|JPY|CN)|[()（）\\s,，¥￥$€£元万亿%+\\-−]', '', 'g')"
    negative = (
        f"(regexp_matches({s}, '^[^0-9]*[-−]') OR regexp_matches({s}, '[-−]$') "
        f"OR regexp_matches({s}, '^[(（].*[)）]$'))"
    )
    scale = (
        f"(CASE WHEN {s} LIKE '%亿%' THEN 100000000 WHEN {s} LIKE '%万%' THEN 10000 ELSE 1 END"
        f" * CASE WHEN {s} LIKE '%\\%' ESCAPE '\\' THEN 0.01 ELSE 1 END)"
    )
    return (
        f"(CASE WHEN {col} IS NULL OR {s} = '' THEN NULL "
        f"WHEN {s} IN ('-', '–', '—', '--') THEN 0.0 "
        f"ELSE TRY_CAST({core} AS DOUBLE) * {scale} * CASE WHEN {negative} THEN -1 ELSE 1 END END)"
    )


def bool_sql(col: str) -> str:
    v = f"lower(trim({col}))"
    return (
        f"(CASE WHEN {v} IN ('true','t','yes','y','1','是','已删除','deleted') THEN TRUE "
        f"WHEN {v} IN ('false','f','no','n','0','否','') THEN FALSE ELSE NULL END)"
    )


def clean_date_sql(col: str) -> str:
    """The date text with a trailing or leading weekday removed (`2018-01-01 Monday`, `2018年1月1日 星期一`)."""
    return f"regexp_replace(regexp_replace(trim({col}), '{_WEEKDAY_PATTERN}', ''), '{_LEADING_WEEKDAY}', '')"


def _lit(fmt: str) -> str:
    """A format from DATE_FORMATS as a SQL literal (fixed strings of this module, never user input)."""
    assert fmt in DATE_FORMATS
    return "'" + fmt + "'"


@dataclass(frozen=True)
class DateRule:
    """How one column's dates are read: a strptime format, or Excel serial numbers; and why."""

    format: str | None
    serial: bool
    parsed: int
    total: int
    note: str = ""

    @property
    def describe(self) -> str:
        how = "Excel serial day numbers" if self.serial and not self.format else self.format or "none"
        extra = f"; {self.note}" if self.note else ""
        return f"{how} ({self.parsed} of {self.total} distinct values parse{extra})"


def choose_date_rule(
    con: duckdb.DuckDBPyConnection, table: str, col: str, where: str = "TRUE", prefer: str | None = None
) -> DateRule:
    """Choose one date format for a whole column: the format that parses the most distinct values.

    Ties between month-first and day-first (every day and month ≤ 12) are settled by `prefer` ('dmy' or 'mdy',
    a source option) else month-first, and reported in the note.
    """
    clean = clean_date_sql(col)
    distinct = f"SELECT DISTINCT {clean} AS v FROM {table} WHERE {where} AND NULLIF(trim({col}), '') IS NOT NULL"
    con.execute(f"CREATE OR REPLACE TEMP TABLE _date_values AS {distinct}")
    # Every format is tried on a sample; every format that parses any sampled value is then counted on the
    # whole column, so the choice (and day-first vs month-first) is still decided by all values.
    sample_counts = con.execute(
        f"SELECT {', '.join(f'count(try_strptime(v, {_lit(fmt)}))' for fmt in DATE_FORMATS)} "
        "FROM (SELECT v FROM _date_values USING SAMPLE 2000 ROWS)"
    ).fetchall()[0]
    live = [fmt for fmt, n in zip(DATE_FORMATS, sample_counts, strict=True) if n > 0]
    counts_sql = ", ".join(f"count(try_strptime(v, {_lit(fmt)}))" for fmt in live) or "0"
    serial_sql = (
        "count(CASE WHEN TRY_CAST(v AS DOUBLE) BETWEEN 1 AND 2958465 AND v SIMILAR TO '[0-9]+(\\.[0-9]+)?' THEN 1 END)"
    )
    row = con.execute(f"SELECT count(*), {counts_sql}, {serial_sql} FROM _date_values").fetchall()[0]
    con.execute("DROP TABLE _date_values")
    total, serial = row[0], row[-1]
    live_counts = dict(zip(live, row[1:-1], strict=True))
    counts = [live_counts.get(fmt, 0) for fmt in DATE_FORMATS]
    if total == 0:
        return DateRule(None, False, 0, 0, "column is empty")
    best = max(counts)
    if serial > best:
        return DateRule(None, True, serial, total, "numbers read as Excel serial dates (1900 system)")
    candidates = [fmt for fmt, n in zip(DATE_FORMATS, counts, strict=True) if n == best and n > 0]
    if not candidates:
        return DateRule(None, False, 0, total, "no known date format matches")
    note = ""
    month_first = [f for f in candidates if f in MONTH_FIRST_FORMATS]
    day_first = [f for f in candidates if f in DAY_FIRST_FORMATS]
    if month_first and day_first:
        order = prefer or "mdy"
        chosen = (day_first if order == "dmy" else month_first)[0]
        note = (
            f"ambiguous: every day and month is ≤ 12; read as {'day' if order == 'dmy' else 'month'}-first "
            "(set the source option date_order: dmy or mdy)"
        )
    else:
        chosen = candidates[0]
    if best < total:
        note = (note + "; " if note else "") + f"{total - best} distinct values do not parse with {chosen}"
    return DateRule(chosen, serial > 0, best, total, note)


def date_sql(col: str, rule: DateRule, *, timestamp: bool, source_tz: str | None, business_tz: str) -> str:
    """Typed date or timestamp from a text column under `rule`.

    Naive times are read in the source's zone and converted to the business zone; times with an offset are
    converted from their offset. `source_tz` and `business_tz` are bound as parameters $source_tz and
    $business_tz by the caller; this function only names them.
    """
    clean = clean_date_sql(col)
    parts = []
    if rule.format:
        parsed = f"try_strptime({clean}, '{rule.format}')"
        if "%z" in rule.format:
            parsed = f"timezone($business_tz, {parsed})"
        elif timestamp and source_tz:
            parsed = f"timezone($business_tz, timezone($source_tz, {parsed}))"
        parts.append(parsed)
    if rule.serial:
        parts.append(
            f"(CASE WHEN {clean} SIMILAR TO '[0-9]+(\\.[0-9]+)?' AND TRY_CAST({clean} AS DOUBLE) BETWEEN 1 AND 2958465 "
            f"THEN TIMESTAMP '1899-12-30' + to_microseconds(CAST(round(TRY_CAST({clean} AS DOUBLE) * 86400000000) AS BIGINT)) END)"
        )
    if not parts:
        return "CAST(NULL AS TIMESTAMP)" if timestamp else "CAST(NULL AS DATE)"
    expr = parts[0] if len(parts) == 1 else f"coalesce({', '.join(parts)})"
    return f"CAST({expr} AS TIMESTAMP)" if timestamp else f"CAST({expr} AS DATE)"
