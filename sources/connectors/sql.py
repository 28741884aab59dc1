"""The database connector: one table of a CRM or ERP database, read through a SQLAlchemy URL with dlt.

```yaml
- name: sf_opportunities
  kind: sql
  url: postgresql://reader:${CRM_DB_PASSWORD}@db.internal:5432/crm   # the password from the environment
  table: opportunity
  entity: opportunities
  mapping: {opportunity_id: id, stage: stage_name, amount: amount, close_date: close_date}
  options:
    schema: salesforce        # the database schema, when not the default one
    cursor: updated_at        # only rows whose updated_at moved since the last sync are read
    primary_key: id           # or a list; default: the table's own primary key
    deleted_flag: is_deleted  # rows the source marks deleted leave the published data (rows_deleted)
```

dlt's `sql_table` reads the table with `dlt.sources.incremental(cursor)` and merges on the primary key into the
source's replica (see `dlt_common`). A row deleted outright (not flagged) cannot be seen through an updated-at
cursor: it stays in the published data until the source flags it. Leave `cursor` out to read the whole table on
every sync instead: dlt then replaces the copy (write disposition `replace`), and rows no longer there leave the
published data and are counted in `rows_deleted` — right for tables small enough to read in full each time.

Before anything is read the table is reflected, so a wrong URL, table, key, cursor or mapped column fails the
source with a message that names it and what to fix; the other sources still publish.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from core.config import Source
from sources.canonical import normalise_header
from sources.connectors.base import Extract, register
from sources.connectors.dlt_common import (
    Replica,
    SourceError,
    fingerprint_of,
    hide,
    pipeline_for,
    remember_keys,
    replica_to_canonical,
    run_pipeline,
    unwrap,
)
from sources.load import LoadContext

OPTIONS = ("schema", "cursor", "primary_key", "deleted_flag", "date_order")
CONNECT_TIMEOUT_S = 10


@dataclass(frozen=True)
class SqlOptions:
    schema: str | None
    cursor: str | None
    primary_key: list[str]
    deleted_flag: str | None


def _options(source: Source) -> SqlOptions:
    unknown = sorted(set(source.options) - set(OPTIONS))
    if unknown:
        raise SourceError(
            f"{source.name}: unknown option(s) {', '.join(unknown)}; a sql source takes {', '.join(OPTIONS)}"
        )
    if not source.table:
        raise SourceError(f"{source.name}: a sql source needs `table:` (the table to read)")
    key = source.options.get("primary_key") or []
    return SqlOptions(
        schema=source.options.get("schema"),
        cursor=source.options.get("cursor"),
        primary_key=[key] if isinstance(key, str) else [str(k) for k in key],
        deleted_flag=source.options.get("deleted_flag"),
    )


def _password(source: Source) -> str | None:
    try:
        return make_url(source.url or "").password
    except sa.exc.ArgumentError:
        return None


def _where(source: Source) -> str:
    """The URL as shown in messages: never with its password."""
    try:
        return make_url(source.url or "").render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return "(not a URL)"


def _engine(source: Source) -> Engine:
    try:
        url = make_url(source.url or "")
    except sa.exc.ArgumentError:
        raise SourceError(
            f"{source.name}: `url` is not a SQLAlchemy URL (e.g. postgresql://user:${{PASSWORD}}@host:5432/db)"
        ) from None
    connect_args = {"connect_timeout": CONNECT_TIMEOUT_S} if url.get_backend_name() in ("postgresql", "mysql") else {}
    try:
        return sa.create_engine(url, connect_args=connect_args)
    except (sa.exc.NoSuchModuleError, ModuleNotFoundError) as exc:
        raise SourceError(f"{source.name}: no database driver for {url.drivername} ({exc}); install it") from None


def _reflect(engine: Engine, source: Source, opts: SqlOptions) -> sa.Table:
    """The source's table, checked: it exists, has a key, and has every column the configuration names."""
    where = _where(source)
    try:
        with engine.connect():
            pass
    except sa.exc.OperationalError as exc:
        reason = hide(str(getattr(exc, "orig", exc)).strip().splitlines()[0], _password(source))
        raise SourceError(
            f"{source.name}: cannot connect to {where}: {reason}. Check the url (host, port, database, user; the "
            "password comes from its ${...} variable) and that the database server is running"
        ) from None
    metadata = sa.MetaData(schema=opts.schema)
    try:
        table = sa.Table(source.table, metadata, autoload_with=engine)
    except sa.exc.NoSuchTableError:
        try:
            names = sa.inspect(engine).get_table_names(schema=opts.schema)
        except sa.exc.SQLAlchemyError:
            names = []
        where_in = f"schema {opts.schema!r}" if opts.schema else "the default schema"
        listed = ", ".join(sorted(names)[:30]) or "none"
        raise SourceError(
            f"{source.name}: table {source.table!r} not found in {where_in} of {where}; tables there: {listed}. "
            "Fix `table:` (or `options.schema`)"
        ) from None
    columns = [c.name for c in table.columns]
    listed = ", ".join(columns)
    keys = opts.primary_key or [c.name for c in table.primary_key.columns]
    if not keys:
        raise SourceError(
            f"{source.name}: table {source.table!r} has no primary key, so changed rows cannot be merged; set "
            f"`options.primary_key` to the column(s) that identify a row (columns: {listed})"
        )
    named = {"options.primary_key": keys, "options.cursor": [opts.cursor], "options.deleted_flag": [opts.deleted_flag]}
    for option, values in named.items():
        for value in values:
            if value and value not in columns:
                raise SourceError(
                    f"{source.name}: {option} names {value!r}, which table {source.table!r} does not have; "
                    f"columns: {listed}"
                )
    present = {normalise_header(c) for c in columns}
    for name, column in source.mapping.items():
        if normalise_header(column) not in present:
            raise SourceError(
                f"{source.name}: mapping {name}: {column!r} is not a column of table {source.table!r}; columns: {listed}"
            )
    return table


