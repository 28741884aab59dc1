"""The API connector: one paginated JSON endpoint of a CRM or SaaS API, read with dlt's `rest_api`.

```yaml
- name: crm_deals
  kind: rest
  url: https://crm.example.com/api/v2/deals
  entity: opportunities
  mapping: {opportunity_id: id, stage: stage, amount: amount, rep: owner.name}   # nested fields with dots
  options:
    results_path: data                 # where the records are in each page (a JSONPath); default: guessed
    pagination: {type: page_number, base_page: 1, page_param: page, total_path: total_pages}   # or a type name
    params: {per_page: 100}            # fixed query parameters
    incremental_param: updated_since   # the query parameter that asks for records changed since...
    cursor: updated_at                 # ...the newest value of this field seen so far
    initial_value: "2020-01-01T00:00:00Z"   # the first sync's `updated_since` (default: none sent)
    primary_key: id                    # default: id
    deleted_flag: archived             # records the API marks deleted leave the published data
    auth_secret: CRM_API_TOKEN         # the secret's name (environment or .streamlit/secrets.toml), never the token
    auth_header: Authorization         # default: Authorization
    auth_scheme: Bearer                # default: Bearer; "" sends the secret as it is (an API key header)
```

`pagination` takes dlt's paginator types: `page_number`, `offset`, `cursor`, `json_link` (a next URL in the
body), `header_link` (a `Link: rel="next"` header), `single_page` or `auto`, either by name (dlt's defaults) or as
a mapping of that paginator's settings. dlt keeps the cursor and merges on the primary key into the source's
replica (see `dlt_common`). Records deleted outright are invisible to a cursor, so an API should flag them;
without `cursor` every sync reads every page and replaces the copy, and records no longer listed are deleted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import duckdb

from core.config import Source
from core.secrets import secret
from sources.connectors.base import Extract, register
from sources.connectors.dlt_common import (
    DLT_TABLE,
    Replica,
    SourceError,
    hide,
    pipeline_for,
    remember_keys,
    replica_to_canonical,
    run_pipeline,
    unwrap,
)
from sources.load import LoadContext

OPTIONS = (
    "results_path",
    "pagination",
    "params",
    "incremental_param",
    "cursor",
    "initial_value",
    "primary_key",
    "deleted_flag",
    "auth_secret",
    "auth_header",
    "auth_scheme",
    "date_order",
)
PAGINATORS = ("page_number", "offset", "cursor", "json_link", "header_link", "header_cursor", "single_page", "auto")


def _check(source: Source) -> dict[str, Any]:
    opts = dict(source.options)
    unknown = sorted(set(opts) - set(OPTIONS))
    if unknown:
        raise SourceError(
            f"{source.name}: unknown option(s) {', '.join(unknown)}; a rest source takes {', '.join(OPTIONS)}"
        )
    pagination = opts.get("pagination")
    kind = pagination.get("type") if isinstance(pagination, dict) else pagination
    if pagination is not None and kind not in PAGINATORS:
        raise SourceError(f"{source.name}: options.pagination type {kind!r} is not one of {', '.join(PAGINATORS)}")
    if bool(opts.get("incremental_param")) != bool(opts.get("cursor")):
        raise SourceError(
            f"{source.name}: set options.incremental_param (the query parameter) and options.cursor (the record "
            "field) together, or neither (then every sync reads everything)"
        )
    if opts.get("auth_secret") and not secret(str(opts["auth_secret"])):
        raise SourceError(
            f"{source.name}: the secret {opts['auth_secret']!r} (options.auth_secret) is not set; set it in the "
            "environment or in .streamlit/secrets.toml"
        )
    return opts


def _config(source: Source, opts: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """dlt's rest_api configuration of the source, and its primary key."""
    parts = urlsplit(source.url or "")
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SourceError(f"{source.name}: `url` must be an http(s) URL of the endpoint, got {source.url!r}")
    params: dict[str, Any] = dict(parse_qsl(parts.query))
    params.update(opts.get("params") or {})
    key = opts.get("primary_key") or "id"
    keys = [key] if isinstance(key, str) else list(key)
    endpoint: dict[str, Any] = {"path": parts.path or "/", "params": params}
    if opts.get("results_path"):
        endpoint["data_selector"] = opts["results_path"]
    pagination = opts.get("pagination")
    if pagination is not None:
        endpoint["paginator"] = pagination if isinstance(pagination, dict) else {"type": pagination}
    if opts.get("cursor"):
        endpoint["incremental"] = {
            "start_param": opts["incremental_param"],
            "cursor_path": opts["cursor"],
            "initial_value": opts.get("initial_value"),
            "on_cursor_value_missing": "include",
        }
    client: dict[str, Any] = {"base_url": urlunsplit((parts.scheme, parts.netloc, "", "", ""))}
    if opts.get("auth_secret"):
        scheme = opts.get("auth_scheme", "Bearer")
        token = secret(str(opts["auth_secret"])) or ""
        client["auth"] = {
            "type": "api_key",
            "name": opts.get("auth_header") or "Authorization",
            "api_key": f"{scheme} {token}".strip() if scheme else token,
            "location": "header",
        }
    resource: dict[str, Any] = {
        "name": DLT_TABLE,
        "endpoint": endpoint,
        "primary_key": keys,
        # With a cursor, changed records are merged in; without one, each sync's whole read replaces the copy,
        # so records the API no longer lists leave the published data.
        "write_disposition": "merge" if opts.get("cursor") else "replace",
    }
    if opts.get("cursor"):
        # The same record twice in one sync (it changed while the pages were read): the newest one is kept.
        resource["columns"] = {_naming()(opts["cursor"]): {"dedup_sort": "desc"}}
    return {"client": client, "resources": [resource]}, keys


