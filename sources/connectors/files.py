"""The file connector: CSV, TSV and Excel exports, dropped in the inbox or named in the configuration.

Options a file source may set (`options:` in its configuration):

- `date_order: dmy | mdy` — settles day-first vs month-first when every date of a column is ambiguous;
- `decimal: comma` — numbers are written `1.234,56` (default: a decimal point; `1.234,56` is then rejected);
- `header: none` with `columns: [name, ...]` — the file has no header row; these are its column names;
- `unit: 万元` (or 元, 千元, 亿元) — the amounts' unit when neither the title nor the header states it;
- `year: 2024` — the year of a targets template whose month columns (1月 .. 12月) do not carry one;
- `join: {path: FILE, on: FIELD, sheet: S, mapping: {...}}` — fields the lines lack, from a header file.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from core.config import Source
from sources.canonical import ENTITIES, MONEY, NUMBER
from sources.connectors.base import Extract, register
from sources.files.join import Joined, join_file
from sources.files.raw import EXCEL_SUFFIXES, FileReadError, RawFile, excel_sheets, first_sheet_with_data, read_raw
from sources.files.structure import (
    Header,
    StructureError,
    check_not_pivot,
    find_header,
    guess_entity,
    refuse_pivot,
    title_text,
    unit_scale,
)
from sources.files.wide import AMOUNT_HEADER, PERIOD_HEADER, WideTargets, unpivot, wide_layout
from sources.keys import normalise_key
from sources.load import Issue, LoadContext, type_rows
from sources.mapping import Mapping, MappingError, map_headers
from sources.parse import NumberRule, currency_in_header

# Part of every file's fingerprint: a change to how files are read makes the next sync read unchanged files again.
READER_VERSION = "files-3"  # 3: stray quotes, totals by required cells, currency marks, weekdays, decimal commas
FILE_OPTIONS = ("date_order", "decimal", "header", "columns", "unit", "year", "join")


def file_fingerprint(path: Path) -> str:
    """sha256 of the file's bytes: an unchanged file is not loaded again."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_options(options: dict[str, Any] | None) -> dict[str, Any]:
    """The source's options, checked: unknown keys and values are errors that name what is allowed."""
    options = dict(options or {})
    unknown = sorted(set(options) - set(FILE_OPTIONS))
    if unknown:
        raise ValueError(f"unknown file source option(s) {', '.join(unknown)}; known: {', '.join(FILE_OPTIONS)}")
    decimal = str(options.get("decimal", "point")).lower()
    if decimal not in ("point", "comma", ".", ","):
        raise ValueError(f"option decimal: {decimal!r}; use point (1,234.56) or comma (1.234,56)")
    options["decimal"] = "," if decimal in ("comma", ",") else "."
    if options.get("date_order") not in (None, "dmy", "mdy"):
        raise ValueError(f"option date_order: {options['date_order']!r}; use dmy or mdy")
    header = options.get("header", True)
    options["header"] = not (header is False or str(header).lower() in ("none", "no", "false"))
    if not options["header"] and not options.get("columns"):
        raise ValueError("option header: none needs columns: [name, ...] (the file's column names, in order)")
    if options.get("year") is not None and not str(options["year"]).isdigit():
        raise ValueError(f"option year: {options['year']!r}; use a year such as 2024")
    return options


@dataclass
class FilePlan:
    """How a file will be loaded: what was read, its header, entity and mapping, and the table to type."""

    raw: RawFile
    header: Header
    mapping: Mapping
    entity: str
    table: str
    title: str = ""
    number_rules: dict[str, NumberRule] = field(default_factory=dict)
    wide: WideTargets | None = None
    joined: Joined | None = None
    issues: list[Issue] = field(default_factory=list)
    type_args: dict[str, Any] = field(default_factory=dict)


def plan_file(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    *,
    entity: str | None,
    sheet: str | None,
    explicit: dict[str, str] | None,
    table: str,
    workdir: Path,
    options: dict[str, Any] | None = None,
) -> FilePlan:
    """Read a file and decide how to load it (what `sources check` shows before a load).

    A workbook read without a chosen sheet starts at its first sheet with data; when that one holds no table
    of the entity (a 说明 or cover sheet), the next sheets are tried and the one read is reported. When none
    holds one, the error names the sheet it is about and the workbook's sheets.
    """
    args = {"entity": entity, "explicit": explicit, "table": table, "workdir": workdir, "options": options}
    try:
        plan = _plan_sheet(con, path, sheet=sheet, **args)
        passed = plan.raw.sheets[: plan.raw.sheets.index(plan.raw.sheet)] if plan.raw.sheet in plan.raw.sheets else []
        if sheet is None and passed:
            plan.issues.append(
                Issue("sheet", f"read sheet {plan.raw.sheet!r}, not {', '.join(map(repr, passed))} (--sheet chooses)")
            )
        return plan
    except (StructureError, MappingError) as exc:
        # No table of the entity at all (a 说明 sheet): try the next sheets. A table lacking a column is an error.
        no_table = isinstance(exc, StructureError) or exc.mapped == 0
        if sheet is not None or not no_table or Path(path).suffix.lower() not in EXCEL_SUFFIXES:
            raise
        names = excel_sheets(Path(path))
        first = first_sheet_with_data(Path(path))
        for name in [n for n in names if n != first]:
            try:
                plan = _plan_sheet(con, path, sheet=name, **args)
            except (StructureError, MappingError):
                continue  # the next sheet is read only if it holds a table that loads
            plan.issues.append(
                Issue(
                    "sheet", f"sheet {first!r} holds no table of {plan.entity}; read sheet {name!r} (--sheet chooses)"
                )
            )
            return plan
        if len(names) < 2:
            raise
        raise StructureError(
            f"{exc} (in sheet {first!r}; no other sheet of {', '.join(repr(n) for n in names)} holds one either; "
            "pass --sheet to choose)"
        ) from exc


