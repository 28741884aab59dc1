"""From a table of text cells to typed canonical rows, with every row accounted for.

`rows_read = rows_loaded + rows_rejected + rows_superseded + rows_skipped` (CONTRACTS.md). Skipped rows are
blank lines, repeated header lines and total/subtotal rows, each reported by kind. A rejected row keeps its
reason, file, line and raw values. Superseded rows are earlier rows with the same primary key replaced by a
later one (later `updated_at` when there is one, otherwise later in the file).

Speed: the rows are typed in ONE pass over the raw table (`sources.typing_sql`), then rejected, skipped and
superseded rows are deleted from the result. A date column's rule is first chosen from a sample; when the pass
finds cells that rule cannot read, the rule is revised from those cells and the pass runs again, so the rule
is only final once every value of the column has been read with it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import duckdb

from sources.canonical import DATE, ENTITIES, TIMESTAMP
from sources.dates import DateRule, choose_date_rule, revise_date_rule
from sources.files.structure import Header
from sources.mapping import Mapping
from sources.parse import DECIMAL_COMMA_HINT, NumberRule
from sources.typing_sql import cells_beyond_header, q, skip_sql, typed_select

__all__ = ["Issue", "LoadContext", "LoadResult", "skip_sql", "type_rows"]

REJECT_SAMPLE = 20
REJECTS_KEPT = 50_000
DATE_REVISIONS = 3


@dataclass
class Issue:
    kind: str
    detail: str
    count: int = 1

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "detail": self.detail, "count": self.count}


@dataclass
class LoadResult:
    """What one load produced: the typed table, the accounting and everything worth telling the user."""

    table: str
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    rows_superseded: int = 0
    rows_skipped: int = 0
    rows_deleted: int = 0
    skipped_by_kind: dict[str, int] = field(default_factory=dict)
    issues: list[Issue] = field(default_factory=list)
    rejects: list[dict[str, Any]] = field(default_factory=list)
    date_rules: dict[str, str] = field(default_factory=dict)
    number_rules: dict[str, str] = field(default_factory=dict)

    @property
    def reject_share(self) -> float:
        considered = self.rows_read - self.rows_skipped
        return self.rows_rejected / considered if considered else 0.0


@dataclass(frozen=True)
class LoadContext:
    source: str
    entity: str
    file_label: str
    business_tz: str
    source_tz: str | None
    default_currency: str
    date_order: str | None = None
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    synced_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC).replace(tzinfo=None))


def type_rows(
    con: duckdb.DuckDBPyConnection,
    raw_table: str,
    header: Header,
    mapping: Mapping,
    ctx: LoadContext,
    out_table: str,
    *,
    blank_lines_after_header: int = 0,
    malformed: list[dict] | None = None,
    line_outcomes: str | None = None,
    number_rules: dict[str, NumberRule] | None = None,
    row_id: str = "_line",
    skip_column: str | None = None,
    cell_labels: dict[str, str] | None = None,
) -> LoadResult:
    """Type the rows below `header` in `raw_table` into `out_table` (canonical columns) and account for all.

    `line_outcomes` names a table to write with one row per line below the header (`_line`, `outcome`: loaded,
    rejected, superseded or skipped_<kind>), for callers that account for a subset of the lines (the incremental
    database and API connectors type a source's whole current state but report the rows read this sync).
    `number_rules` gives a field's decimal mark and unit scale (default: decimal point, no scale). A raw table
    whose rows are not one per line (the unpivoted targets template) names its unique `row_id`, carries its own
    `skip_column` and gives, per field, the column holding each cell's label for reject reasons (`cell_labels`).
    """
    entity = ENTITIES[ctx.entity]
    result = LoadResult(out_table)
    cell_labels = cell_labels or {}
    cols = {name: f"c{pos}" for name, pos in mapping.columns.items()}
    below = f"_line > {int(header.line)}"
    data_rows = f"{below} AND {skip_column} IS NULL" if skip_column else below
    dates = {f.name: cols[f.name] for f in entity.fields if f.type in (DATE, TIMESTAMP) and f.name in cols}
    rules: dict[str, DateRule] = {
        name: choose_date_rule(con, raw_table, col, data_rows, ctx.date_order) for name, col in dates.items()
    }
    stray, unnamed = _stray_cells(con, raw_table, header, below) if not skip_column else ([], None)
    if unnamed:
        result.issues.append(unnamed)
    context = {
        "source": ctx.source,
        "file": ctx.file_label,
        "synced_at": ctx.synced_at,
        "currency": ctx.default_currency,
        "business_tz": ctx.business_tz,
        "source_tz": ctx.source_tz if ctx.source_tz and ctx.source_tz != ctx.business_tz else None,
    }
    number_rules = dict(number_rules or {})
    for attempt in range(DATE_REVISIONS + 1):
        select = typed_select(
            entity,
            raw_table,
            header,
            mapping,
            context=context,
            number_rules=number_rules,
            date_rules=rules,
            row_id=row_id,
            skip_column=skip_column,
            cell_labels=cell_labels,
            stray_cells=stray,
        )
        con.execute(f"DROP TABLE IF EXISTS {out_table}")
        con.execute(f"CREATE TABLE {out_table} AS {select.sql}", select.params)
        unread = _unread_dates(con, out_table, select.date_flags)
        revised = {
            name: revise_date_rule(con, raw_table, dates[name], data_rows, rules[name], ctx.date_order)
            for name, (bad, _) in unread.items()
            if bad and attempt < DATE_REVISIONS
        }
        changed = {name: rule for name, rule in revised.items() if not rule.same_reading(rules[name])}
        rules.update(changed)
        commas = (
            _columns_writing_decimal_commas(con, out_table, raw_table, below, mapping, number_rules)
            if attempt < DATE_REVISIONS
            else {}
        )
        number_rules.update(commas)
        if not changed and not commas:
            break
    for name, (bad, read) in unread.items():
        rule = rules[name].counted(read, read + bad)
        result.date_rules[name] = rule.describe
        if any(word in rule.note for word in ("ambiguous", "contradictory", "-first:")):
            result.issues.append(Issue("date_order", f"{name}: {rule.note}"))
    result.number_rules = select.number_rules
    _account(con, raw_table, header, out_table, result, ctx, row_id, cell_labels, blank_lines_after_header, malformed)
    pk = entity.primary_key if entity.primary_key in cols else None
    superseded = _supersede(con, out_table, pk, "updated_at" in cols, row_id)
    if line_outcomes:
        lost = f"{row_id} IN (SELECT {row_id} FROM {out_table}__superseded)" if superseded else "FALSE"
        con.execute(f"DROP TABLE IF EXISTS {line_outcomes}")
        con.execute(
            f"CREATE TABLE {line_outcomes} AS SELECT _line, CASE WHEN _skip IS NOT NULL THEN 'skipped_' || _skip "
            f"WHEN _reason IS NOT NULL THEN 'rejected' WHEN {lost} THEN 'superseded' ELSE 'loaded' END AS outcome "
            f"FROM {out_table}"
        )
    total_lines = (
        con.execute(
            f"SELECT list(DISTINCT _line ORDER BY _line)[1:13] FROM {out_table} WHERE _skip = 'total'"
        ).fetchall()[0][0]
        if result.skipped_by_kind.get("total")
        else []
    )
    gone = "_skip IS NOT NULL OR _reason IS NOT NULL"
    if superseded:
        gone += f" OR {row_id} IN (SELECT {row_id} FROM {out_table}__superseded)"
    con.execute(f"DELETE FROM {out_table} WHERE {gone}")
    con.execute(f"DROP TABLE IF EXISTS {out_table}__superseded")
    hidden = ["_skip", "_reason", *cell_labels.values(), *select.date_flags.values()]
    for column in hidden + ([row_id] if row_id != "_line" else []):
        con.execute(f"ALTER TABLE {out_table} DROP COLUMN {column}")
    _apply_value_maps(con, out_table, ctx.values, entity.field_names)
    result.rows_superseded = superseded
    result.rows_loaded = con.execute(f"SELECT count(*) FROM {out_table}").fetchall()[0][0]
    if superseded:
        result.issues.append(Issue("superseded", f"rows replaced by a later row with the same {pk}", superseded))
    for kind, count in result.skipped_by_kind.items():
        detail = _SKIP_WORDS.get(kind, kind.replace("_", " "))
        if kind == "total" and total_lines:
            # distinct lines: a template's total row is one line of twelve month cells
            shown, more = total_lines[:12], ", …" if len(total_lines) > 12 else ""
            detail += f": line{'s' if len(shown) > 1 else ''} {', '.join(str(n) for n in shown)}{more}"
        result.issues.append(Issue(f"skipped_{kind}", detail, count))
    return result


def _stray_cells(
    con: duckdb.DuckDBPyConnection, raw_table: str, header: Header, below: str
) -> tuple[list[str], Issue | None]:
    """Cells right of the last named column: stray (a few rows: values split by an unquoted separator, rejected)
    or a column without a header (most rows have a value there: reported, not loaded)."""
    beyond = cells_beyond_header(header)
    if not beyond:
        return [], None
    filled, rows = con.execute(
        f"SELECT count(*) FILTER (WHERE NULLIF(trim(concat_ws('', {', '.join(beyond)})), '') IS NOT NULL), count(*) "
        f"FROM {raw_table} WHERE {below}"
    ).fetchall()[0]
    if filled and filled > rows / 2:
        where = ", ".join(str(int(c[1:]) + 1) for c in beyond)
        return [], Issue("unnamed_column", f"column {where} has values but no header; it is not loaded", filled)
    return beyond, None


# A column is taken to write decimal commas when at least this many of its cells say so (`99,90`, `1.250.000`)
# and they are at least this share of its `12.500`-like cells: one typo among 3-decimal prices changes nothing.
COMMA_EVIDENCE = (2, 0.01)
_DOTTED_ONE = r"^[^0-9,]*[0-9]{1,3}\.[0-9]{3}[^0-9,]*$"
_DOTTED_MANY = r"^[^0-9,]*[0-9]{1,3}(\.[0-9]{3}){2,}[^0-9,]*$"


def _columns_writing_decimal_commas(
    con: duckdb.DuckDBPyConnection,
    table: str,
    raw_table: str,
    below: str,
    mapping: Mapping,
    rules: dict[str, NumberRule],
) -> dict[str, NumberRule]:
    """Number fields read with a decimal point whose column also writes decimal commas (rejected `99,90` cells,
    `1.250.000`): their rule, now refusing `12.500` (12.5 or 12 500?) instead of reading it as 12.5."""
    fields = [
        name for name in mapping.columns if name in rules and rules[name].decimal == "." and not rules[name].commas_seen
    ]
    if not fields:
        return {}
    labels = {name: mapping.headers[mapping.columns[name]] + ": not a" for name in fields}
    counts = con.execute(
        "SELECT "
        + ", ".join(
            f"count(*) FILTER (WHERE len(list_filter(string_split(_reason, '; '), "
            f"lambda x: starts_with(x, $l{i}) AND contains(x, $hint))) > 0)"
            for i, _ in enumerate(fields)
        )
        + f" FROM {table} WHERE _reason IS NOT NULL",
        {"hint": DECIMAL_COMMA_HINT, **{f"l{i}": labels[name] for i, name in enumerate(fields)}},
    ).fetchall()[0]
    least, share = COMMA_EVIDENCE
    changed = {}
    for name, commas in zip(fields, counts, strict=True):
        if not commas:
            continue
        col = f"c{mapping.columns[name]}"
        many, one = con.execute(
            f"SELECT count(*) FILTER (WHERE regexp_matches({col}, $many)), "
            f"count(*) FILTER (WHERE regexp_matches({col}, $one)) FROM {raw_table} WHERE {below}",
            {"many": _DOTTED_MANY, "one": _DOTTED_ONE},
        ).fetchall()[0]
        evidence = commas + many
        if evidence >= least and (evidence >= share * one or rules[name].commas_likely):
            changed[name] = dataclasses.replace(rules[name], commas_seen=True)
    return changed


def _unread_dates(con: duckdb.DuckDBPyConnection, table: str, flags: dict[str, str]) -> dict[str, tuple[int, int]]:
    """Per date field: (cells its rule could not read, cells it read)."""
    if not flags:
        return {}
    row = con.execute(
        "SELECT "
        + ", ".join(f"count(*) FILTER (WHERE {flag}), count({q(name)})" for name, flag in flags.items())
        + f" FROM {table}"
    ).fetchall()[0]
    return {name: (row[2 * i], row[2 * i + 1]) for i, name in enumerate(flags)}


def _account(
    con: duckdb.DuckDBPyConnection,
    raw_table: str,
    header: Header,
    out_table: str,
    result: LoadResult,
    ctx: LoadContext,
    row_id: str,
    cell_labels: dict[str, str],
    blank_lines_after_header: int,
    malformed: list[dict] | None,
) -> None:
    """Fill in rows read, skipped by kind and rejected (with the rejected rows' raw values)."""
    malformed = [m for m in (malformed or []) if m["line"] > header.line]
    counts = con.execute(f"SELECT _skip, count(*), count(_reason) FROM {out_table} GROUP BY 1").fetchall()
    skipped = {kind: n for kind, n, _ in counts if kind is not None}
    if blank_lines_after_header:
        skipped["blank"] = skipped.get("blank", 0) + blank_lines_after_header
    result.skipped_by_kind = dict(sorted(skipped.items()))
    result.rows_skipped = sum(skipped.values())
    rejected = sum(r for kind, _, r in counts if kind is None)
    result.rows_read = sum(n for _, n, _ in counts) + blank_lines_after_header + len(malformed)
    label_col = next(iter(cell_labels.values()), None)
    raw_cols = ", ".join(f"r.c{i}" for i in range(len(header.cells)))
    rows = (
        con.execute(
            f"SELECT o._line, o._reason, {('o.' + label_col) if label_col else 'NULL'}, {raw_cols} "
            f"FROM {out_table} o JOIN {raw_table} r USING ({row_id}) "
            f"WHERE o._reason IS NOT NULL ORDER BY o.{row_id} LIMIT {REJECTS_KEPT}"
        ).fetchall()
        if rejected
        else []
    )
    names = [h or f"column {i + 1}" for i, h in enumerate(header.cells)]
    result.rejects = [
        {
            "file": ctx.file_label,
            "line": line,
            "reason": why,
            "raw": dict(zip(names, values, strict=False)),
            **({"column": column} if label_col else {}),
        }
        for line, why, column, *values in rows
    ] + [{"file": ctx.file_label, **m} for m in malformed]
    result.rows_rejected = rejected + len(malformed)
    if result.rows_rejected:
        kinds = Counter(r["reason"].split(":")[0] for r in result.rejects)
        for column, count in kinds.most_common(10):
            result.issues.append(Issue("rejected", f"{column}: rows that could not be read", count))


def _supersede(con: duckdb.DuckDBPyConnection, table: str, pk: str | None, updated: bool, row_id: str) -> int:
    """Rows that a later row with the same primary key replaces, written to `<table>__superseded`; their count."""
    if not pk:
        return 0
    loadable = "_skip IS NULL AND _reason IS NULL"
    dupes = f"SELECT {q(pk)} FROM {table} WHERE {loadable} GROUP BY 1 HAVING count(*) > 1"
    if not con.execute(f"SELECT count(*) FROM ({dupes})").fetchall()[0][0]:
        return 0
    order = f"{q('updated_at')} DESC NULLS LAST, {row_id} DESC" if updated else f"{row_id} DESC"
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {table}__superseded AS SELECT {row_id} FROM (SELECT {row_id}, row_number() "
        f"OVER (PARTITION BY {q(pk)} ORDER BY {order}) AS n FROM {table} WHERE {loadable} AND {q(pk)} IN ({dupes})) "
        "WHERE n > 1"
    )
    return con.execute(f"SELECT count(*) FROM {table}__superseded").fetchall()[0][0]


def _apply_value_maps(
    con: duckdb.DuckDBPyConnection, table: str, values: dict[str, dict[str, str]], fields: tuple[str, ...]
) -> None:
    """Rewrite source vocabulary (`赢单` → `won`) per field, from the source's `values:` configuration."""
    for name, mapping in values.items():
        if name not in fields:
            raise KeyError(f"values: {name!r} is not a field of this entity; fields: {', '.join(fields)}")
        for raw, canonical in mapping.items():
            con.execute(
                f'UPDATE {table} SET "{name}" = $to WHERE "{name}" = $from', {"to": str(canonical), "from": str(raw)}
            )


_SKIP_WORDS = {
    "blank": "blank lines",
    "repeated_header": "header lines repeated inside the data",
    "total": "total and subtotal rows (合计/小计/Total)",
    "blank_cell": "empty cells of the period columns (no target for that period)",
    "note": "notes under the table (共 N 条, 制表人, page numbers)",
}