def _explain(source: Source, exc: BaseException, token: str | None) -> str:
    """A failed API read, in words a user can act on."""
    import requests

    root = unwrap(exc)
    if isinstance(root, requests.HTTPError) and root.response is not None:
        status = root.response.status_code
        hint = {
            401: "check the secret named in options.auth_secret",
            403: "the credentials are not allowed to read this endpoint",
            404: "check `url`",
        }.get(status, "see the API's documentation")
        where = root.response.url.split("?")[0]
        return f"{source.name}: GET {where} answered {status} {root.response.reason}; {hint}"
    if isinstance(root, requests.ConnectionError):
        return f"{source.name}: cannot reach {source.url}: check `url` and that the API is up"
    return f"{source.name}: reading {source.url} failed: " + hide(f"{type(root).__name__}: {root}", token)[:500]


class RestConnector:
    """Reads one JSON endpoint page by page, incrementally (dlt `rest_api`, merge on the primary key)."""

    kind = "rest"

    def fingerprint(self, source: Source) -> str | None:
        """None: an API offers no cheap fingerprint; every sync asks for what changed since the cursor."""
        return None

    def extract(
        self, con: duckdb.DuckDBPyConnection, source: Source, ctx: LoadContext, out_table: str, workdir: Path
    ) -> Extract:
        opts = _check(source)
        config, keys = _config(source, opts)
        token = secret(str(opts["auth_secret"])) if opts.get("auth_secret") else None
        identity = {k: opts.get(k) for k in ("results_path", "pagination", "params", "cursor", "incremental_param")}
        identity.update({"url": source.url, "key": keys})
        naming = _naming()
        spec = Replica(
            label=urlsplit(source.url or "").path or source.name,
            key_columns=[naming(k) for k in keys],
            cursor=opts.get("cursor"),
            deleted_flag=naming(opts["deleted_flag"]) if opts.get("deleted_flag") else None,
            absent_is_empty=True,
            dotted=True,
        )
        whole = not opts.get("cursor")
        try:
            from dlt.sources.rest_api import rest_api_source

            pipeline, replica = pipeline_for(source, workdir, identity)
            if whole:
                remember_keys(con, source, replica, spec)
            data = rest_api_source(config, name=f"cockpit_{source.name}")
            # Text stays text: `sources.parse` reads times in the source's zone (dlt would take naive ones as UTC).
            data.schema.remove_type_detection("iso_timestamp")
            run = run_pipeline(pipeline, data, replaced=whole)
        except SourceError:
            raise
        except Exception as exc:  # noqa: BLE001 - dlt wraps the real cause; report it without secrets
            raise SourceError(_explain(source, exc, token)) from None
        extract = replica_to_canonical(con, source, ctx, out_table, replica, run, spec)
        extract.details.update({"url": source.url, "primary_key": keys})
        return extract


def _naming() -> Any:
    from dlt.common.normalizers.naming.snake_case import NamingConvention

    return NamingConvention().normalize_identifier


register(RestConnector())
