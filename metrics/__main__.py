"""`python -m metrics list|query|diff` — the commands, JSON and exit codes of CONTRACTS.md.

Exit codes: 0 done; 2 usage error (unknown metric, dimension not allowed — the message lists what is
allowed); 1 anything else (no snapshot yet, database error), with a message a user can act on.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import sys
from zoneinfo import ZoneInfo

from core.config import ConfigError, settings
from core.warehouse import NoSnapshotError
from metrics.compiler import QueryError
from metrics.formatting import format_change, format_delta_pct, format_value
from metrics.query import COMPARES, QueryResult, query
from metrics.scope import Scope
from metrics.spec import SpecError, load_catalog


class UsageError(Exception):
    pass


def _parse_where(items: list[str]) -> dict[str, list[str]]:
    where: dict[str, list[str]] = {}
    for item in items:
        if "=" not in item:
            raise UsageError(f"--where {item!r}: expected DIM=VALUE")
        dim, value = item.split("=", 1)
        values = next(csv.reader([value], skipinitialspace=True)) if value.startswith('"') else [value]
        where.setdefault(dim.strip(), []).extend(v.strip() for v in values)
    return where


def _parse_params(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        if "=" not in item:
            raise UsageError(f"--param {item!r}: expected NAME=VALUE")
        name, value = item.split("=", 1)
        out[name.strip()] = value
    return out


def _date(text: str | None, flag: str) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise UsageError(f"{flag} {text!r}: expected a date YYYY-MM-DD") from exc


def scope_for_user(username: str | None) -> Scope:
    """The operator's full scope, or exactly the named user's scope from the users file."""
    if username is None:
        return Scope.all()
    from auth.users import UnknownUserError, load_users

    try:
        return load_users(settings()).get(username).scope
    except UnknownUserError as exc:
        raise UsageError(str(exc)) from exc


def _cmd_list(args: argparse.Namespace) -> int:
    catalog = load_catalog()
    rows = []
    for name in sorted(catalog.metrics):
        m = catalog.metrics[name]
        rows.append(
            {
                "name": name,
                "label": {"zh": m.label.zh, "en": m.label.en},
                "description": {"zh": m.description.zh, "en": m.description.en},
                "type": m.type,
                "format": m.format,
                "direction": m.direction,
                "owner": m.owner,
                "dimensions": catalog.allowed_dimensions(name),
                "hierarchies": catalog.hierarchies(name),
                "params": {
                    k: {"default": p.default, "kind": p.kind, "description": p.description} for k, p in m.params.items()
                },
                "portable": m.portable,
            }
        )
    if args.format == "json":
        json.dump({"metrics": rows}, sys.stdout, ensure_ascii=False, indent=2)
        print()
        return 0
    for r in rows:
        print(f"{r['name']:<22} {r['label']['zh']} / {r['label']['en']}  [{r['type']}, {r['format']}]")
        print(f"    口径: {r['description']['zh']}")
        print(f"    by: {', '.join(r['dimensions'])}")
        if r["params"]:
            defaults = ", ".join(f"{k}={p['default']}" for k, p in r["params"].items())
            print(f"    params: {defaults}")
    return 0


def _csv_value(value, fmt: str | None):  # noqa: ANN001, ANN202
    if value is None:
        return ""
    if isinstance(value, str):
        # A label like "=HYPERLINK(...)" must stay text when the CSV is opened in a spreadsheet.
        return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
    if fmt is None:
        return value
    places = {"money": 2, "percent": 4, "days": 2, "number": 4, "count": 0}.get(fmt, 4)
    return round(float(value), places) if places else int(round(float(value)))


def _emit(result: QueryResult, fmt: str, lang: str, currency: str, timezone: str = "UTC") -> None:
    if fmt == "json":
        json.dump(result.to_json(), sys.stdout, ensure_ascii=False, indent=2)
        print()
        return
    columns = result.columns()
    rows = result.records()
    if fmt == "csv":
        writer = csv.writer(sys.stdout)
        writer.writerow([c["name"] for c in columns])
        for row in rows:
            writer.writerow([_csv_value(row[c["name"]], c["format"]) for c in columns])
        return
    synced = result.as_of.astimezone(ZoneInfo(timezone)) if result.as_of.tzinfo else result.as_of
    print(f"as of {synced:%Y-%m-%d %H:%M} {timezone} · snapshot {result.snapshot_id} · scope {result.scope.label}")
    cells = [[c["name"] for c in columns]]
    for row in rows:
        line = []
        for c in columns:
            value = row[c["name"]]
            if "__delta_pct" in c["name"]:
                line.append(format_delta_pct(value))
            elif "__delta" in c["name"] and c["format"]:
                line.append(format_change(value, c["format"], lang=lang, currency=currency))
            elif c["format"]:
                line.append(format_value(value, c["format"], lang=lang, currency=currency))
            else:
                line.append("" if value is None else str(value))
        cells.append(line)
    widths = [max(len(str(r[i])) for r in cells) for i in range(len(columns))]
    for i, line in enumerate(cells):
        print(
            "  ".join(
                str(v).ljust(w) if j < len(line) - 0 else str(v)
                for j, (v, w) in enumerate(zip(line, widths, strict=True))
            )
        )
        if i == 0:
            print("  ".join("-" * w for w in widths))


def _cmd_query(args: argparse.Namespace) -> int:
    cfg = settings()
    names = [n.strip() for n in args.metrics.split(",") if n.strip()]
    by = [d.strip() for d in (args.by or "").split(",") if d.strip()]
    result = query(
        names,
        scope_for_user(args.as_user),
        by=by,
        grain=args.grain,
        start=_date(args.start, "--from"),
        end=_date(args.end, "--to"),
        where=_parse_where(args.where or []),
        compare=tuple(args.compare or ()),
        params=_parse_params(args.param or []),
        settings=cfg,
    )
    _emit(result, args.format, args.lang, cfg.business.currency, cfg.business.timezone)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m metrics", description="Governed sales metrics.")
    sub = parser.add_subparsers(dest="command", required=True)
    p_list = sub.add_parser("list", help="every metric with its labels, 口径, type and dimensions")
    p_list.add_argument("--format", choices=("table", "json"), default="table")
    p_query = sub.add_parser("query", help="answer metrics, optionally by dimensions and period")
    p_query.add_argument("metrics", help="METRIC[,METRIC...]")
    p_query.add_argument("--by")
    p_query.add_argument(
        "--grain", choices=("day", "week", "month", "quarter", "year", "fiscal_quarter", "fiscal_year")
    )
    p_query.add_argument("--from", dest="start")
    p_query.add_argument("--to", dest="end")
    p_query.add_argument("--where", action="append")
    p_query.add_argument("--compare", action="append", choices=COMPARES)
    p_query.add_argument("--param", action="append")
    p_query.add_argument("--as-user", dest="as_user")
    p_query.add_argument("--format", choices=("table", "csv", "json"), default="table")
    p_query.add_argument("--lang", choices=("zh", "en"), default="zh")
    p_diff = sub.add_parser("diff", help="how every metric's numbers move between definitions at REV and now")
    p_diff.add_argument("rev", nargs="?", default="HEAD")
    p_diff.add_argument("--format", choices=("table", "json"), default="table")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return 2 if exc.code else 0
    try:
        if args.command == "list":
            return _cmd_list(args)
        if args.command == "diff":
            from metrics.diff import run_diff

            return run_diff(args.rev, args.format)
        return _cmd_query(args)
    except (UsageError, QueryError, KeyError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
        print(f"error: {message}", file=sys.stderr)
        return 2
    except NoSnapshotError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except (ConfigError, SpecError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        raise  # the reader stopped early (`| head`); `core.cli.run_main` ends quietly
    except Exception as exc:  # noqa: BLE001 - a message a user can act on, never a traceback
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    from core.cli import run_main

    run_main(main)
