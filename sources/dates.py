"""Dates in text cells: one rule per column, decided by all of its values, applied in DuckDB SQL.

The formats are chosen per column (never row by row), so day-first and month-first are decided by the whole
column; a column may mix compatible formats (dates with and without a time), never day-first with month-first.
Two-digit years follow the POSIX rule (00–68 → 2000–2068, 69–99 → 1969–1999); a four-digit-year format never
reads `03` as the year 3. Excel serial numbers, `2018年1月1日` and trailing or leading weekdays (`2018-01-01
星期一`, `Mon 01/01/2018`) are understood; impossible dates such as 2018-02-29 do not parse and the row is
rejected with the reason, never rolled over.

How a rule is decided cheaply and still from every value: `choose_date_rule` reads a sample (the first and last
rows and a random draw); the load then types the whole column with it; every cell that rule could not read is
looked at by `revise_date_rule` (its own formats, weekdays, serial numbers, and — when some cells only fit
day-first and others only month-first — a count over the whole column), and when the rule changes the column is
typed again. So a rule is final only once every value has been read with it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import duckdb

DATE_FORMATS: tuple[str, ...] = (
    "%Y-%m-%d",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S.%f",
    "%Y-%m-%dT%H:%M:%S.%f",
    "%Y-%m-%dT%H:%M:%S%z",
    "%Y-%m-%d %H:%M:%S%z",
    "%Y-%m-%dT%H:%M:%SZ",
    "%Y-%m-%dT%H:%M:%S.%fZ",
    "%Y-%m-%dT%H:%MZ",
    "%Y-%m-%d %H:%M:%S UTC",
    "%Y-%m-%d %H:%M:%SZ",
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
    "%m/%d/%Y %I:%M %p",
    "%d/%m/%Y %I:%M %p",
    "%m/%d/%Y %I:%M:%S %p",
    "%d/%m/%Y %I:%M:%S %p",
    "%Y/%m/%d %p %I:%M:%S",  # 2024/1/5 下午 3:20:00 (Chinese Excel), 下午 read as PM
    "%Y-%m-%d %p %I:%M:%S",
    "%Y/%m/%d %p %I:%M",
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
# Times written in UTC (`2018-01-05T13:45:00Z`, as Salesforce and HubSpot export them): read as UTC whatever the
# source's zone, then moved to the business zone.
UTC_FORMATS = {f for f in DATE_FORMATS if f.endswith(("Z", " UTC"))}
MONTH_FIRST_FORMATS = {f for f in DATE_FORMATS if f.startswith("%m")}
DAY_FIRST_FORMATS = {f for f in DATE_FORMATS if f.startswith("%d")}
# Excel serial day numbers accepted in a date column: 10000 (1927-05-18) .. 100000 (2173-10-14). Smaller
# integers in a date column are far more likely counts or codes than dates, and are rejected instead.
SERIAL_RANGE = (10_000, 100_000)
# A `%Y` format reads `03` as the year 3; such a year is not a date (`03` is a two-digit year, read by `%y`).
MIN_YEAR = 1000
SAMPLE_ROWS = (300, 300, 2000)  # first rows, last rows, a random draw

_WEEKDAY_PATTERN = (
    r"[\s,]*[\(（]?(星期[一二三四五六日天]|周[一二三四五六日天]|礼拜[一二三四五六日天]|"
    r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*\.?)[\)）]?\s*$"
)
_LEADING_WEEKDAY = r"^\s*(Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*\.?,?\s+"
# Cells needing the cleaned reading: a weekday beside the date, or 上午/下午 (read as AM/PM).
_ANY_WEEKDAY = r"(星期|周[一二三四五六日天]|礼拜|Mon|Tue|Wed|Thu|Fri|Sat|Sun|上午|下午)"
_SPACES = " \t\u3000\u00a0\u202f"


def _text(col: str) -> str:
    edge = " OR ".join(f"{col} LIKE '{s}%' OR {col} LIKE '%{s}'" for s in _SPACES[:4])
    return f"(CASE WHEN {col} = '' OR {edge} THEN NULLIF(trim({col}, '{_SPACES}'), '') ELSE {col} END)"


def clean_date_sql(col: str) -> str:
    """The date text with a trailing or leading weekday removed (`2018-01-01 Monday`, `2018年1月1日 星期一`) and
    上午/下午 written as AM/PM."""
    without = f"regexp_replace(regexp_replace(trim({col}), '{_WEEKDAY_PATTERN}', ''), '{_LEADING_WEEKDAY}', '')"
    return f"replace(replace({without}, '上午', 'AM'), '下午', 'PM')"


def weekday_written_sql(col: str) -> str:
    """The ISO weekday (Monday = 1) a date cell writes beside its date (`星期一`, `周日`, `Mon`), else NULL."""
    zh = (
        "list_position(['一', '二', '三', '四', '五', '六', '日'], "
        f"replace(regexp_extract({col}, '(?:星期|周|礼拜)([一二三四五六日天])', 1), '天', '日'))"
    )
    en = (
        "list_position(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], "
        f"lower(regexp_extract({col}, '\\b(Mon|Tue|Wed|Thu|Fri|Sat|Sun)', 1)))"
    )
    return f"coalesce({zh}, {en})"


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
    def how(self) -> str:
        ways = list(self.all_formats) + (["Excel serial day numbers"] if self.serial else [])
        return " or ".join(ways) if ways else "none"

    @property
    def describe(self) -> str:
        extra = f"; {self.note}" if self.note else ""
        return f"{self.how} ({self.parsed:,} of {self.total:,} values parse{extra})"

    def same_reading(self, other: DateRule) -> bool:
        return (self.all_formats, self.serial, self.weekday) == (other.all_formats, other.serial, other.weekday)

    def counted(self, parsed: int, total: int) -> DateRule:
        """This rule with the counts of the whole column, and the note they call for."""
        notes = [n for n in self.note.split("; ") if n and "match none" not in n and "column is empty" not in n]
        if total == 0:
            notes.append("column is empty")
        elif parsed < total:
            unread = total - parsed
            notes.append(f"{unread:,} value{'s match' if unread != 1 else ' matches'} none of these")
        return dataclasses.replace(self, parsed=parsed, total=total, note="; ".join(notes))


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


def rule_reads_sql(col: str, rule: DateRule) -> str:
    """True when `rule` reads the cell `col` (for finding the cells it leaves)."""
    cell = clean_date_sql(col) if rule.weekday else _text(col)
    tests = [_parses_sql(cell, f) for f in rule.all_formats] + ([_serial_sql(cell)] if rule.serial else [])
    return "(" + " OR ".join(tests) + ")" if tests else "FALSE"


def choose_date_rule(
    con: duckdb.DuckDBPyConnection, table: str, col: str, where: str = "TRUE", prefer: str | None = None
) -> DateRule:
    """A first rule for a column from a sample: its first and last rows and a random draw.

    The format reading the most sampled values is taken, then formats for the values it leaves (never
    day-first next to month-first). Ties between month-first and day-first (every day and month ≤ 12) are
    settled by `prefer` ('dmy' or 'mdy', a source option) else month-first, and reported in the note.
    `revise_date_rule` checks the rule against every value once the column has been typed with it.
    """
    text = _text(col)
    filled = f"{where} AND {col} IS NOT NULL"
    first, last, drawn = SAMPLE_ROWS
    _sample(
        con,
        f"(SELECT {text} AS v FROM {table} WHERE {filled} ORDER BY _line LIMIT {first}) UNION ALL "
        f"(SELECT {text} AS v FROM {table} WHERE {filled} ORDER BY _line DESC LIMIT {last}) UNION ALL "
        f"(SELECT {text} AS v FROM {table} WHERE {filled} USING SAMPLE reservoir({drawn} ROWS) REPEATABLE (7))",
    )
    rule = _rule_from_sample(con, DateRule(None, False, 0, 0), prefer)
    con.execute("DROP TABLE IF EXISTS _date_sample")
    return rule


def revise_date_rule(
    con: duckdb.DuckDBPyConnection, table: str, col: str, where: str, rule: DateRule, prefer: str | None = None
) -> DateRule:
    """`rule` improved by the cells it could not read (same rule when they teach nothing)."""
    filled = f"{where} AND {col} IS NOT NULL AND {_text(col)} IS NOT NULL"
    _sample(con, f"SELECT {_text(col)} AS v FROM {table} WHERE {filled} AND NOT {rule_reads_sql(col, rule)} LIMIT 5000")
    try:
        revised = _rule_from_sample(con, rule, prefer)
        if revised.same_reading(rule):
            revised = _other_order(con, table, col, filled, rule, prefer)
        return revised
    finally:
        con.execute("DROP TABLE IF EXISTS _date_sample")


def _rule_from_sample(con: duckdb.DuckDBPyConnection, rule: DateRule, prefer: str | None) -> DateRule:
    """Extend `rule` with what reads the values in `_date_sample` (greedy: the format reading most, and so on)."""
    weekday = rule.weekday or _sample_has_weekday(con)
    chosen = list(rule.all_formats)
    family = next((_family(f) for f in chosen if _family(f)), None)
    serial = rule.serial
    note = rule.note
    clean = clean_date_sql("v") if weekday else "v"
    unread = "TRUE"
    for _round in range(4):
        formats = [f for f in DATE_FORMATS if f not in chosen and (family is None or _family(f) in (None, family))]
        # Which formats could matter: those reading some of (at most) 300 values still unread; then their counts.
        con.execute(f"CREATE OR REPLACE TEMP TABLE _date_probe AS SELECT v FROM _date_sample WHERE {unread} LIMIT 300")
        probe = con.execute(
            "SELECT count(*), "
            + ", ".join(
                [f"count(*) FILTER (WHERE {_parses_sql(clean, f)})" for f in formats]
                + [f"count(*) FILTER (WHERE {_serial_sql(clean)})"]
            )
            + " FROM _date_probe"
        ).fetchall()[0]
        formats = [f for f, n in zip(formats, probe[1:-1], strict=True) if n > 0]
        if probe[0] == 0 or (not formats and not probe[-1]):
            break
        row = con.execute(
            "SELECT "
            + ", ".join(
                [f"count(*) FILTER (WHERE {unread} AND {_parses_sql(clean, f)})" for f in formats]
                + [f"count(*) FILTER (WHERE {unread} AND {_serial_sql(clean)})"]
            )
            + " FROM _date_sample"
        ).fetchall()[0]
        counts = dict(zip(formats, row[:-1], strict=True))
        best = max(counts.values(), default=0)
        if not serial and row[-1] > best:
            serial = True
            unread += f" AND NOT {_serial_sql(clean)}"
            continue
        if best == 0:
            break
        tied = [f for f in formats if counts[f] == best]
        month_first = [f for f in tied if f in MONTH_FIRST_FORMATS]
        day_first = [f for f in tied if f in DAY_FIRST_FORMATS]
        if month_first and day_first:
            by_weekday = (
                None if prefer or not weekday else _order_by_weekday(con, clean, unread, month_first, day_first)
            )
            order = prefer or (by_weekday[0] if by_weekday else "mdy")
            pick = (day_first if order == "dmy" else month_first)[0]
            first = "day" if order == "dmy" else "month"
            both = con.execute(
                f"SELECT count(*) FILTER (WHERE {unread} AND {_parses_sql(clean, month_first[0])} "
                f"AND {_parses_sql(clean, day_first[0])}) FROM _date_sample"
            ).fetchall()[0][0]
            if by_weekday:
                note = (
                    f"{first}-first: the weekdays written beside the dates agree ({by_weekday[1]:,} of "
                    f"{by_weekday[2]:,})"
                )
            elif both < best:
                note = (
                    f"contradictory: as many dates only fit day-first ({best - both:,} sampled) as only fit "
                    f"month-first; read as {first}-first, the others are rejected (set the source option "
                    "date_order: dmy or mdy)"
                )
            else:
                note = (
                    f"ambiguous: every day and month is ≤ 12; read as {first}-first "
                    "(set the source option date_order: dmy or mdy)"
                )
        else:
            pick = tied[0]
        chosen.append(pick)
        family = family or _family(pick)
        unread += f" AND NOT {_parses_sql(clean, pick)}"
    con.execute("DROP TABLE IF EXISTS _date_probe")
    return DateRule(chosen[0] if chosen else None, serial, 0, 0, note, tuple(chosen), weekday)


def _order_by_weekday(
    con: duckdb.DuckDBPyConnection, clean: str, unread: str, month_first: list[str], day_first: list[str]
) -> tuple[str, int, int] | None:
    """('mdy' or 'dmy', sampled dates whose written weekday that order agrees with, dates with a weekday) when the
    weekdays beside the dates settle the order, else None."""
    said = weekday_written_sql("v")
    agree = [
        " OR ".join(f"isodow(try_strptime({clean}, {_lit(f)})) = {said}" for f in formats)
        for formats in (month_first, day_first)
    ]
    mdy, dmy, written = con.execute(
        f"SELECT count(*) FILTER (WHERE {agree[0]}), count(*) FILTER (WHERE {agree[1]}), "
        f"count(*) FILTER (WHERE {said} IS NOT NULL) FROM _date_sample WHERE {unread}"
    ).fetchall()[0]
    if mdy == dmy:
        return None
    return ("mdy", mdy, written) if mdy > dmy else ("dmy", dmy, written)


def _other_order(
    con: duckdb.DuckDBPyConnection, table: str, col: str, filled: str, rule: DateRule, prefer: str | None
) -> DateRule:
    """When the cells a month-first rule leaves read day-first (or the reverse), the whole column decides."""
    family = next((_family(f) for f in rule.all_formats if _family(f)), None)
    if family is None:
        return rule
    other = "dmy" if family == "mdy" else "mdy"
    flipped = _rule_from_sample(con, DateRule(None, False, 0, 0, "", (), rule.weekday), other)
    if not flipped.all_formats or not any(_family(f) == other for f in flipped.all_formats):
        return rule
    cell = clean_date_sql(col) if rule.weekday else _text(col)
    mine = " OR ".join(_parses_sql(cell, f) for f in rule.all_formats if _family(f) == family)
    theirs_formats = [f for f in DATE_FORMATS if _family(f) == other]
    theirs = " OR ".join(_parses_sql(cell, f) for f in theirs_formats)
    only_mine, only_theirs = con.execute(
        f"SELECT count(*) FILTER (WHERE ({mine}) AND NOT ({theirs})), count(*) FILTER (WHERE ({theirs}) AND NOT ({mine})) "
        f"FROM {table} WHERE {filled}"
    ).fetchall()[0]
    if only_theirs <= only_mine:
        return rule
    kept = tuple(f for f in rule.all_formats if _family(f) is None)
    note = (
        f"{'day' if other == 'dmy' else 'month'}-first: {only_theirs:,} values only fit it, "
        f"{only_mine:,} only fit {'month' if other == 'dmy' else 'day'}-first"
    )
    switched = [f for f in flipped.all_formats if _family(f) == other]
    return DateRule(switched[0], rule.serial, 0, 0, note, tuple(switched) + kept, rule.weekday)


def _sample(con: duckdb.DuckDBPyConnection, select: str) -> None:
    con.execute(f"CREATE OR REPLACE TEMP TABLE _date_sample AS SELECT DISTINCT v FROM ({select}) WHERE v IS NOT NULL")


def _sample_has_weekday(con: duckdb.DuckDBPyConnection) -> bool:
    return (
        con.execute(f"SELECT count(*) FILTER (WHERE regexp_matches(v, '{_ANY_WEEKDAY}')) FROM _date_sample").fetchall()[
            0
        ][0]
        > 0
    )


def date_sql(col: str, rule: DateRule, *, timestamp: bool, source_tz: str | None, business_tz: str) -> str:
    """Typed date or timestamp from a text column under `rule`.

    Naive times are read in the source's zone and converted to the business zone; times with an offset are
    converted from their offset, and times marked UTC (`Z`, ` UTC`) from UTC. `source_tz` and `business_tz` are bound as parameters $source_tz and
    $business_tz by the caller; this function only names them.
    """
    clean = clean_date_sql(col) if rule.weekday else _text(col)
    parts = []
    # The cell as it is first (the common case, cheapest), then trimmed and without a weekday.
    for cell in (col, clean):
        for fmt in rule.all_formats:
            parsed = f"try_strptime({cell}, {_lit(fmt)})"
            if "%z" in fmt:
                parsed = f"timezone($business_tz, {parsed})"
            elif fmt in UTC_FORMATS:
                parsed = f"timezone($business_tz, timezone('UTC', {parsed}))"
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


def written_date_sql(col: str, rule: DateRule) -> str:
    """The date as the cell writes it, before any time zone is applied (for checking a weekday written beside it);
    NULL for cells with a UTC offset (`+08:00`), whose written date is not kept."""
    clean = clean_date_sql(col)
    parts = [f"try_strptime({clean}, {_lit(f)})" for f in rule.all_formats if "%z" not in f]
    if not parts:
        return "CAST(NULL AS DATE)"
    return f"CAST({parts[0] if len(parts) == 1 else f'coalesce({chr(44).join(parts)})'} AS DATE)"


def date_guard_sql(value: str) -> str:
    """`value` (a typed date column of an inner query) unless its year is below MIN_YEAR (`03` read by `%Y`)."""
    return f"(CASE WHEN year({value}) >= {MIN_YEAR} THEN {value} END)"
