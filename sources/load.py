"""From a table of text cells to typed canonical rows, with every row accounted for.

`rows_read = rows_loaded + rows_rejected + rows_superseded + rows_skipped` (CONTRACTS.md). Skipped rows are
blank lines, repeated header lines and total/subtotal rows, each reported by kind. A rejected row keeps its
reason, file, line and raw values. Superseded rows are earlier rows with the same primary key replaced by a
later one (later `updated_at` when there is one, otherwise later in the file).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import duckdb

from sources.canonical import BOOL, DATE, ENTITIES, MONEY, NUMBER, TIMESTAMP
from sources.files.structure import TOTAL_PATTERN, Header
from sources.mapping import Mapping
from sources.parse import DateRule, bool_sql, choose_date_rule, date_sql, number_sql, text_sql

REJECT_SAMPLE = 20
REJECTS_KEPT = 50_000


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
) -> LoadResult:
    """Type the rows below `header` in `raw_table` into `out_table` (canonical columns) and account for all."""
    entity = ENTITIES[ctx.entity]
    result = LoadResult(out_table)
    width = len(header.cells)
    cols = {name: f"c{pos}" for name, pos in mapping.columns.items()}
    body = f"{raw_table}__body"
    header_cols = [f"c{i}" for i in range(width)]
    all_empty = " AND ".join(f"NULLIF(trim({c}), '') IS NULL" for c in header_cols)
    same_as_header = " AND ".join(f"coalesce(trim({c}), '') = {_literal_index(i)}" for i, c in enumerate(header_cols))
    first_cells = "coalesce(" + ", ".join(f"NULLIF(trim({c}), '')" for c in header_cols[: min(width, 4)]) + ")"
    key_col = cols.get(entity.primary_key or "") or next(
        (cols[f.name] for f in entity.fields if f.required and f.type not in (MONEY, NUMBER) and f.name in cols), None
    )
    key_empty = f"NULLIF(trim({key_col}), '') IS NULL" if key_col else "TRUE"
    con.execute(f"DROP TABLE IF EXISTS {body}")
    con.execute(
        f"CREATE TABLE {body} AS SELECT *, CASE "
        f"WHEN {all_empty} THEN 'blank' "
        f"WHEN {same_as_header} THEN 'repeated_header' "
        f"WHEN regexp_matches(lower({first_cells}), $total) AND ({key_empty} OR "
        f"regexp_matches(lower(coalesce(trim({key_col or 'NULL'}), '')), $total)) THEN 'total' "
        f"END AS _skip FROM {raw_table} WHERE _line > $header_line",
        {"total": TOTAL_PATTERN, "header_line": header.line, **_header_params(header.cells)},
    )
    skipped = dict(con.execute(f"SELECT _skip, count(*) FROM {body} WHERE _skip IS NOT NULL GROUP BY 1").fetchall())
    if blank_lines_after_header:
        skipped["blank"] = skipped.get("blank", 0) + blank_lines_after_header
    result.skipped_by_kind = dict(sorted(skipped.items()))
    result.rows_skipped = sum(skipped.values())
    malformed = [m for m in (malformed or []) if m["line"] > header.line]
    body_rows = con.execute(f"SELECT count(*) FROM {body}").fetchall()[0][0]
    result.rows_read = body_rows + blank_lines_after_header + len(malformed)

    # Typed expressions and per-field errors.
    typed, errors = [], []
    params: dict[str, Any] = {}
    for f in entity.fields:
        col = cols.get(f.name)
        if col is None:
            continue
        expr = _typed_sql(con, body, col, f.type, f.name, ctx, result, params)
        typed.append(f"{expr} AS {_q('__v_' + f.name)}")
        value = _q("__v_" + f.name)
        label = f"$label_{f.name}"
        if f.type != "text" or f.required:
            params[f"label_{f.name}"] = mapping.headers[mapping.columns[f.name]]
        if f.type != "text":
            params[f"why_{f.name}"] = _type_word(f.type)
            errors.append(
                f"CASE WHEN NULLIF(trim({col}), '') IS NOT NULL AND {value} IS NULL THEN "
                f"{label} || ': ' || $why_{f.name} || ' ' || chr(39) || trim({col}) || chr(39) END"
            )
        if f.required:
            errors.append(f"CASE WHEN NULLIF(trim({col}), '') IS NULL THEN {label} || ': empty' END")
    reason = f"concat_ws('; ', {', '.join(errors)})" if errors else "''"
    staged = f"{body}__typed"
    con.execute(f"DROP TABLE IF EXISTS {staged}")
    # Each typed value is computed once; the reasons refer to it and to the raw cell.
    used = sorted(set(cols.values()), key=lambda c: int(c[1:]))
    outputs = ", ".join(
        f"{_q('__v_' + f.name)} AS {_q(f.name)}"
        if f.name in cols
        else f"CAST(NULL AS {_sql_type(f.type)}) AS {_q(f.name)}"
        for f in entity.fields
    )
    inner = [t for t in typed if ' AS "__v_' in t]
    con.execute(
        f"CREATE TABLE {staged} AS SELECT _line, NULLIF({reason}, '') AS _reason, {outputs} FROM ("
        f"SELECT _line{''.join(', ' + c for c in used)}{''.join(', ' + t for t in inner)} "
        f"FROM {body} WHERE _skip IS NULL)",
        params,
    )
    # Rejected rows, with raw values by header.
    raw_cols = ", ".join(f"b.c{i}" for i in range(width))
    reject_rows = con.execute(
        f"SELECT s._line, s._reason, {raw_cols} FROM {staged} s JOIN {body} b USING (_line) "
        f"WHERE s._reason IS NOT NULL ORDER BY s._line LIMIT {REJECTS_KEPT}"
    ).fetchall()
    rejected_count = con.execute(f"SELECT count(*) FROM {staged} WHERE _reason IS NOT NULL").fetchall()[0][0]
    names = [h or f"column {i + 1}" for i, h in enumerate(header.cells)]
    result.rejects = [
        {"file": ctx.file_label, "line": line, "reason": reason, "raw": dict(zip(names, values, strict=False))}
        for line, reason, *values in reject_rows
    ] + [{"file": ctx.file_label, **m} for m in malformed]
    result.rows_rejected = rejected_count + len(malformed)
    if result.rows_rejected:
        kinds = Counter(r["reason"].split(":")[0] for r in result.rejects)
        for column, count in kinds.most_common(10):
            result.issues.append(Issue("rejected", f"{column}: rows that could not be read", count))

    # Superseded: the same primary key later in the file (or with a later updated_at) wins.
    pk = entity.primary_key if entity.primary_key in cols else None
    order = "_line DESC"
    if "updated_at" in cols:
        order = "updated_at DESC NULLS LAST, _line DESC"
    if pk:
        dedupe = f"QUALIFY row_number() OVER (PARTITION BY {_q(pk)} ORDER BY {order}) = 1"
        key_sql = f"CAST({_q(pk)} AS VARCHAR)"
    else:
        dedupe = ""
        key_sql = "$file || ':' || CAST(_line AS VARCHAR)"
    con.execute(f"DROP TABLE IF EXISTS {out_table}")
    con.execute(
        f"CREATE TABLE {out_table} AS SELECT {', '.join(_q(f.name) for f in entity.fields)}, "
        f"{key_sql} AS _key, $source AS source, $file || ':' || CAST(_line AS VARCHAR) AS source_row, "
        f"CAST($synced_at AS TIMESTAMP) AS synced_at, _line "
        f"FROM {staged} WHERE _reason IS NULL {dedupe}",
        {"source": ctx.source, "synced_at": ctx.synced_at, "file": ctx.file_label},
    )
    if "currency" in entity.field_names:
        con.execute(f"UPDATE {out_table} SET currency = upper(coalesce(currency, $cur))", {"cur": ctx.default_currency})
    _apply_value_maps(con, out_table, ctx.values, entity.field_names)
    result.rows_loaded = con.execute(f"SELECT count(*) FROM {out_table}").fetchall()[0][0]
    result.rows_superseded = result.rows_read - result.rows_skipped - result.rows_rejected - result.rows_loaded
    if result.rows_superseded:
        result.issues.append(
            Issue("superseded", f"rows replaced by a later row with the same {pk or 'key'}", result.rows_superseded)
        )
    for kind, count in result.skipped_by_kind.items():
        result.issues.append(Issue(f"skipped_{kind}", _SKIP_WORDS[kind], count))
    for table in (body, staged):
        con.execute(f"DROP TABLE IF EXISTS {table}")
    return result


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
}


def _typed_sql(
    con: duckdb.DuckDBPyConnection,
    table: str,
    col: str,
    kind: str,
    name: str,
    ctx: LoadContext,
    result: LoadResult,
    params: dict[str, Any],
) -> str:
    if kind in (NUMBER, MONEY):
        return number_sql(col)
    if kind == BOOL:
        return bool_sql(col)
    if kind in (DATE, TIMESTAMP):
        rule: DateRule = choose_date_rule(con, table, col, "_skip IS NULL", ctx.date_order)
        result.date_rules[name] = rule.describe
        if rule.note and "ambiguous" in rule.note:
            result.issues.append(Issue("date_order", f"{name}: {rule.note}"))
        source_tz = ctx.source_tz if ctx.source_tz and ctx.source_tz != ctx.business_tz else None
        expr = date_sql(col, rule, timestamp=kind == TIMESTAMP, source_tz=source_tz, business_tz=ctx.business_tz)
        if "$business_tz" in expr:
            params["business_tz"] = ctx.business_tz
        if "$source_tz" in expr:
            params["source_tz"] = source_tz
        return expr
    return text_sql(col)


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


def _literal_index(i: int) -> str:
    return f"$h{i}"


def _header_params(cells: tuple[str, ...]) -> dict[str, str]:
    return {f"h{i}": c for i, c in enumerate(cells)}
