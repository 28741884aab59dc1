"""The shape of an export: where its header row is, which entity it holds, and whether it is a pivot report.

Real exports put a title and a date range above the header, repeat the header on every printed page, end with
a 合计/Total row, put 小计/Subtotal rows under each group, and are sometimes pivot reports (months or
categories as columns, `Row Labels`/`行标签`, `Grand Total`) saved as CSV. This module looks at the first rows
and the headers only; row-level skipping of blanks, repeated headers and totals is SQL in `sources.load`.
Finance's targets template is wide by design (one row per team or rep, months as columns, amounts often in 万
stated in the title or header): it is recognised here and unpivoted by `sources.files.wide`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from dataclasses import dataclass

from sources.canonical import ENTITIES, header_index, normalise_header

# Chinese total words, also padded to the width of a column as reports do (`合 计`, `合　　计`).
_ZH_TOTALS = "|".join("[\\s\u3000]*".join(word) for word in ("总计", "合计", "小计", "总和", "共计", "汇总", "累计"))
# On the lower-cased first filled cell: a total word at the start (合计, Total, Grand Total, Sum) or at the end
# of a group label (华东 小计, East Total).
TOTAL_PATTERN = (
    rf"^\s*({_ZH_TOTALS}|(grand\s*total|sub[\s-]*total|totals?|sum)\b)"
    rf"|({_ZH_TOTALS}|\b(sub[\s-]*total|total))\s*[:：]?\s*$"
)
# On the row's cells joined with '|': some cell that is a total word and nothing else.
TOTAL_CELL_PATTERN = rf"(^|\|)\s*({_ZH_TOTALS}|grand\s*total|sub[\s-]*total|totals?)\s*[:：]?\s*(\||$)"
# On the lower-cased first filled cell of a row with one or two cells: a note under the table, as report
# exports end (`共 12 条记录`, `制表人：张三`, `打印时间：…`, `Page 2 of 3`).
NOTE_PATTERN = (
    r"^\s*(共\s*\d+\s*(条|笔|行|项|单)|(制表|打印|导出|审核|复核|经办)(人|日期|时间)?\s*[:：]|"
    r"prepared by|printed (on|at|by)|exported (on|at|by)|page \d+( of \d+)?\s*$|第\s*\d+\s*页)"
)
# A key cell that needs a closer look: blank, padded, total-like or a note. Any other filled key marks a data row.
SUSPECT_KEY_PATTERN = rf"(?i)^[\s\x{{3000}}\x{{a0}}]*$|^[\s\x{{3000}}\x{{a0}}\x{{feff}}]|[\s\x{{3000}}\x{{a0}}]$|{TOTAL_PATTERN}|{NOTE_PATTERN}"
TOTAL_WORDS = (
    "总计", "合计", "小计", "总和", "共计", "汇总", "累计", "grand total", "subtotal", "sub-total", "total", "sum"
)  # fmt: skip

_MONTHS = {m: i for i, m in enumerate(("jan feb mar apr may jun jul aug sep oct nov dec").split(), start=1)}
_PERIOD_HEADER = re.compile(
    r"^(\d{4}[-/年.]?\d{1,2}月?|\d{4}\s*[-/]?\s*q[1-4]|q[1-4]\s*\d{4}|\d{1,2}月|\d{4}年?|"
    r"(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*[\s\-']*\d{0,4})$",
    re.IGNORECASE,
)
_NUMBERISH = re.compile(r"^[\s¥￥$€£(（-]*[\d,.]+%?[)）]?\s*(元|万)?$")
# Marks of a spreadsheet pivot table (Excel and WPS, English and Chinese) anywhere in the first rows.
_PIVOT_MARK = re.compile(
    r"^(row labels|column labels|行标签|列标签|(sum|count|average|max|min) of .+|"
    r"(求和项|计数项|平均值项|最大值项|最小值项)\s*[:：].+)$",
    re.IGNORECASE,
)
_TARGET_WORDS = re.compile(r"目标|指标|任务|预算|计划|target|quota|budget|plan", re.IGNORECASE)
_UNIT = re.compile(r"(亿元|万元|千元|亿|万|千)")
_UNIT_IN_HEADER = re.compile(
    r"[（(]\s*(?:单位\s*[:：]\s*)?(?:人民币)?\s*(亿元|万元|千元|亿|万|千)\s*[)）]|(亿元|万元|千元)$"
)
# A header that names plain yuan (`金额(元)`, `Amount (CNY)`, `金额/元`): its own unit, whatever a title says.
_YUAN_IN_HEADER = re.compile(r"(?i)[（(]\s*(?:单位\s*[:：]\s*)?(元|人民币|人民币元|rmb|cny|¥|￥)\s*[)）]|[/／]\s*元$")
_UNIT_IN_TITLE = re.compile(r"单位\s*[:：]?\s*(?:人民币)?\s*(亿元|万元|千元|元)|[（(]\s*(亿元|万元|千元)\s*[)）]")
_SCALES = {"亿元": 1e8, "亿": 1e8, "万元": 1e4, "万": 1e4, "千元": 1e3, "千": 1e3, "元": 1.0}
_YEAR_IN_TITLE = re.compile(r"((?:19|20)\d{2})\s*(?:年|财年|年度|fy|\b)", re.IGNORECASE)


class StructureError(ValueError):
    """The file's shape cannot be loaded as detail rows; the message says why and what to export instead."""


