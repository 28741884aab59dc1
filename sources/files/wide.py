"""Finance's targets template: one row per team or rep, months as columns, amounts often in 万.

    2024年销售目标（单位：万元）
    团队,     销售代表, 1月, 2月, ..., 12月, 合计
    华东一组,         , 120, 130, ...,      1,560
    ,         张三,    40,  45, ...,        520      ← a merged team cell: filled down from the row above

is unpivoted into one canonical target per row × month: the period comes from the column header (a month
without a year takes the year the title states, or the source option `year`), the amount from the cell, scaled
by the unit the title, the header or the source option `unit` states. Then it is typed like any export, so a
non-numeric cell is rejected with its line and its column. A row-total column (合计, 全年, Total) is not a
period: it is checked against the sum of the months and every difference is reported. Accounting is per cell
of the period columns: `rows_read` = lines below the header × period columns.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

import duckdb

from sources.canonical import normalise_header
from sources.files.structure import Header, StructureError, month_of, period_columns, unit_scale, year_in
from sources.load import Issue
from sources.parse import NumberRule, number_sql
from sources.typing_sql import skip_sql

_ROW_TOTALS = {
    "合计",
    "总计",
    "全年",
    "全年合计",
    "年度合计",
    "年合计",
    "小计",
    "total",
    "totals",
    "fy",
    "fullyear",
    "year",
}
PERIOD_HEADER = "期间（列标题）"
AMOUNT_HEADER = "目标（单元格）"


@dataclass
class WideTargets:
    """The layout found: period columns with their months, row-total columns, the year and the unit."""

    periods: list[tuple[int, dt.date, str]]
    totals: list[int]
    rule: NumberRule
    year_from: str = ""
    filled_down: dict[str, int] = field(default_factory=dict)

    def describe(self) -> dict[str, Any]:
        first, last = self.periods[0], self.periods[-1]
        return {
            "layout": "wide targets template",
            "period_columns": [h for _, _, h in self.periods],
            "periods": f"{first[1]:%Y-%m} .. {last[1]:%Y-%m}",
            "year": self.year_from,
            "amount_unit": self.rule.describe,
            "row_total_columns": self.totals,
            "filled_down": self.filled_down,
        }


def wide_layout(header: Header, title: str, options: dict[str, Any], explicit: dict[str, str]) -> WideTargets | None:
    """The wide layout of a targets file, or None when it is a long one (a period column of its own)."""
    if "period" in explicit:
        return None
    cols = period_columns(header.cells)
    keys = [normalise_header(h) for h in header.cells]
    if not cols or any(k in ("period", "month", "月份", "期间", "年月") for k in keys):
        return None
    year = options.get("year")
    year_from = "source option year" if year else ""
    if not year:
        year = year_in(title)
        year_from = f"title {title[:40]!r}" if year else ""
    periods, bad = [], []
    for i in cols:
        month = month_of(header.cells[i], int(year) if year else None)
        (periods.append((i, month, header.cells[i])) if month else bad.append(header.cells[i]))
    if bad:
        needs_year = all(re.fullmatch(r"\d{1,2}\s*月|[a-z]{3,9}", b.strip(), re.IGNORECASE) for b in bad)
        if needs_year:
            raise StructureError(
                f"the targets template names months without a year ({', '.join(bad[:3])}, ...) and no year was "
                "found in its title; put the year in the title (2024年销售目标) or set the source option year: 2024"
            )
        raise StructureError(
            f"period columns that are not months: {', '.join(bad[:4])}; the targets template takes one column per "
            "month (2024-01, 2024年1月, 1月, Jan-24)"
        )
    totals = [i for i, k in enumerate(keys) if k in _ROW_TOTALS and i not in cols]
    unit = str(options.get("unit") or "")
    if unit:
        scale, words = unit_scale(f"({unit})")
        if scale == 1.0 and unit not in ("元", "yuan"):
            raise StructureError(f"source option unit: {unit!r} is not a unit (元, 千元, 万元, 亿元)")
        rule = NumberRule(decimal=options.get("decimal", "."), scale=scale, unit=f"source option unit {unit}")
    else:
        scale, words = 1.0, ""
        for i, _, _ in periods[:1]:
            scale, words = unit_scale(header.cells[i], title)
        if scale == 1.0:
            for cell in header.cells:
                scale, words = unit_scale(cell)
                if scale != 1.0:
                    break
        rule = NumberRule(decimal=options.get("decimal", "."), scale=scale, unit=words)
    return WideTargets(periods, totals, rule, year_from or "the column headers")


def unpivot(
    con: duckdb.DuckDBPyConnection, raw_table: str, header: Header, layout: WideTargets, long_table: str
) -> tuple[Header, list[Issue]]:
    """Write `long_table`: one row per (line, period column) with the row's other cells, its `_skip` and `_col`.

    Columns: c0..c{k-1} the template's non-period columns, c{k} the month (ISO), c{k+1} the cell; `_rec` is
    unique, `_line` the template's line. Returns the long header and what was worth reporting.
    """
    width = len(header.cells)
    period_pos = {i for i, _, _ in layout.periods}
    keep = [i for i in range(width) if i not in period_pos and i not in layout.totals]
    skip, params = skip_sql(header, None, width, label_suffices=True)  # labels are teams and reps, never 合计科技
    wide = f"{long_table}__wide"
    con.execute(f"DROP TABLE IF EXISTS {wide}")
    con.execute(
        f"CREATE TEMP TABLE {wide} AS SELECT *, {skip} AS _skip FROM {raw_table} WHERE _line > {int(header.line)}",
        params,
    )
    issues = _fill_down(con, wide, header, keep, layout)
    issues += _check_row_totals(con, wide, header, layout)
    k = len(keep)
    selects = []
    long_params: dict[str, Any] = {}
    for n, (pos, month, label) in enumerate(layout.periods):
        long_params[f"m{n}"] = month.isoformat()
        long_params[f"l{n}"] = label
        cells = ", ".join(f"c{src} AS c{dst}" for dst, src in enumerate(keep))
        selects.append(
            f"SELECT _line, {n} AS _ord, {cells}{', ' if cells else ''}$m{n} AS c{k}, c{pos} AS c{k + 1}, $l{n} AS _col, "
            f"coalesce(_skip, CASE WHEN NULLIF(trim(c{pos}), '') IS NULL THEN 'blank_cell' END) AS _skip FROM {wide}"
        )
    con.execute(f"DROP TABLE IF EXISTS {long_table}")
    con.execute(
        f"CREATE TABLE {long_table} AS SELECT row_number() OVER (ORDER BY _line, _ord) AS _rec, * EXCLUDE (_ord) "
        f"FROM ({' UNION ALL '.join(selects)})",
        long_params,
    )
    con.execute(f"DROP TABLE {wide}")
    cells = tuple(header.cells[i] for i in keep) + (PERIOD_HEADER, AMOUNT_HEADER)
    return Header(header.index, header.line, cells, header.hits), issues


def _fill_down(
    con: duckdb.DuckDBPyConnection, wide: str, header: Header, keep: list[int], layout: WideTargets
) -> list[Issue]:
    """Team and region cells left empty under a merged cell take the value of the row above (reported)."""
    keys = {normalise_header(header.cells[i]): i for i in keep}
    from sources.canonical import header_index

    index = header_index("targets")
    roles = {index.get(k): i for k, i in keys.items() if index.get(k)}
    if "rep" not in roles:
        return []
    issues = []
    rep = f"c{roles['rep']}"
    for name in ("team", "region"):
        if name not in roles:
            continue
        col = f"c{roles[name]}"
        filled = con.execute(
            f"SELECT count(*) FROM {wide} WHERE _skip IS NULL AND NULLIF(trim({col}), '') IS NULL "
            f"AND NULLIF(trim({rep}), '') IS NOT NULL"
        ).fetchall()[0][0]
        if not filled:
            continue
        con.execute(
            f"UPDATE {wide} w SET {col} = f.v FROM (SELECT _line, last_value(NULLIF(trim({col}), '') IGNORE NULLS) "
            f"OVER (ORDER BY _line ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS v FROM {wide} "
            f"WHERE _skip IS NULL) f WHERE w._line = f._line AND NULLIF(trim(w.{col}), '') IS NULL "
            f"AND NULLIF(trim(w.{rep}), '') IS NOT NULL"
        )
        layout.filled_down[name] = filled
        issues.append(
            Issue(
                "filled_down",
                f"{header.cells[roles[name]]}: empty under a merged cell on {filled} rep rows, taken from the row above",
                filled,
            )
        )
    return issues


def _check_row_totals(con: duckdb.DuckDBPyConnection, wide: str, header: Header, layout: WideTargets) -> list[Issue]:
    """Each row-total column against the sum of the row's months (in the file's own unit)."""
    issues = []
    rule = NumberRule(decimal=layout.rule.decimal)
    months = " + ".join(f"coalesce({number_sql(f'c{pos}', rule)}, 0)" for pos, _, _ in layout.periods)
    # Rows with a cell that is not a number are rejected cell by cell already; the check is for the rest.
    readable = " AND ".join(
        f"(NULLIF(trim(c{pos}), '') IS NULL OR {number_sql(f'c{pos}', rule)} IS NOT NULL)"
        for pos, _, _ in layout.periods
    )
    for pos in layout.totals:
        rows = con.execute(
            f"SELECT _line, s, t FROM (SELECT _line, {months} AS s, {number_sql(f'c{pos}', rule)} AS t FROM {wide} "
            f"WHERE _skip IS NULL AND {readable}) WHERE t IS NOT NULL AND abs(s - t) > 0.005 ORDER BY _line"
        ).fetchall()
        if rows:
            shown = "; ".join(
                f"line {line}: months sum to {s:,.2f}, {header.cells[pos]} says {t:,.2f}" for line, s, t in rows[:5]
            )
            issues.append(
                Issue(
                    "targets_row_total", f"{header.cells[pos]} differs from the sum of the months: {shown}", len(rows)
                )
            )
    return issues
