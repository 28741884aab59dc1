"""Schema drift: which columns a source's file has, how each is read, and what changed since the last good load.

Every run records its columns (`column_schema`), each with the canonical field it feeds, the type it is read
as (a date column with its chosen format) and how many of its cells failed to parse. Drift against the previous
successful run is reported as issues of kind `schema_drift` — new columns, missing columns, and retyped ones: a
column now feeding another field, a date column whose chosen format changed, or an amount column that stopped
parsing (most of its filled cells rejected).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from sources.canonical import ENTITIES
from sources.load import Issue

# A mapped column whose cells fail to parse in more than this share of the rows is read as text.
STOPPED_PARSING_SHARE = 0.5


def _date_format(rule: str | None) -> str | None:
    """The format part of a date rule's description ("%d/%m/%Y (1,200 of 1,200 distinct values parse)")."""
    return rule.split(" (", 1)[0].strip() if rule else None


def cell_failures(rejects: list[dict[str, Any]] | None) -> Counter:
    """Rejected cells per column header, from the rejects' reasons ("金额: not an amount 'abc'; 日期: empty")."""
    failures: Counter = Counter()
    for reject in rejects or []:
        for part in str(reject.get("reason") or "").split("; "):
            column, sep, why = part.partition(": ")
            if sep and why and not why.startswith("empty"):
                failures[column] += 1
    return failures


def column_schema(
    entity: str, details: dict[str, Any], rejects: list[dict[str, Any]] | None = None, considered: int = 0
) -> dict[str, dict[str, Any]]:
    """column header → {"field", "type", "failed"} for one load (empty when the connector reports no columns)."""
    columns = details.get("columns") or []
    mapping = details.get("mapping") or {}
    date_rules = details.get("date_rules") or {}
    field_of = {column: name for name, column in mapping.items()}
    types = {f.name: f.type for f in ENTITIES[entity].fields} if entity in ENTITIES else {}
    failures = cell_failures(rejects)
    schema: dict[str, dict[str, Any]] = {}
    for column in columns:
        name = field_of.get(column)
        kind = types.get(name, "text") if name else "unmapped"
        if name in date_rules:
            kind = f"{kind} {_date_format(date_rules[name])}"
        failed = failures.get(column, 0)
        if name and considered and failed / considered > STOPPED_PARSING_SHARE:
            kind = f"text (does not parse as {types.get(name, 'text')})"
        schema[column] = {"field": name, "type": kind, "failed": failed}
    return schema


def schema_of_run(run: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The schema recorded with a sync run (derived from its columns and mapping for runs recorded before it)."""
    details = run.get("details") or {}
    if details.get("schema"):
        return details["schema"]
    return column_schema(run.get("entity") or "", details)


def schema_drift(before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Changes from `before` to `after`: [{"change": new|missing|retyped, "column", "before", "after"}]."""
    if not before or not after:
        return []
    changes: list[dict[str, Any]] = []
    for column, now in after.items():
        if column not in before:
            changes.append({"change": "new", "column": column, "before": None, "after": _label(now)})
    for column, was in before.items():
        if column not in after:
            changes.append({"change": "missing", "column": column, "before": _label(was), "after": None})
    for column, now in after.items():
        was = before.get(column)
        if was and (was.get("field"), was.get("type")) != (now.get("field"), now.get("type")):
            changes.append({"change": "retyped", "column": column, "before": _label(was), "after": _label(now)})
    return changes


def _label(entry: dict[str, Any]) -> str:
    return f"{entry['field']}: {entry['type']}" if entry.get("field") else str(entry.get("type"))


def drift_issues(changes: list[dict[str, Any]]) -> list[Issue]:
    """One `schema_drift` issue per kind of change, naming the columns."""
    issues = []
    for change, words in (("new", "new columns"), ("missing", "missing columns"), ("retyped", "retyped columns")):
        picked = [c for c in changes if c["change"] == change]
        if not picked:
            continue
        if change == "retyped":
            named = "; ".join(f"{c['column']} ({c['before']} → {c['after']})" for c in picked[:10])
        else:
            named = ", ".join(c["column"] for c in picked[:20])
        issues.append(Issue("schema_drift", f"{words} since the last good load: {named}", len(picked)))
    return issues
