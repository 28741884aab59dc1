"""Test support for the file connector: load a file written by a test and look at the typed rows.

`load_file` runs the real connector (`sources.connectors.files.FileConnector.extract`) on an in-memory staging
database, exactly as a sync does before publishing, and returns the accounting, the details shown to users and
the typed canonical rows. Tests that need the published snapshot go through `python -m sources import` instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from core.config import Source
from sources.connectors.files import FileConnector
from sources.load import LoadContext, LoadResult


@dataclass
class Loaded:
    """One load: the accounting, the details and the typed rows (dicts in line order)."""

    result: LoadResult
    details: dict[str, Any]
    rows: list[dict[str, Any]]

    @property
    def issues(self) -> dict[str, int]:
        return {i.kind: i.count for i in self.result.issues}

    def issue(self, kind: str) -> str:
        return next(i.detail for i in self.result.issues if i.kind == kind)

    def column(self, name: str) -> list[Any]:
        return [r[name] for r in self.rows]

    def reasons(self) -> dict[int, str]:
        return {r["line"]: r["reason"] for r in self.result.rejects}

    def balanced(self) -> bool:
        r = self.result
        return r.rows_read == r.rows_loaded + r.rows_rejected + r.rows_superseded + r.rows_skipped


def load_file(
    path: Path,
    entity: str = "orders",
    *,
    workdir: Path,
    mapping: dict[str, str] | None = None,
    options: dict[str, Any] | None = None,
    sheet: str | None = None,
    currency: str = "CNY",
    con: duckdb.DuckDBPyConnection | None = None,
) -> Loaded:
    """Load `path` as a file source of `entity` and return what the load produced."""
    con = con or duckdb.connect()
    source = Source(
        name="under_test",
        kind="file",
        entity=entity,
        path=path,
        mapping=mapping or {},
        options=options or {},
        sheet=sheet,
        schedule="manual",
    )
    ctx = LoadContext(
        source="under_test",
        entity=entity,
        file_label=path.name,
        business_tz="Asia/Shanghai",
        source_tz=None,
        default_currency=currency,
        date_order=(options or {}).get("date_order"),
    )
    extract = FileConnector().extract(con, source, ctx, "load__under_test", workdir)
    cur = con.execute("SELECT * FROM load__under_test ORDER BY _line")
    names = [d[0] for d in cur.description]
    rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    return Loaded(extract.result, extract.details, rows)