def _plan_sheet(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    *,
    entity: str | None,
    sheet: str | None,
    explicit: dict[str, str] | None,
    table: str,
    workdir: Path,
    options: dict[str, Any] | None = None,
) -> FilePlan:
    options = file_options(options)
    explicit = dict(explicit or {})
    path = Path(path)
    raw = read_raw(con, path, table, sheet=sheet, workdir=workdir)
    head = con.execute(f"SELECT * EXCLUDE (_line), _line FROM {table} ORDER BY _line LIMIT 60").fetchall()
    rows = [(list(r[:-1]), r[-1]) for r in head]
    if options["header"]:
        header = find_header(rows, entity)
        title = title_text(rows, header)
    else:
        header = _given_header(options["columns"], raw, path)
        title = ""
        refuse_pivot(rows)
    if entity is None:
        entity, score = guess_entity(header.cells, title)
        if score == 0:
            raise StructureError(
                f"cannot tell which entity this file holds from its columns ({', '.join(c for c in header.cells if c)}); "
                "pass --as ENTITY"
            )
    plan = FilePlan(raw, header, None, entity, table, title)  # type: ignore[arg-type]
    if entity == "targets":
        plan.wide = wide_layout(header, title, options, explicit)
    if plan.wide:
        return _plan_wide(con, plan, explicit)
    check_not_pivot(header.cells, entity)
    if options.get("join"):
        main = map_headers(header.cells, entity, explicit, require=False)
        plan.header, plan.mapping, plan.joined, issues = join_file(
            con, table, path, header, main, entity, options["join"], workdir
        )
        plan.issues += issues
    else:
        plan.mapping = map_headers(header.cells, entity, explicit)
    plan.number_rules = _number_rules(plan.mapping, entity, title, options, semicolons=raw.delimiter == ";")
    if plan.mapping.duplicates:
        plan.issues.append(
            Issue(
                "duplicate_columns",
                "; ".join(plan.mapping.duplicates)
                + ": the first is read (to read the other, name it under mapping:, or rename it when both are called alike)",
                len(plan.mapping.duplicates),
            )
        )
    return plan


def _given_header(columns: list[str], raw: RawFile, path: Path) -> Header:
    names = tuple(str(c) for c in columns)
    if len(names) < raw.width:
        names += tuple(f"column {i + 1}" for i in range(len(names), raw.width))
    elif len(names) > raw.width:
        raise FileReadError(f"{path.name}: option columns names {len(names)} columns; the file has {raw.width}")
    return Header(-1, 0, names, 0)


def _plan_wide(con: duckdb.DuckDBPyConnection, plan: FilePlan, explicit: dict[str, str]) -> FilePlan:
    wide = plan.wide
    assert wide is not None
    long_table = f"{plan.table}__long"
    plan.header, issues = unpivot(con, plan.table, plan.header, wide, long_table)
    plan.issues += issues
    plan.table = long_table
    kept = {k: v for k, v in explicit.items() if k not in ("period", "amount")}
    plan.mapping = map_headers(plan.header.cells, "targets", {**kept, "period": PERIOD_HEADER, "amount": AMOUNT_HEADER})
    plan.number_rules = {"amount": wide.rule}
    plan.type_args = {"row_id": "_rec", "skip_column": "_skip", "cell_labels": {"amount": "_col"}}
    return plan


def header_currency(mapping: Mapping, entity: str) -> tuple[str, str] | None:
    """(code, which header says so) when the file has no currency column and its amount headers name one
    currency (`Amount (USD)`, `金额(美元)`, `Revenue USD`): the rows are in that currency."""
    if "currency" in mapping.columns:
        return None
    named = {}
    for f in ENTITIES[entity].fields:
        if f.type == MONEY and f.name in mapping.columns:
            text = mapping.headers[mapping.columns[f.name]]
            code = currency_in_header(text)
            if code:
                named.setdefault(code, text)
    if len(named) != 1:
        return None
    code, text = next(iter(named.items()))
    return code, f"header {text!r} says {code}"