@dataclass(frozen=True)
class Header:
    """The header row found: its position among the raw rows, its line in the file and its cells."""

    index: int
    line: int
    cells: tuple[str, ...]
    hits: int
    above: tuple[str, ...] = ()  # the lines above it (title, period, unit), each as its cells joined by '|'


def _is_texty(cell: str) -> bool:
    return not _NUMBERISH.match(cell) and not re.match(r"^\d{4}[-/.]\d{1,2}[-/.]\d{1,2}", cell)


def find_header(rows: list[tuple[list[str | None], int]], entity: str | None) -> Header:
    """Find the header row among the first rows (`(cells, line)` pairs) of a file.

    The header is the row whose cells match the most known column names (of `entity`, or of any entity);
    when none match, the first row that is at least half as wide as the widest row and all text. A pivot table
    (`Row Labels`, `行标签`, `Sum of Sales`, `求和项:金额` in the first rows) is refused: it holds no detail rows.
    """
    refuse_pivot(rows)
    indexes = [header_index(entity)] if entity else [header_index(e) for e in ENTITIES]
    width = max((sum(1 for c in cells if c) for cells, _ in rows), default=0)
    best: Header | None = None
    fallback: Header | None = None
    for i, (cells, line) in enumerate(rows[:40]):
        filled = [c.strip() for c in cells if c and c.strip()]
        if len(filled) < 2:
            continue
        keys = [normalise_header(c) for c in filled]
        hits = max(sum(1 for k in keys if k in idx or unit_free(k) in idx) for idx in indexes)
        header = Header(i, line, tuple((c or "").strip() for c in cells), hits)
        if hits >= 2 and (best is None or hits > best.hits):
            best = header
        if fallback is None and len(filled) >= max(2, width // 2) and all(_is_texty(c) for c in filled):
            fallback = header
    chosen = best or fallback
    if chosen is None:
        raise StructureError("no header row found in the first 40 rows (a row of column names was expected)")
    above = tuple(
        "|".join(c.strip() for c in cells if c and c.strip()) for cells, _ in rows[: chosen.index] if any(cells)
    )
    return dataclasses.replace(chosen, above=tuple(a for a in above if a))


def refuse_pivot(rows: list[tuple[list[str | None], int]]) -> None:
    """Raise StructureError when the first rows carry the marks of a spreadsheet pivot table."""
    for cells, line in rows[:40]:
        for cell in cells:
            if cell and _PIVOT_MARK.match(cell.strip()):
                raise StructureError(
                    f"this is a pivot table saved as a file, not detail rows: line {line} has {cell.strip()!r}. "
                    "Export the underlying detail rows (one row per order line, deal or target) instead."
                )


def unit_free(key: str) -> str:
    """A normalised header without a unit or currency suffix (`目标万元` → `目标`, `salesusd` → `sales`)."""
    return (
        re.sub(
            r"(单位)?(人民币)?(亿元|万元|千元|元|亿|万|美元|欧元|港币|港元|日元|英镑|rmb|cny|usd|eur|gbp|jpy|hkd|inr|brl)$",
            "",
            key,
        )
        or key
    )


def guess_entity(headers: tuple[str, ...], title: str = "") -> tuple[str, int]:
    """The entity whose column names the headers match best (required fields weigh double), and the score.

    A wide layout (three or more period columns) is the targets template when the title or headers say so
    (目标, 指标, target, quota, budget ...); otherwise it is a pivot report and is refused.
    """
    periods = period_columns(headers)
    if len(periods) >= 3:
        if _TARGET_WORDS.search(title + " " + " ".join(h for h in headers if h)):
            return "targets", len(periods)
        try:
            check_not_pivot(headers, "orders")
        except StructureError as exc:
            raise StructureError(f"{exc} (A targets template with months as columns: load it --as targets.)") from None
    keys = {normalise_header(h) for h in headers if h}
    scores = {}
    for name, entity in ENTITIES.items():
        idx = header_index(name)
        mapped = {idx.get(k) or idx.get(unit_free(k)) for k in keys} - {None}
        required = {f.name for f in entity.fields if f.required}
        if not required <= mapped:
            scores[name] = 0
            continue
        scores[name] = len(mapped) + len(required & mapped)
    best = max(scores, key=lambda n: scores[n])
    return best, scores[best]


def check_not_pivot(headers: tuple[str, ...], entity: str) -> None:
    """Refuse a pivot report (periods as columns) for any entity but targets, whose template is wide by design."""
    periodic = [h for h in headers if h and _PERIOD_HEADER.match(h.strip())]
    if entity != "targets" and len(periodic) >= 3:
        raise StructureError(
            f"this looks like a pivot report, not detail rows: {len(periodic)} columns are periods "
            f"({', '.join(periodic[:4])}, ...). Export the underlying detail rows (one row per order/deal) instead."
        )


def period_columns(headers: tuple[str, ...]) -> list[int]:
    """Positions of headers that name a period (2024-01, 2024年1月, 1月, Jan-24, ...)."""
    return [i for i, h in enumerate(headers) if h and _PERIOD_HEADER.match(h.strip())]


def month_of(header: str, year: int | None) -> dt.date | None:
    """The first day of the month a period header names (`2024-01`, `2024年1月`, `1月`, `Jan-24`, `Jan 2024`);
    `year` completes headers without one. None when the header is not a month (a quarter, a bare year)."""
    h = header.strip().lower()
    m = re.fullmatch(r"(\d{4})\s*[-/年.]\s*(\d{1,2})\s*月?", h) or re.fullmatch(r"(\d{4})(\d{2})", h)
    if m:
        return _month(int(m.group(1)), int(m.group(2)))
    m = re.fullmatch(r"(\d{1,2})\s*月", h)
    if m:
        return _month(year, int(m.group(1))) if year else None
    m = re.fullmatch(r"([a-z]{3})[a-z]*[\s\-']*(\d{2}|\d{4})?", h)
    if m and m.group(1) in _MONTHS:
        y = m.group(2)
        if y is None:
            return _month(year, _MONTHS[m.group(1)]) if year else None
        return _month(int(y) + (2000 if len(y) == 2 else 0), _MONTHS[m.group(1)])
    return None


def _month(year: int | None, month: int) -> dt.date | None:
    return dt.date(year, month, 1) if year and 1 <= month <= 12 else None


def year_in(text: str) -> int | None:
    """The year a title states (`2024年销售目标`, `FY2024 targets`), if exactly one year is named."""
    years = {int(m.group(1)) for m in _YEAR_IN_TITLE.finditer(text)}
    return years.pop() if len(years) == 1 else None


def unit_scale(header_cell: str, title: str = "") -> tuple[float, str]:
    """The scale an amount column's header or the title above it states (`目标（万元）` → 10,000), and where.

    The header wins: `金额(元)` under a title `单位：万元` is in yuan."""
    m = _UNIT_IN_HEADER.search(header_cell or "")
    if m:
        word = m.group(1) or m.group(2)
        return _SCALES[word], f"header {header_cell.strip()!r} says {word}"
    if _YUAN_IN_HEADER.search(header_cell or ""):
        return 1.0, ""
    m = _UNIT_IN_TITLE.search(title or "")
    if m:
        word = m.group(1) or m.group(2)
        return _SCALES[word], f"title says {word}"
    return 1.0, ""


def title_text(rows: list[tuple[list[str | None], int]], header: Header) -> str:
    """The text of the rows above the header (report title, date range, unit line)."""
    return " ".join(c.strip() for cells, _ in rows[: max(header.index, 0)] for c in cells if c and c.strip())
