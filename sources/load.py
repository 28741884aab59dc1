"""From a table of text cells to typed canonical rows, with every row accounted for.

`rows_read = rows_loaded + rows_rejected + rows_superseded + rows_skipped` (CONTRACTS.md). Skipped rows are
blank lines, repeated header lines and total/subtotal rows, each reported by kind. A rejected row keeps its
reason, file, line and raw values. Superseded rows are earlier rows with the same primary key replaced by a
later one (later `updated_at` when there is one, otherwise later in the file).

Speed: the rows are typed in ONE pass over the raw table (a single `CREATE TABLE ... AS SELECT` whose inner
queries compute each cell's parse once), then rejected, skipped and superseded rows are deleted from it. Only
the date columns are read beforehand, to choose their format from all their values.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import duckdb

from sources.canonical import BOOL, DATE, ENTITIES, MONEY, NUMBER, TIMESTAMP
from sources.files.structure import SUSPECT_KEY_PATTERN, TOTAL_CELL_PATTERN, TOTAL_PATTERN, Header
from sources.mapping import Mapping
from sources.parse import (
    DateRule,
    NumberRule,
    bool_sql,
    choose_date_rule,
    date_guard_sql,
    date_sql,
    fast_number_match_sql,
    number_hint_sql,
    number_parts_sql,
    number_value_sql,
    plain_number_sql,
    text_sql,
)

REJECT_SAMPLE = 20
REJECTS_KEPT = 50_000
_SPACES = " \t\u3000\u00a0\u202f"


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


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def skip_sql(header: Header, key_col: str | None, width: int | None = None) -> tuple[str, dict[str, str]]:
    """SQL classifying a raw row below `header` as 'blank', 'repeated_header', 'total' or NULL (a data row).

    Rows whose key cell is filled and looks like nothing special take the first branch, so the common case costs
    one comparison and one (fast, anchored) pattern match; only the others are looked at cell by cell.
    """
    width = width or len(header.cells)
    cells = [f"c{i}" for i in range(width)]
    trimmed = [f"NULLIF(trim({c}, '{_SPACES}'), '')" for c in cells]
    all_empty = f"coalesce({', '.join(trimmed)}) IS NULL"
    same_as_header = " AND ".join(f"coalesce(trim({c}, '{_SPACES}'), '') = $h{i}" for i, c in enumerate(cells))
    first_cells = f"coalesce({', '.join(trimmed[: min(width, 4)])})"
    any_total_cell = f"regexp_matches(lower(concat_ws('|', {', '.join(cells)})), $total_cell)"
    params = {f"h{i}": (header.cells[i] if i < len(header.cells) else "") for i in range(width)}
    params.update({"total": TOTAL_PATTERN, "total_cell": TOTAL_CELL_PATTERN})
    if key_col:
        key_blank_or_total = (
            f"(NULLIF(trim({key_col}, '{_SPACES}'), '') IS NULL "
            f"OR regexp_matches(lower(trim({key_col}, '{_SPACES}')), $total))"
        )
        ordinary = f"{key_col} IS NOT NULL AND {key_col} <> $hkey AND NOT regexp_matches({key_col}, $suspect)"
        params.update({"hkey": params[f"h{key_col[1:]}"], "suspect": SUSPECT_KEY_PATTERN})
    else:
        key_blank_or_total, ordinary = "TRUE", "FALSE"
    sql = (
        f"CASE WHEN {ordinary} THEN NULL "
        f"WHEN {all_empty} THEN 'blank' "
        f"WHEN {same_as_header} THEN 'repeated_header' "
        f"WHEN {key_blank_or_total} AND (regexp_matches(lower({first_cells}), $total) OR {any_total_cell}) "
        "THEN 'total' END"
    )
    return sql, params


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
    number_rules = number_rules or {}
    cell_labels = cell_labels or {}
    width = len(header.cells)
    cols = {name: f"c{pos}" for name, pos in mapping.columns.items()}
    key_col = cols.get(entity.primary_key or "") or next(
        (cols[f.name] for f in entity.fields if f.required and f.type not in (MONEY, NUMBER) and f.name in cols), None
    )
    below = f"_line > {int(header.line)}"
    params: dict[str, Any] = {"source": ctx.source, "file": ctx.file_label, "synced_at": ctx.synced_at}
    if skip_column:
        skip_expr = skip_column
        date_where = f"{below} AND {skip_column} IS NULL"
    else:
        skip_expr, skip_params = skip_sql(header, key_col, width)
        params.update(skip_params)
        date_where = below

    # Four layers, so that each cell's work is done once: (1) cheap first tries (a plain number cast, the fast
    # number pattern, the parsed date); (2) the split of the rare cells those did not read; (3) typed values;
    # (4) outputs and reasons.
    used = sorted(set(cols.values()), key=lambda c: int(c[1:]))
    ids = [row_id] + (["_line"] if row_id != "_line" else [])
    carried = [*ids, *used, *cell_labels.values()]
    layer1 = [*carried, f"{skip_expr} AS _skip"]
    layer2 = [*carried, "_skip"]
    layer3 = [*carried, "_skip"]
    layer4 = [*ids, "_skip", *cell_labels.values()]
    reasons: list[str] = []
    for f in entity.fields:
        col = cols.get(f.name)
        value = _q("__v_" + f.name)
        label = cell_labels.get(f.name) or f"$label_{f.name}"
        if col is None:
            derived = mapping.derived.get(f.name)
            if derived:
                a, b = (_q("__v_" + n) for n in derived)
                layer4.append(f"{a} * {b} AS {_q(f.name)}")
                params[f"label_{f.name}"] = " × ".join(mapping.headers[mapping.columns[n]] for n in derived)
                if f.required:
                    reasons.append(f"CASE WHEN {a} * {b} IS NULL THEN $label_{f.name} || ': empty' END")
                result.number_rules[f.name] = f"{params[f'label_{f.name}']} (the export has no {f.name} column)"
            elif f.name == "currency":
                layer4.append(f"upper(CAST($cur AS VARCHAR)) AS {_q(f.name)}")
                params["cur"] = ctx.default_currency
            else:
                layer4.append(f"CAST(NULL AS {_sql_type(f.type)}) AS {_q(f.name)}")
            continue
        params[f"label_{f.name}"] = mapping.headers[mapping.columns[f.name]]
        why = _type_word(f.type) if f.type != "text" else ""
        hint = "''"
        if f.type in (NUMBER, MONEY):
            rule = number_rules.get(f.name, NumberRule())
            plain, matched, parts = (_q(f"__{k}_{f.name}") for k in ("t", "m", "p"))
            layer1 += [
                f"{plain_number_sql(col, rule.decimal)} AS {plain}",
                f"CASE WHEN {col} IS NOT NULL AND {plain_number_sql(col, rule.decimal)} IS NULL "
                f"THEN {fast_number_match_sql(col, rule.decimal)} END AS {matched}",
            ]
            layer2 += [plain, matched, f"CASE WHEN NOT {matched} THEN {number_parts_sql(col)} END AS {parts}"]
            layer3 += [f"{number_value_sql(col, plain, matched, parts, rule)} AS {value}"]
            result.number_rules[f.name] = rule.describe
            hint = number_hint_sql(col, rule)
        elif f.type in (DATE, TIMESTAMP):
            rule = choose_date_rule(con, raw_table, col, date_where, ctx.date_order)
            result.date_rules[f.name] = rule.describe
            if rule.note and "ambiguous" in rule.note:
                result.issues.append(Issue("date_order", f"{f.name}: {rule.note}"))
            source_tz = ctx.source_tz if ctx.source_tz and ctx.source_tz != ctx.business_tz else None
            expr = date_sql(col, rule, timestamp=f.type == TIMESTAMP, source_tz=source_tz, business_tz=ctx.business_tz)
            if "$business_tz" in expr:
                params["business_tz"] = ctx.business_tz
            if "$source_tz" in expr:
                params["source_tz"] = source_tz
            parsed = _q("__d_" + f.name)
            layer1.append(f"{expr} AS {parsed}")
            layer2.append(parsed)
            layer3.append(f"{date_guard_sql(parsed)} AS {value}")
            read_as = rule.describe.split(" (", 1)[0]
            hint = f"' (the column is read as {read_as})'" if rule.all_formats or rule.serial else "''"
        elif f.type == BOOL:
            layer3.append(f"{bool_sql(col)} AS {value}")
        elif f.name == "currency":
            layer3.append(f"upper(coalesce({text_sql(col)}, $cur)) AS {value}")
            params["cur"] = ctx.default_currency
        else:
            layer3.append(f"{text_sql(col)} AS {value}")
        layer4.append(f"{value} AS {_q(f.name)}")
        filled = f"NULLIF(trim({col}, '{_SPACES}'), '') IS NOT NULL"
        empty = f"{label} || ': empty'" if f.required else "NULL"
        if f.type != "text":
            params[f"why_{f.name}"] = why
            bad = f"{label} || ': ' || $why_{f.name} || ' ' || chr(39) || trim({col}, '{_SPACES}') || chr(39) || {hint}"
            reasons.append(f"CASE WHEN {value} IS NULL THEN CASE WHEN {filled} THEN {bad} ELSE {empty} END END")
        elif f.required:
            reasons.append(f"CASE WHEN {value} IS NULL THEN {empty} END")
    reason = f"NULLIF(concat_ws('; ', {', '.join(reasons)}), '')" if reasons else "NULL"
    pk = entity.primary_key if entity.primary_key in cols else None
    key_sql = f"CAST({_q('__v_' + pk)} AS VARCHAR)" if pk else "$file || ':' || CAST(_line AS VARCHAR)"
    layer4 += [
        f"CASE WHEN _skip IS NULL THEN {reason} END AS _reason",
        f"{key_sql} AS _key",
        "$source AS source",
        "$file || ':' || CAST(_line AS VARCHAR) AS source_row",
        "CAST($synced_at AS TIMESTAMP) AS synced_at",
    ]
    con.execute(f"DROP TABLE IF EXISTS {out_table}")
    sql = f"SELECT {', '.join(layer1)} FROM {raw_table} WHERE {below}"
    for layer in (layer2, layer3, layer4):
        sql = f"SELECT {', '.join(layer)} FROM ({sql})"
    sql = f"CREATE TABLE {out_table} AS {sql}"
    con.execute(sql, _used(params, sql))

    # Accounting.
    malformed = [m for m in (malformed or []) if m["line"] > header.line]
    counts = con.execute(f"SELECT _skip, count(*), count(_reason) FROM {out_table} GROUP BY 1").fetchall()
    skipped = {kind: n for kind, n, _ in counts if kind is not None}
    if blank_lines_after_header:
        skipped["blank"] = skipped.get("blank", 0) + blank_lines_after_header
    result.skipped_by_kind = dict(sorted(skipped.items()))
    result.rows_skipped = sum(skipped.values())
    body_rows = sum(n for _, n, _ in counts)
    rejected_count = sum(r for kind, _, r in counts if kind is None)
    result.rows_read = body_rows + blank_lines_after_header + len(malformed)

    # Rejected rows, with raw values by header.
    raw_cols = ", ".join(f"r.c{i}" for i in range(width))
    label_col = next(iter(cell_labels.values()), None)
    reject_rows = con.execute(
        f"SELECT o._line, o._reason, {('o.' + label_col) if label_col else 'NULL'}, {raw_cols} "
        f"FROM {out_table} o JOIN {raw_table} r USING ({row_id}) "
        f"WHERE o._reason IS NOT NULL ORDER BY o.{row_id} LIMIT {REJECTS_KEPT}"
    ).fetchall() if rejected_count else []
    names = [h or f"column {i + 1}" for i, h in enumerate(header.cells)]
    result.rejects = [
        {
            "file": ctx.file_label,
            "line": line,
            "reason": why,
            "raw": dict(zip(names, values, strict=False)),
            **({"column": column} if label_col else {}),
        }
        for line, why, column, *values in reject_rows
    ] + [{"file": ctx.file_label, **m} for m in malformed]
    result.rows_rejected = rejected_count + len(malformed)
    if result.rows_rejected:
        kinds = Counter(r["reason"].split(":")[0] for r in result.rejects)
        for column, count in kinds.most_common(10):
            result.issues.append(Issue("rejected", f"{column}: rows that could not be read", count))

    # Superseded: the same primary key later in the file (or with a later updated_at) wins.
    loadable = "_skip IS NULL AND _reason IS NULL"
    losers = f"{out_table}__superseded"
    con.execute(f"DROP TABLE IF EXISTS {losers}")
    superseded = 0
    if pk:
        order = f"{_q('updated_at')} DESC NULLS LAST, {row_id} DESC" if "updated_at" in cols else f"{row_id} DESC"
        dupes = con.execute(
            f"SELECT count(*) FROM (SELECT {_q(pk)} FROM {out_table} WHERE {loadable} GROUP BY 1 HAVING count(*) > 1)"
        ).fetchall()[0][0]
        if dupes:
            con.execute(
                f"CREATE TEMP TABLE {losers} AS SELECT {row_id} FROM (SELECT {row_id}, row_number() OVER "
                f"(PARTITION BY {_q(pk)} ORDER BY {order}) AS n FROM {out_table} WHERE {loadable} AND {_q(pk)} IN "
                f"(SELECT {_q(pk)} FROM {out_table} WHERE {loadable} GROUP BY 1 HAVING count(*) > 1)) WHERE n > 1"
            )
            superseded = con.execute(f"SELECT count(*) FROM {losers}").fetchall()[0][0]
    if line_outcomes:
        lost = f"{row_id} IN (SELECT {row_id} FROM {losers})" if superseded else "FALSE"
        con.execute(f"DROP TABLE IF EXISTS {line_outcomes}")
        con.execute(
            f"CREATE TABLE {line_outcomes} AS SELECT _line, CASE WHEN _skip IS NOT NULL THEN 'skipped_' || _skip "
            f"WHEN _reason IS NOT NULL THEN 'rejected' WHEN {lost} THEN 'superseded' ELSE 'loaded' END AS outcome "
            f"FROM {out_table}"
        )
    if result.skipped_by_kind.get("total"):
        lines = con.execute(
            f"SELECT list(_line ORDER BY _line)[1:12] FROM {out_table} WHERE _skip = 'total'"
        ).fetchall()[0][0]
    else:
        lines = []
    gone = f"NOT ({loadable})" + (f" OR {row_id} IN (SELECT {row_id} FROM {losers})" if superseded else "")
    con.execute(f"DELETE FROM {out_table} WHERE {gone}")
    con.execute(f"DROP TABLE IF EXISTS {losers}")
    for column in ("_skip", "_reason", *cell_labels.values()) + ((row_id,) if row_id != "_line" else ()):
        con.execute(f"ALTER TABLE {out_table} DROP COLUMN {column}")
    _apply_value_maps(con, out_table, ctx.values, entity.field_names)
    result.rows_superseded = superseded
    result.rows_loaded = con.execute(f"SELECT count(*) FROM {out_table}").fetchall()[0][0]
    if superseded:
        result.issues.append(Issue("superseded", f"rows replaced by a later row with the same {pk}", superseded))
    for kind, count in result.skipped_by_kind.items():
        detail = _SKIP_WORDS.get(kind, kind.replace("_", " "))
        if kind == "total" and lines:
            detail += f": line{'s' if count > 1 else ''} {', '.join(str(n) for n in lines)}" + (
                ", …" if count > len(lines) else ""
            )
        result.issues.append(Issue(f"skipped_{kind}", detail, count))
    return result


def _used(params: dict[str, Any], sql: str) -> dict[str, Any]:
    """The parameters `sql` names (DuckDB refuses unused ones)."""
    named = set(re.findall(r"\$([A-Za-z_][A-Za-z0-9_]*)", sql))
    return {k: v for k, v in params.items() if k in named}


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
}


def _sql_type(kind: str) -> str:
    return {NUMBER: "DOUBLE", MONEY: "DOUBLE", DATE: "DATE", TIMESTAMP: "TIMESTAMP", BOOL: "BOOLEAN"}.get(
        kind, "VARCHAR"
    )


def _type_word(kind: str) -> str:
    return {
        NUMBER: "not a number",
        MONEY: "not an amount",
        DATE: "not a valid date",
        TIMESTAMP: "not a valid date",
        BOOL: "not yes/no",
    }[kind]
