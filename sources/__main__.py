"""`python -m sources sync|check|import` — the commands and JSON of CONTRACTS.md."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import duckdb

from core.appstate import AppState
from core.config import ENTITIES, ConfigError, Settings, Source, settings
from sources.sync import SourceOutcome, run_sync


def _print_table(report: dict, out=sys.stdout) -> None:  # noqa: ANN001
    print(f"snapshot: {report.get('snapshot_id') or '(none)'}", file=out)
    header = f"{'source':<24}{'status':<11}{'read':>9}{'loaded':>9}{'rejected':>9}{'superseded':>11}{'skipped':>9}"
    print(header, file=out)
    for s in report["sources"]:
        print(
            f"{s['name']:<24}{s['status']:<11}{s['rows_read']:>9,}{s['rows_loaded']:>9,}{s['rows_rejected']:>9,}"
            f"{s['rows_superseded']:>11,}{s.get('rows_skipped', 0):>9,}",
            file=out,
        )
        if s.get("error"):
            print(f"    error: {s['error']}", file=out)
        for issue in s["issues"]:
            print(f"    {issue['kind']}: {issue['detail']} ({issue['count']:,})", file=out)
        if s.get("mapping"):
            print(
                f"    encoding {s.get('encoding')}, delimiter {s.get('delimiter')!r}, header on line "
                f"{s.get('header_row')}",
                file=out,
            )
            for field, column in s["mapping"].items():
                print(f"      {field:<18} ← {column}", file=out)
            for line in s.get("rejected_sample", [])[:5]:
                print(f"    rejected line {line['line']}: {line['reason']}", file=out)


def _emit(report: dict, fmt: str) -> None:
    if fmt == "json":
        json.dump(report, sys.stdout, ensure_ascii=False, indent=2, default=str)
        print()
    else:
        _print_table(report)


def _cmd_sync(args: argparse.Namespace) -> int:
    cfg = settings()
    report = run_sync(cfg, [args.source] if args.source else None)
    _emit(report.as_dict(), args.format)
    return 0 if report.ok else 1


def _file_source(args: argparse.Namespace, entity: str) -> Source:
    path = Path(args.file).resolve()
    name = args.source or _slug(path.stem)
    return Source(name=name, kind="file", entity=entity, path=path, sheet=args.sheet, schedule="manual")


def _slug(stem: str) -> str:
    import re

    from sources.keys import normalise_key

    ascii_part = re.sub(r"[^a-z0-9]+", "_", stem.lower()).strip("_")
    if not ascii_part or not ascii_part[0].isalpha():
        ascii_part = "file_" + (ascii_part or normalise_key(stem).encode().hex()[:12])
    return ascii_part[:60]


def _detect_entity(args: argparse.Namespace) -> str:
    if args.as_entity:
        return args.as_entity
    from sources.files.raw import read_raw
    from sources.files.structure import find_header, guess_entity

    with tempfile.TemporaryDirectory() as tmp:
        con = duckdb.connect()
        read_raw(con, Path(args.file), "probe", sheet=args.sheet, workdir=Path(tmp))
        rows = [
            (list(r[:-1]), r[-1])
            for r in con.execute("SELECT * EXCLUDE (_line), _line FROM probe ORDER BY _line LIMIT 60").fetchall()
        ]
        header = find_header(rows, None)
        entity, score = guess_entity(header.cells)
        if score == 0:
            raise ValueError(
                f"cannot tell which entity {Path(args.file).name} holds from its columns "
                f"({', '.join(c for c in header.cells if c)}); pass --as ENTITY ({', '.join(ENTITIES)})"
            )
        return entity


def check_file(
    cfg: Settings, file: Path | str, *, entity: str | None = None, sheet: str | None = None, source: str | None = None
) -> dict:
    """What `python -m sources check` reports for a file (the import JSON, status `checked`); writes nothing.

    With `source` naming a configured source, the file is read with that source's mapping and options, as an
    import under that name would read it. The data-health page's upload calls this.
    """
    from sources.sync import _load_one

    args = argparse.Namespace(file=str(file), as_entity=entity, sheet=sheet, source=source)
    entity = _detect_entity(args)
    spec = _file_source(args, entity)
    if any(s.name == spec.name for s in cfg.sources):
        configured = cfg.source(spec.name)
        spec = configured.model_copy(update={"path": spec.path, "sheet": sheet or configured.sheet})
    outcome = SourceOutcome(spec.name, entity)
    with tempfile.TemporaryDirectory() as tmp:
        con = duckdb.connect(str(Path(tmp) / "check.duckdb"))
        con.execute(
            "CREATE TABLE _source_state (name VARCHAR PRIMARY KEY, entity VARCHAR, kind VARCHAR, "
            "fingerprint VARCHAR, config_hash VARCHAR, last_success_at TIMESTAMP, rows BIGINT)"
        )
        con.execute("CREATE TABLE _state (key VARCHAR PRIMARY KEY, value VARCHAR)")
        # The source's last good load, so that the check blocks what the import would block (an empty file).
        last = AppState(cfg.data_dir).last_published(spec.name)
        if last and last.get("rows_loaded"):
            con.execute(
                "INSERT INTO _source_state VALUES (?, ?, ?, NULL, NULL, NULL, ?)",
                [spec.name, spec.entity, spec.kind, last["rows_loaded"]],
            )
        try:
            _load_one(con, cfg, spec, outcome, Path(tmp))
            if outcome.status == "published":
                outcome.status = "checked"
        except Exception as exc:  # noqa: BLE001 - reported to the user
            outcome.status = "failed"
            outcome.error = str(exc)
        con.close()
    outcome.details.pop("_rejects", None)
    return outcome.as_dict(with_details=True)


def _cmd_check(args: argparse.Namespace) -> int:
    """Read the file exactly as a sync would, in a throw-away staging database, and report; writes nothing."""
    report = check_file(settings(), args.file, entity=args.as_entity, sheet=args.sheet)
    _emit(report if args.format == "json" else {"snapshot_id": None, "sources": [report]}, args.format)
    return 0 if report["status"] == "checked" else 1


def import_file(
    cfg: Settings, file: Path | str, *, entity: str | None = None, sheet: str | None = None, source: str | None = None
) -> dict:
    """`python -m sources import`: load a file as a source (named after it, or `source`) and publish.

    Importing again under the same source name replaces that source's rows. Returns the import JSON. The inbox
    worker (files uploaded on the data-health page) calls this.
    """
    args = argparse.Namespace(file=str(file), as_entity=entity, sheet=sheet, source=source)
    entity = _detect_entity(args)
    spec = _file_source(args, entity)
    configured = any(s.name == spec.name for s in cfg.sources)
    if configured:
        base = cfg.source(spec.name)
        spec = base.model_copy(update={"path": spec.path, "sheet": sheet or base.sheet})
    else:
        AppState(cfg.data_dir).save_ad_hoc_source(spec.name, json.loads(spec.model_dump_json()))
    report = run_sync(cfg, [spec.name], extra=[spec] if configured else None)
    outcome = next(s for s in report.sources if s.name == spec.name)
    outcome.details.pop("_rejects", None)
    return {"snapshot_id": report.snapshot_id, **outcome.as_dict(with_details=True)}


def _cmd_import(args: argparse.Namespace) -> int:
    data = import_file(settings(), args.file, entity=args.as_entity, sheet=args.sheet, source=args.source)
    _emit(data if args.format == "json" else {"snapshot_id": data["snapshot_id"], "sources": [data]}, args.format)
    return 0 if data["status"] in ("published", "unchanged") else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sources", description="Load, check and import sales data.")
    sub = parser.add_subparsers(dest="command", required=True)
    p_sync = sub.add_parser("sync", help="sync every configured source (or one) and publish a snapshot")
    p_sync.add_argument("--source")
    p_sync.add_argument("--format", choices=("table", "json"), default="table")
    for name, helptext in (
        ("check", "read a file and report, writing nothing"),
        ("import", "load a file as a source and publish"),
    ):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("file")
        p.add_argument("--as", dest="as_entity", choices=ENTITIES)
        p.add_argument("--sheet")
        p.add_argument("--format", choices=("table", "json"), default="table")
        if name == "import":
            p.add_argument("--source")
        else:
            p.set_defaults(source=None)
    args = parser.parse_args(argv)
    try:
        handler = {"sync": _cmd_sync, "check": _cmd_check, "import": _cmd_import}[args.command]
        return handler(args)
    except (ConfigError, KeyError, ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, KeyError) else 1


if __name__ == "__main__":
    from core.cli import run_main

    run_main(main)