class SqlConnector:
    """Reads one database table incrementally (dlt `sql_table`, merge on the primary key)."""

    kind = "sql"

    def fingerprint(self, source: Source) -> str | None:
        """Row count and newest cursor value: equal to the last sync's means nothing changed (no cursor: None)."""
        opts = _options(source)
        if not opts.cursor:
            return None
        engine = _engine(source)
        try:
            table = _reflect(engine, source, opts)
            cursor = table.c[opts.cursor]
            with engine.connect() as db:
                count, newest = db.execute(sa.select(sa.func.count(), sa.func.max(cursor))).one()
        finally:
            engine.dispose()
        return "sql-1:" + fingerprint_of(source.table, opts.schema, count, newest)

    def extract(
        self, con: duckdb.DuckDBPyConnection, source: Source, ctx: LoadContext, out_table: str, workdir: Path
    ) -> Extract:
        opts = _options(source)
        engine = _engine(source)
        try:
            table = _reflect(engine, source, opts)
            keys = opts.primary_key or [c.name for c in table.primary_key.columns]
            naming = _naming()
            spec = Replica(
                label=source.table or "",
                key_columns=[naming(k) for k in keys],
                cursor=opts.cursor,
                deleted_flag=naming(opts.deleted_flag) if opts.deleted_flag else None,
                display={naming(c.name): c.name for c in table.columns},
            )
            identity = {"url": _where(source), "schema": opts.schema, "table": source.table, "key": keys}
            identity["cursor"] = opts.cursor
            pipeline, replica = pipeline_for(source, workdir, identity)
            if not opts.cursor:
                remember_keys(con, source, replica, spec)
            run = run_pipeline(pipeline, self._resource(engine, table, keys, opts), replaced=not opts.cursor)
        except SourceError:
            raise
        except Exception as exc:  # noqa: BLE001 - dlt wraps the real cause; report it without secrets
            root = unwrap(exc)
            raise SourceError(
                f"{source.name}: reading table {source.table!r} from {_where(source)} failed: "
                + hide(f"{type(root).__name__}: {root}", _password(source))[:500]
            ) from None
        finally:
            engine.dispose()
        extract = replica_to_canonical(con, source, ctx, out_table, replica, run, spec)
        extract.details.update({"url": _where(source), "schema": opts.schema, "primary_key": keys})
        return extract

    @staticmethod
    def _resource(engine: Engine, table: sa.Table, keys: list[str], opts: SqlOptions) -> Any:
        import dlt
        from dlt.sources.sql_database import sql_table

        from sources.connectors.dlt_common import DLT_TABLE

        incremental = (
            # Rows without a cursor value are read on every sync: nothing else can tell whether they changed.
            dlt.sources.incremental(opts.cursor, on_cursor_value_missing="include") if opts.cursor else None
        )
        return sql_table(
            credentials=engine,
            table=table.name,
            schema=opts.schema,
            metadata=table.metadata,
            incremental=incremental,
            primary_key=keys,
            # With a cursor, changed rows are merged in; without one, each sync's whole read replaces the copy,
            # which is how rows deleted outright (not flagged) leave the published data.
            write_disposition="merge" if opts.cursor else "replace",
            reflection_level="full",
        ).with_name(DLT_TABLE)


def _naming() -> Any:
    """dlt's column naming (snake_case): how a source column is called in the replica."""
    from dlt.common.normalizers.naming.snake_case import NamingConvention

    return NamingConvention().normalize_identifier


register(SqlConnector())