def _number_rules(
    mapping: Mapping, entity: str, title: str, options: dict[str, Any], *, semicolons: bool = False
) -> dict[str, NumberRule]:
    """Decimal mark and unit per number field: the source option, else the header's unit, else the title's."""
    rules = {}
    for f in ENTITIES[entity].fields:
        if f.type not in (MONEY, NUMBER) or f.name not in mapping.columns:
            continue
        scale, words = 1.0, ""
        if f.type == MONEY:
            if options.get("unit"):
                scale, words = unit_scale(f"({options['unit']})")
                words = f"source option unit {options['unit']}"
            else:
                scale, words = unit_scale(mapping.headers[mapping.columns[f.name]], title)
        rules[f.name] = NumberRule(decimal=options["decimal"], scale=scale, unit=words, commas_likely=semicolons)
    return rules


class FileConnector:
    """Loads one file source into canonical rows."""

    kind = "file"

    def fingerprint(self, source: Source) -> str | None:
        path = Path(source.path)
        if not path.exists():
            return None
        parts = [READER_VERSION, file_fingerprint(path)]
        join = (source.options or {}).get("join")
        if isinstance(join, dict) and join.get("path"):
            other = Path(join["path"])
            other = other if other.is_absolute() else path.parent / other
            if other.exists():
                parts.append(file_fingerprint(other))
        return ":".join(parts)

    def extract(
        self, con: duckdb.DuckDBPyConnection, source: Source, ctx: LoadContext, out_table: str, workdir: Path
    ) -> Extract:
        path = Path(source.path)
        raw_table = f"raw__{source.name}"
        plan = plan_file(
            con,
            path,
            entity=source.entity,
            sheet=source.sheet,
            explicit=source.mapping,
            table=raw_table,
            workdir=workdir,
            options=source.options,
        )
        header = plan.header
        named = header_currency(plan.mapping, plan.entity)
        if named and named[0] != ctx.default_currency:
            (code, where), previous = named, ctx.default_currency
            ctx = dataclasses.replace(ctx, default_currency=code)
            plan.issues.append(Issue("currency", f"{where}: amounts are read in {code}, not {previous}"))
        blank_after = sum(1 for line in plan.raw.blank_lines if line > header.line)
        if plan.wide:
            blank_after *= len(plan.wide.periods)
        result = type_rows(
            con,
            plan.table,
            header,
            plan.mapping,
            ctx,
            out_table,
            blank_lines_after_header=blank_after,
            malformed=plan.raw.malformed,
            number_rules=plan.number_rules,
            **plan.type_args,
        )
        result.issues = plan.issues + result.issues
        if plan.entity == "targets":
            result.issues += _unknown_teams(con, out_table)
        for table in {raw_table, plan.table}:
            con.execute(f"DROP TABLE IF EXISTS {table}")
        raw = plan.raw
        details = {
            "file": str(path),
            "encoding": raw.encoding.label if raw.encoding else None,
            "encoding_reason": raw.encoding.reason if raw.encoding else None,
            "delimiter": raw.delimiter,
            "sheet": raw.sheet,
            "sheets": raw.sheets,
            "header_row": header.line,
            "title": plan.title or None,
            "mapping": plan.mapping.as_dict(),
            "unmapped_columns": plan.mapping.unmapped,
            "columns": [c for c in header.cells if c],
            "date_rules": result.date_rules,
            "number_rules": result.number_rules,
            "exact_lines": raw.exact_lines,
        }
        if plan.wide:
            details["layout"] = plan.wide.describe()
        if plan.joined:
            details["join"] = plan.joined.describe()
        return Extract(result, details)


def _unknown_teams(con: duckdb.DuckDBPyConnection, out_table: str) -> list[Issue]:
    """Target teams the rep roster (the last good one in staging) does not have, matched by normalised key."""
    try:
        rosters = [
            f"src__{name}" for (name,) in con.execute("SELECT name FROM _source_state WHERE entity = 'reps'").fetchall()
        ]
        existing = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    except duckdb.Error:
        return []
    rosters = [t for t in rosters if t in existing]
    if not rosters:
        return []
    known = set()
    for table in rosters:
        known |= {normalise_key(t) for (t,) in con.execute(f"SELECT DISTINCT team FROM {table}").fetchall() if t}
    named = con.execute(
        f"SELECT team, count(*) FROM {out_table} WHERE team IS NOT NULL GROUP BY 1 ORDER BY 1"
    ).fetchall()
    unknown = [(t, n) for t, n in named if normalise_key(t) not in known]
    if not unknown:
        return []
    shown = ", ".join(f"{t} ({n} targets)" for t, n in unknown[:10])
    return [
        Issue("unknown_team", f"targets name teams the rep roster does not have: {shown}", sum(n for _, n in unknown))
    ]


register(FileConnector())
