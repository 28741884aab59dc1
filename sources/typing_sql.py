"""The one `SELECT` that types a raw table of text cells into canonical columns, with skip kinds and reasons.

Four nested layers, so that each cell's work is done once and ordinary cells pay the least:
1. cheap first tries — a plain number cast, the fast number pattern, the parsed date — and the row's skip kind;
2. the split of the rare number cells those did not read;
3. typed values;
4. the canonical columns, the reject reason of each row, `_key`, `source`, `source_row`, `synced_at`.
`sources.load` runs it, accounts for every row and removes the ones not loaded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sources.canonical import BOOL, DATE, MONEY, NUMBER, TIMESTAMP, Entity
from sources.dates import DateRule, date_guard_sql, date_sql, weekday_written_sql, written_date_sql
from sources.files.structure import NOTE_PATTERN, SUSPECT_KEY_PATTERN, TOTAL_CELL_PATTERN, TOTAL_PATTERN, Header
from sources.mapping import Mapping
from sources.parse import (
    NumberRule,
    bool_sql,
    currency_code_sql,
    currency_mark_sql,
    fast_number_match_sql,
    foreign_mark_sql,
    number_hint_sql,
    number_parts_sql,
    number_value_sql,
    plain_number_sql,
    text_sql,
)

_SPACES = " \t\u3000\u00a0\u202f"


def q(name: str) -> str:
    """A quoted identifier."""
    return '"' + name.replace('"', '""') + '"'


def sql_type(kind: str) -> str:
    return {NUMBER: "DOUBLE", MONEY: "DOUBLE", DATE: "DATE", TIMESTAMP: "TIMESTAMP", BOOL: "BOOLEAN"}.get(
        kind, "VARCHAR"
    )


_WHY = {
    NUMBER: "not a number",
    MONEY: "not an amount",
    DATE: "not a valid date",
    TIMESTAMP: "not a valid date",
    BOOL: "not yes/no",
}


def skip_sql(
    header: Header,
    key_col: str | None,
    width: int | None = None,
    *,
    required: list[str] | None = None,
    key_is_code: bool = False,
    label_suffices: bool = False,
) -> tuple[str, dict[str, str]]:
    """SQL classifying a raw row below `header` as 'blank', 'repeated_header', 'note', 'total' or NULL (a data row).

    Rows whose key cell is filled and looks like nothing special take the first branch, so the common case costs
    one comparison and one (fast, anchored) pattern match; only the others are looked at cell by cell.

    A cell that is a total word and nothing else (`合计`, `Grand Total`) marks a total. A label that only starts
    or ends with one (`合计 3 项`, `East Total`, but also a customer `Total S.A.` or `合计科技`) marks a total
    when the row leaves a `required` cell empty (a total does not fill the fields it does not sum), or when it
    stands in `key_col` holding a code (an order number) and reads as words (`合计 2 笔`, `Grand Total (Jan)`):
    order numbers are codes (`TOTAL-5`), names are not. Without `required` cells, most named cells must be empty.
    `label_suffices` (a targets template, whose labels are teams and reps) takes the label alone.
    """
    width = width or len(header.cells)
    cells = [f"c{i}" for i in range(width)]
    trimmed = [f"NULLIF(trim({c}, '{_SPACES}'), '')" for c in cells]
    all_empty = f"coalesce({', '.join(trimmed)}) IS NULL"
    # A header repeated where two exports were joined may carry the second file's byte-order mark.
    same_as_header = " AND ".join(f"coalesce(trim({c}, '{_SPACES}\ufeff'), '') = $h{i}" for i, c in enumerate(cells))
    first_cells = f"coalesce({', '.join(trimmed[: min(width, 4)])})"
    any_total_cell = f"regexp_matches(lower(concat_ws('|', {', '.join(cells)})), $total_cell)"
    wanted = [f"NULLIF(trim({c}, '{_SPACES}'), '')" for c in required or [] if int(c[1:]) < width]
    if wanted:
        gap = "(" + " OR ".join(f"{t} IS NULL" for t in wanted) + ")"
    else:  # nothing required (a customer list): most named cells empty
        named = [t for i, t in enumerate(trimmed) if i < len(header.cells) and header.cells[i].strip()] or trimmed
        gap = f"(({' + '.join(f'CAST({t} IS NULL AS INTEGER)' for t in named)}) * 2 > {len(named)})"
    if label_suffices:
        gap = "TRUE"
    if key_col and key_is_code:
        gap = f"({gap} OR regexp_matches(trim({key_col}, '{_SPACES}'), '[\\s:：(（]'))"
    params = {f"h{i}": (header.cells[i] if i < len(header.cells) else "") for i in range(width)}
    params.update({"total": TOTAL_PATTERN, "total_cell": TOTAL_CELL_PATTERN, "note": NOTE_PATTERN})
    # A multi-page export repeats its title lines (report name, period) above each page's header.
    params.update({f"a{i}": text for i, text in enumerate(header.above)})
    filled_cells = f"concat_ws('|', {', '.join(trimmed)})"
    if key_col:
        key_blank_or_total = (
            f"(NULLIF(trim({key_col}, '{_SPACES}'), '') IS NULL "
            f"OR regexp_matches(lower(trim({key_col}, '{_SPACES}')), $total))"
        )
        ordinary = f"{key_col} IS NOT NULL AND {key_col} <> $hkey AND NOT regexp_matches({key_col}, $suspect)"
        params.update({"hkey": params[f"h{key_col[1:]}"], "suspect": SUSPECT_KEY_PATTERN})
    else:
        key_blank_or_total, ordinary = "TRUE", "FALSE"
    titles = ", ".join(f"$a{i}" for i in range(len(header.above)))
    if key_col and titles:
        ordinary += f" AND {key_col} NOT IN ({', '.join(f'$k{i}' for i in range(len(header.above)))})"
        params.update({f"k{i}": text.split("|")[0] for i, text in enumerate(header.above)})
    repeated_title = f"WHEN {filled_cells} IN ({titles}) THEN 'repeated_header' " if titles else ""
    sql = (
        f"CASE WHEN {ordinary} THEN NULL "
        f"WHEN {all_empty} THEN 'blank' "
        f"WHEN {same_as_header} THEN 'repeated_header' "
        f"{repeated_title}"
        f"WHEN ({' + '.join(f'CAST({t} IS NOT NULL AS INTEGER)' for t in trimmed)}) <= 2 "
        f"AND regexp_matches(lower({first_cells}), $note) THEN 'note' "
        f"WHEN {key_blank_or_total} AND ((regexp_matches(lower({first_cells}), $total) AND {gap}) OR {any_total_cell}) "
        "THEN 'total' END"
    )
    return sql, params


@dataclass
class TypedSelect:
    """The typing statement and what it needs: its parameters and the flags of unread date cells."""

    sql: str
    params: dict[str, Any]
    date_flags: dict[str, str] = field(default_factory=dict)  # field → column flagging a date cell not read
    number_rules: dict[str, str] = field(default_factory=dict)


def typed_select(
    entity: Entity,
    raw_table: str,
    header: Header,
    mapping: Mapping,
    *,
    context: dict[str, Any],
    number_rules: dict[str, NumberRule],
    date_rules: dict[str, DateRule],
    row_id: str = "_line",
    skip_column: str | None = None,
    cell_labels: dict[str, str] | None = None,
    stray_cells: list[str] | None = None,
) -> TypedSelect:
    """The `SELECT` typing every row below `header` (see the module docstring for its layers).

    `stray_cells` are the cells right of the last named column; a row with a value there is rejected (an
    unquoted separator split one of its values, so its cells are shifted).

    `context` holds source, file, synced_at, currency, business_tz and source_tz (None when the source's zone is
    the business one); they are bound as parameters, never formatted into the SQL.
    """
    cell_labels = cell_labels or {}
    cols = {name: f"c{pos}" for name, pos in mapping.columns.items()}
    params: dict[str, Any] = {
        "source": context["source"],
        "file": context["file"],
        "synced_at": context["synced_at"],
        "cur": context["currency"],
        "business_tz": context["business_tz"],
        "source_tz": context.get("source_tz"),
    }
    if skip_column:
        skip_expr = skip_column
    else:
        key_name = key_field(entity, cols)
        skip_expr, skip_params = skip_sql(
            header,
            cols.get(key_name),
            len(header.cells),
            required=[cols[f.name] for f in entity.fields if f.required and f.name in cols],
            key_is_code=key_name == entity.primary_key or key_name.endswith("_id"),
        )
        params.update(skip_params)
    used = sorted(set(cols.values()), key=lambda c: int(c[1:]))
    ids = [row_id] + (["_line"] if row_id != "_line" else [])
    carried = [*ids, *used, *cell_labels.values()]
    layer1 = [*carried, f"{skip_expr} AS _skip"]
    layer2 = [*carried, "_skip"]
    layer3 = [*carried, "_skip"]
    layer4 = [*ids, "_skip", *cell_labels.values()]
    reasons: list[str] = []
    marks: dict[str, str] = {}  # money field → column with the currency its cells write
    out = TypedSelect("", params)
    for f in entity.fields:
        col = cols.get(f.name)
        value = q("__v_" + f.name)
        label = cell_labels.get(f.name) or f"$label_{f.name}"
        if col is None:
            derived = mapping.derived.get(f.name)
            if derived:
                a, b = (q("__v_" + n) for n in derived)
                layer4.append(f"{a} * {b} AS {q(f.name)}")
                params[f"label_{f.name}"] = " × ".join(mapping.headers[mapping.columns[n]] for n in derived)
                if f.required:
                    reasons.append(f"CASE WHEN {a} * {b} IS NULL THEN $label_{f.name} || ': empty' END")
                out.number_rules[f.name] = f"{params[f'label_{f.name}']} (the export has no {f.name} column)"
            elif f.name == "currency":
                layer4.append(f"upper(CAST($cur AS VARCHAR)) AS {q(f.name)}")
            else:
                layer4.append(f"CAST(NULL AS {sql_type(f.type)}) AS {q(f.name)}")
            continue
        params[f"label_{f.name}"] = mapping.headers[mapping.columns[f.name]]
        hint = "''"
        if f.type in (NUMBER, MONEY):
            rule = number_rules.get(f.name, NumberRule())
            plain, matched, parts = (q(f"__{k}_{f.name}") for k in ("t", "m", "p"))
            layer1 += [
                f"{plain_number_sql(col, rule.decimal)} AS {plain}",
                f"CASE WHEN {col} IS NOT NULL AND {plain_number_sql(col, rule.decimal)} IS NULL "
                f"THEN {fast_number_match_sql(col, rule.decimal)} END AS {matched}",
            ]
            layer2 += [plain, matched, f"CASE WHEN NOT {matched} THEN {number_parts_sql(col)} END AS {parts}"]
            percent = f.type != MONEY  # `12%` is a rate, never an amount
            layer3.append(f"{number_value_sql(col, plain, matched, parts, rule, percent=percent)} AS {value}")
            if f.type == MONEY:
                mark = q("__c_" + f.name)
                own = None if "currency" in cols else str(context["currency"])
                layer1.append(f"{currency_mark_sql(col, own)} AS {mark}")
                layer2.append(mark)
                layer3.append(mark)
                marks[f.name] = mark
            out.number_rules[f.name] = rule.describe
            hint = number_hint_sql(col, rule, percent=percent)
        elif f.type in (DATE, TIMESTAMP):
            rule = date_rules[f.name]
            expr = date_sql(
                col,
                rule,
                timestamp=f.type == TIMESTAMP,
                source_tz=context.get("source_tz"),
                business_tz=context["business_tz"],
            )
            parsed = q("__d_" + f.name)
            layer1.append(f"{expr} AS {parsed}")
            layer2.append(parsed)
            hint = f"' (the column is read as {rule.how})'" if rule.all_formats or rule.serial else "''"
            read = date_guard_sql(parsed)
            if rule.weekday:
                # A weekday written beside the date must fall on it: `2018-01-02 星期一` is refused, not guessed.
                # The written date, before any time zone moves it: `2024-01-01T20:00:00Z Mon` is a Monday.
                said, written = q("__w_" + f.name), q("__wd_" + f.name)
                layer1 += [f"{weekday_written_sql(col)} AS {said}", f"{written_date_sql(col, rule)} AS {written}"]
                layer2 += [said, written]
                wrong = f"({said} IS NOT NULL AND isodow({written}) <> {said})"
                layer3 += [f"CASE WHEN {wrong} THEN NULL ELSE {read} END AS {value}", said, written]
                read = q("__g_" + f.name)
                layer3.append(f"{date_guard_sql(parsed)} AS {read}")
                hint = (
                    f"CASE WHEN {wrong} THEN ' (the weekday written does not fall on ' || strftime({written}, "
                    f"'%Y-%m-%d') || ', a ' || dayname({written}) || ')' ELSE {hint} END"
                )
            else:
                layer3.append(f"{read} AS {value}")
                read = value
            flag = q("__bad_" + f.name)
            layer4.append(
                f"CASE WHEN _skip IS NULL AND {read} IS NULL THEN coalesce({text_sql(col)} IS NOT NULL, FALSE) "
                f"ELSE FALSE END AS {flag}"
            )
            out.date_flags[f.name] = flag
        elif f.type == BOOL:
            layer3.append(f"{bool_sql(col)} AS {value}")
        elif f.name == "currency":
            layer3.append(f"{currency_code_sql(f'coalesce({text_sql(col)}, $cur)')} AS {value}")
        else:
            layer3.append(f"{text_sql(col)} AS {value}")
            # Codes, names and categories never hold a line break: one there is a quote that took in lines.
            reasons.append(
                f"CASE WHEN contains({col}, chr(10)) THEN {label} || ': a line break inside ' || chr(39) || "
                f"replace(trim({col}, '{_SPACES}'), chr(10), ' ⏎ ') || chr(39) || ' (a stray quote that took in the "
                "next lines?)' END"
            )
        layer4.append(f"{value} AS {q(f.name)}")
        filled = f"NULLIF(trim({col}, '{_SPACES}'), '') IS NOT NULL"
        empty = f"{label} || ': empty'" if f.required else "NULL"
        if f.type != "text":
            params[f"why_{f.name}"] = _WHY[f.type]
            bad = f"{label} || ': ' || $why_{f.name} || ' ' || chr(39) || trim({col}, '{_SPACES}') || chr(39) || {hint}"
            reasons.append(f"CASE WHEN {value} IS NULL THEN CASE WHEN {filled} THEN {bad} ELSE {empty} END END")
        elif f.required:
            reasons.append(f"CASE WHEN {value} IS NULL THEN {empty} END")
    # An amount written in another currency than its row's (`$1,200` in a CNY export) would be read as the row's.
    row_currency = q("__v_currency") if "currency" in cols else "upper(CAST($cur AS VARCHAR))"
    for name, mark in marks.items():
        other = foreign_mark_sql(mark, row_currency)
        label = cell_labels.get(name) or f"$label_{name}"
        reasons.append(
            f"CASE WHEN {other} IS NOT NULL THEN {label} || ': written in ' || {other} || ' but the row is in ' || "
            f"{row_currency} || ' (' || chr(39) || trim({cols[name]}, '{_SPACES}') || chr(39) || '; map a currency "
            "column or load those rows as their own source)' END"
        )
    # Cells to the right of the last named column: an unquoted separator split a value (`￥2,000.00`).
    beyond = stray_cells or []
    if beyond:
        for layer in (layer1, layer2):
            layer += [c for c in beyond if c not in used]
        layer3.append(f"NULLIF(concat_ws(' | ', {', '.join(beyond)}), '') AS _extra")
        reasons.append(
            "CASE WHEN _extra IS NOT NULL THEN 'more cells than the header has columns (an unquoted separator?): ' "
            "|| chr(39) || _extra || chr(39) END"
        )
    reason = f"NULLIF(concat_ws('; ', {', '.join(reasons)}), '')" if reasons else "NULL"
    pk = entity.primary_key if entity.primary_key in cols else None
    key = f"CAST({q('__v_' + pk)} AS VARCHAR)" if pk else "$file || ':' || CAST(_line AS VARCHAR)"
    layer4 += [
        f"CASE WHEN _skip IS NULL THEN {reason} END AS _reason",
        f"{key} AS _key",
        "$source AS source",
        "$file || ':' || CAST(_line AS VARCHAR) AS source_row",
        "CAST($synced_at AS TIMESTAMP) AS synced_at",
    ]
    sql = f"SELECT {', '.join(layer1)} FROM {raw_table} WHERE _line > {int(header.line)}"
    for layer in (layer2, layer3, layer4):
        sql = f"SELECT {', '.join(layer)} FROM ({sql})"
    out.sql = sql
    out.params = used_params(params, sql)
    return out


def cells_beyond_header(header: Header) -> list[str]:
    """The cell columns to the right of the header's last named column."""
    named = [i for i, h in enumerate(header.cells) if h]
    return [f"c{i}" for i in range((named[-1] + 1) if named else 0, len(header.cells))]


def key_field(entity: Entity, cols: dict[str, str]) -> str:
    """The field that identifies a row: the primary key, else the first required non-number field ('' if none)."""
    if entity.primary_key and entity.primary_key in cols:
        return entity.primary_key
    return next((f.name for f in entity.fields if f.required and f.type not in (MONEY, NUMBER) and f.name in cols), "")


def used_params(params: dict[str, Any], sql: str) -> dict[str, Any]:
    """The parameters `sql` names (DuckDB refuses unused ones)."""
    named = set(re.findall(r"\$([A-Za-z_][A-Za-z0-9_]*)", sql))
    return {k: v for k, v in params.items() if k in named}
