"""The shape of an export: where its header row is, which entity it holds, and whether it is a pivot report.

Real exports put a title and a date range above the header, repeat the header on every printed page, end with
a 合计/Total row, and are sometimes pivot reports (months as columns) saved as CSV. This module looks at the
first rows and the headers only; row-level skipping of blanks, repeated headers and totals is SQL in
`sources.load`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sources.canonical import ENTITIES, header_index, normalise_header

TOTAL_WORDS = (
    "总计",
    "合计",
    "小计",
    "总和",
    "共计",
    "汇总",
    "grand total",
    "subtotal",
    "sub-total",
    "sub total",
    "total",
    "totals",
    "sum",
)
TOTAL_PATTERN = r"^\s*(总计|合计|小计|总和|共计|汇总|(grand\s*total|sub[\s-]*total|totals?|sum)\b)"
_PERIOD_HEADER = re.compile(
    r"^(\d{4}[-/年.]?\d{1,2}月?|\d{4}\s*[-/]?\s*q[1-4]|q[1-4]\s*\d{4}|\d{1,2}月|\d{4}年?|"
    r"(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*[\s\-']*\d{0,4})$",
    re.IGNORECASE,
)
_NUMBERISH = re.compile(r"^[\s¥￥$€£(（-]*[\d,.]+%?[)）]?\s*(元|万)?$")


class StructureError(Exception):
    """The file's shape cannot be loaded as detail rows; the message says why and what to export instead."""


@dataclass(frozen=True)
class Header:
    """The header row found: its position among the raw rows, its line in the file and its cells."""

    index: int
    line: int
    cells: tuple[str, ...]
    hits: int


def _is_texty(cell: str) -> bool:
    return not _NUMBERISH.match(cell) and not re.match(r"^\d{4}[-/.]\d{1,2}[-/.]\d{1,2}", cell)


def find_header(rows: list[tuple[list[str | None], int]], entity: str | None) -> Header:
    """Find the header row among the first rows (`(cells, line)` pairs) of a file.

    The header is the row whose cells match the most known column names (of `entity`, or of any entity);
    when none match, the first row that is at least half as wide as the widest row and all text.
    """
    indexes = [header_index(entity)] if entity else [header_index(e) for e in ENTITIES]
    width = max((sum(1 for c in cells if c) for cells, _ in rows), default=0)
    best: Header | None = None
    fallback: Header | None = None
    for i, (cells, line) in enumerate(rows[:40]):
        filled = [c.strip() for c in cells if c and c.strip()]
        if len(filled) < 2:
            continue
        keys = [normalise_header(c) for c in filled]
        hits = max(sum(1 for k in keys if k in idx) for idx in indexes)
        header = Header(i, line, tuple((c or "").strip() for c in cells), hits)
        if hits >= 2 and (best is None or hits > best.hits):
            best = header
        if fallback is None and len(filled) >= max(2, width // 2) and all(_is_texty(c) for c in filled):
            fallback = header
    chosen = best or fallback
    if chosen is None:
        raise StructureError("no header row found in the first 40 rows (a row of column names was expected)")
    return chosen


def guess_entity(headers: tuple[str, ...]) -> tuple[str, int]:
    """The entity whose column names the headers match best (required fields weigh double), and the score."""
    keys = {normalise_header(h) for h in headers if h}
    scores = {}
    for name, entity in ENTITIES.items():
        idx = header_index(name)
        mapped = {idx[k] for k in keys if k in idx}
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
