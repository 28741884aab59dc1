"""`python -m metrics diff [REV]`: how every metric's numbers move between the definitions at REV and now.

The catalog at REV (default: the last commit) is rebuilt from `git show REV:metrics/...` in a temporary
folder; every metric in either catalog is run monthly over its last 12 months of data on the current snapshot,
with the full scope, both ways; the months whose value changed are printed. A change of 口径 is seen before
it ships. A definition that no longer loads, or a metric added or removed, is reported, not fatal: the
command exits 0 unless it cannot run at all (no git, unknown REV, no snapshot).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import ibis

from core.calendar import BusinessCalendar
from core.config import PROJECT_ROOT, Settings, settings
from core.warehouse import Snapshot, current_snapshot
from metrics.catalog import Catalog, load_catalog, parse_spec
from metrics.compiler import Ask
from metrics.formatting import format_delta_pct, format_value
from metrics.query import json_value, run_metrics
from metrics.scope import Scope
from metrics.spec import MetricSpec, ModelSpec, SpecError

FOLDERS = ("metrics/models", "metrics/definitions")


class DiffError(RuntimeError):
    """The diff cannot run (git or the revision is missing); the message says what to do."""


@dataclass
class MetricDiff:
    name: str
    status: str  # unchanged | changed | added | removed | error
    definition_changed: bool = False
    error: str | None = None
    periods: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "definition_changed": self.definition_changed,
            "error": self.error,
            "periods": self.periods,
        }


def _git(root: Path, *args: str) -> str:
    try:
        proc = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, check=False)
    except FileNotFoundError as exc:
        raise DiffError("git is not installed; `metrics diff` reads the definitions of a revision from git") from exc
    if proc.returncode != 0:
        raise DiffError(f"git {' '.join(args)}: {proc.stderr.strip() or 'failed'}")
    return proc.stdout


def checkout_definitions(root: Path, rev: str, into: Path) -> str:
    """Write metrics/models and metrics/definitions as they are at `rev` into `into`; returns the commit id."""
    commit = _git(root, "rev-parse", "--verify", f"{rev}^{{commit}}").strip()
    for folder in FOLDERS:
        target = into / Path(folder).name
        target.mkdir(parents=True, exist_ok=True)
        for path in _git(root, "ls-tree", "--name-only", commit, f"{folder}/").split():
            if path.endswith(".yml"):
                (target / Path(path).name).write_text(_git(root, "show", f"{commit}:{path}"), encoding="utf-8")
    return commit


def tolerant_catalog(models_dir: Path, definitions_dir: Path) -> tuple[Catalog, dict[str, str]]:
    """The catalog of a folder, leaving out (and reporting) each definition that does not load."""
    errors: dict[str, str] = {}
    models: dict[str, ModelSpec] = {}
    for path in sorted(models_dir.glob("*.yml")):
        try:
            models[path.stem] = parse_spec(ModelSpec, path)
        except SpecError as exc:
            errors[f"model {path.stem}"] = str(exc)
    metrics: dict[str, MetricSpec] = {}
    for path in sorted(definitions_dir.glob("*.yml")):
        try:
            metrics[path.stem] = parse_spec(MetricSpec, path)
        except SpecError as exc:
            errors[path.stem] = str(exc)
    while True:
        try:
            return Catalog(models, metrics), errors
        except SpecError as exc:
            bad = next((n for n, m in metrics.items() if m.source_file and m.source_file in str(exc)), None)
            if bad is None:
                raise
            errors[bad] = str(exc)
            metrics.pop(bad)


def _fingerprint(catalog: Catalog, name: str) -> str:
    metric = catalog.metric(name)
    parts = [metric.model_dump_json(exclude={"source_file"})]
    for base in catalog.base_metrics(name):
        parts.append(base.model_dump_json(exclude={"source_file"}))
        parts.append(catalog.models[base.model].model_dump_json(exclude={"source_file"}))
    return "\n".join(parts)


def _months(backend: Any, catalog: Catalog, metric: MetricSpec) -> tuple[dt.date, dt.date] | None:
    bases = [b for b in catalog.base_metrics(metric.name) if not b.snapshot]
    if not bases:
        return None
    base = bases[0]
    table = backend.table(catalog.models[base.model].table)
    hi = json_value(backend.execute(table[catalog.time_column(base)].cast("date").max()))
    if hi is None:
        return None
    end = dt.date.fromisoformat(str(hi)[:10])
    index = end.year * 12 + end.month - 1 - 11
    return dt.date(index // 12, index % 12 + 1, 1), end


def _values(backend, catalog: Catalog, name: str, ask: Ask, cfg: Settings) -> dict[Any, Any]:  # noqa: ANN001
    frame = run_metrics(backend, catalog, [name], ask, settings=cfg)
    if ask.grain is None:
        return {None: json_value(frame.iloc[0][name]) if len(frame) else None}
    return {row["period"]: json_value(row[name]) for row in frame.to_dict(orient="records")}


def _same(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9)


def compare_catalogs(
    before: Catalog, before_errors: dict[str, str], after: Catalog, backend: Any, cfg: Settings
) -> list[MetricDiff]:
    """Every metric of either catalog, run monthly over its last 12 months both ways."""
    calendar = BusinessCalendar.from_settings(cfg.business)
    out: list[MetricDiff] = []
    for name in sorted(set(before.metrics) | set(after.metrics) | {n for n in before_errors if " " not in n}):
        if name not in after.metrics:
            out.append(MetricDiff(name, "removed"))
            continue
        if name not in before.metrics:
            status = "error" if name in before_errors else "added"
            out.append(MetricDiff(name, status, True, before_errors.get(name)))
            continue
        metric = after.metric(name)
        span = _months(backend, after, metric)
        ask = Ask(Scope.all(), calendar=calendar)
        if span is not None:
            ask = Ask(Scope.all(), grain="month", start=span[0], end=span[1], calendar=calendar)
        changed_text = _fingerprint(before, name) != _fingerprint(after, name)
        try:
            old, new = _values(backend, before, name, ask, cfg), _values(backend, after, name, ask, cfg)
        except Exception as exc:  # noqa: BLE001 - one metric's failure is reported, the others still run
            out.append(MetricDiff(name, "error", changed_text, f"{type(exc).__name__}: {exc}"))
            continue
        periods = []
        for period in sorted(set(old) | set(new), key=lambda p: (p is None, p)):
            a, b = old.get(period), new.get(period)
            if _same(a, b):
                continue
            delta = None if a is None or b is None else float(b) - float(a)
            pct = None if delta is None or float(a) == 0 else delta / abs(float(a))
            periods.append(
                {
                    "period": json_value(period),
                    "period_label": calendar.period_label(period, "month") if period else "total",
                    "before": a,
                    "after": b,
                    "delta": delta,
                    "delta_pct": pct,
                }
            )
        out.append(MetricDiff(name, "changed" if periods else "unchanged", changed_text, None, periods))
    return out


def _print_table(diffs: list[MetricDiff], catalog: Catalog, rev: str, commit: str, cfg: Settings, out: TextIO) -> None:
    moved = [d for d in diffs if d.status != "unchanged"]
    print(f"metric definitions at {rev} ({commit[:12]}) → working tree: {len(moved)} of {len(diffs)} differ", file=out)
    for d in diffs:
        note = " (definition edited, numbers unchanged)" if d.status == "unchanged" and d.definition_changed else ""
        print(f"{d.name:<24} {d.status}{note}", file=out)
        if d.error:
            print(f"    {d.error}", file=out)
        fmt = catalog.metrics[d.name].format if d.name in catalog.metrics else "number"
        for p in d.periods:
            before = format_value(p["before"], fmt, currency=cfg.business.currency)
            after = format_value(p["after"], fmt, currency=cfg.business.currency)
            print(f"    {p['period_label']:<8} {before} → {after}  {format_delta_pct(p['delta_pct'])}", file=out)


def run_diff(
    rev: str = "HEAD",
    fmt: str = "table",
    *,
    root: Path = PROJECT_ROOT,
    current: Catalog | None = None,
    cfg: Settings | None = None,
    snapshot: Snapshot | None = None,
    out: TextIO = sys.stdout,
) -> int:
    """Print how every metric moves between the definitions at `rev` and now. 0 unless it cannot run."""
    cfg = cfg or settings()
    current = current or load_catalog()
    snapshot = snapshot or current_snapshot(cfg.data_dir)
    try:
        with tempfile.TemporaryDirectory(prefix="metrics-diff-") as tmp:
            commit = checkout_definitions(root, rev, Path(tmp))
            before, errors = tolerant_catalog(Path(tmp) / "models", Path(tmp) / "definitions")
    except DiffError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    cursor = snapshot.cursor()
    try:
        diffs = compare_catalogs(before, errors, current, ibis.duckdb.from_connection(cursor), cfg)
    finally:
        cursor.close()
    if fmt == "json":
        body = {
            "rev": rev,
            "commit": commit,
            "snapshot_id": snapshot.id,
            "scope": "all",
            "errors": {k: v for k, v in errors.items() if k not in {d.name for d in diffs}},
            "metrics": [d.to_json() for d in diffs],
        }
        json.dump(body, out, ensure_ascii=False, indent=2)
        print(file=out)
    else:
        _print_table(diffs, current, rev, commit, cfg, out)
    return 0
