"""The API connector against a CRM-shaped JSON API that the test serves on loopback (paged, with `updated_since`).

The deals, worked out by hand: D01…D25, stage Won when i % 3 == 1 (D01, D04, … D25: nine deals), Lost when
i % 3 == 2, else Proposal; amount 1,000 × i; updated 2024-03-<i>T10:00:00Z. Three quirks are planted:
- D05's amount is the text "n/a" (rejected, with its reason and raw values);
- D10 is archived (the API's delete flag): it never reaches the published data and is counted in rows_deleted;
- D07 changed while the pages were read: the API lists it twice, the older copy (7,000) on page 1 and the newer
  (7,500, updated 2024-03-26T08:00Z) last, on page 3 — the newer one wins, the older counts as superseded.
So the first sync serves 26 records on 3 pages of 10, and won_amount = 117,000 − 10,000 (D10) − 7,000 + 7,500
= 107,500 over 8 won deals.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import duckdb
import pytest

from core.appstate import AppState
from tests.conftest import run_cli

TOKEN = "s3cret-token-for-tests"
PER_PAGE = 10


def _deal(i: int, **changes) -> dict:
    stage = {1: "Won", 2: "Lost", 0: "Proposal"}[i % 3]
    deal = {
        "id": f"D{i:02d}",
        "name": f"Deal {i}",
        "stage": stage,
        "amount": 1000.0 * i,
        "currency": "USD",
        "owner": {"name": ["Ann Lee", "Bo Chen", "Cy Park"][i % 3], "email": f"rep{i % 3}@crm.test"},
        "company": {"id": f"C{i % 5}", "name": f"Company {i % 5}"},
        "created_at": f"2024-02-{i:02d}T09:00:00Z",
        "close_date": f"2024-03-{i:02d}T10:00:00Z" if stage != "Proposal" else None,
        "updated_at": f"2024-03-{i:02d}T10:00:00Z",
        "archived": False,
    }
    deal.update(changes)
    return deal


class CrmApi:
    """The records the API holds, and every request it was sent (path and query)."""

    def __init__(self) -> None:
        self.records = [_deal(i) for i in range(1, 26)]
        self.records[4]["amount"] = "n/a"  # D05
        self.records[9]["archived"] = True  # D10
        self.records.append(_deal(7, amount=7500.0, updated_at="2024-03-26T08:00:00Z"))  # D07 again, newer
        self.requests: list[dict] = []

    def replace(self, record: dict) -> None:
        self.records = [r for r in self.records if r["id"] != record["id"]] + [record]

    def page(self, query: dict[str, list[str]]) -> tuple[int, dict]:
        since = query.get("updated_since", [""])[0]
        rows = sorted((r for r in self.records if r["updated_at"] >= since), key=lambda r: (r["updated_at"], r["id"]))
        page = int(query.get("page", ["1"])[0])
        size = int(query.get("per_page", [str(PER_PAGE)])[0])
        total_pages = max(1, -(-len(rows) // size))
        return 200, {
            "results": rows[(page - 1) * size : page * size],
            "paging": {"page": page, "total_pages": total_pages},
        }


@pytest.fixture
def crm_api():
    api = CrmApi()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the http.server hook
            parts = urlsplit(self.path)
            query = parse_qs(parts.query)
            api.requests.append({"path": parts.path, "query": {k: v[0] for k, v in query.items()}})
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                status, body = 401, {"error": "invalid token"}
            elif parts.path != "/api/v1/deals":
                status, body = 404, {"error": "no such endpoint"}
            else:
                status, body = api.page(query)
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):  # keep the test output quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    api.url = f"http://127.0.0.1:{server.server_address[1]}/api/v1/deals"
    yield api
    server.shutdown()
    server.server_close()


def _config(url: str) -> dict:
    return {
        "business": {"timezone": "Asia/Shanghai", "currency": "USD", "holidays": "none"},
        "stages": {"won": ["Won"], "lost": ["Lost"]},
        "sources": [
            {
                "name": "crm_deals",
                "kind": "rest",
                "url": url,
                "entity": "opportunities",
                "mapping": {
                    "opportunity_id": "id",
                    "opportunity_name": "name",
                    "stage": "stage",
                    "amount": "amount",
                    "currency": "currency",
                    "rep": "owner.name",
                    "customer_name": "company.name",
                    "created_date": "created_at",
                    "close_date": "close_date",
                    "updated_at": "updated_at",
                },
                "reject_threshold": 0.1,
                "schedule": "manual",
                "options": {
                    "results_path": "results",
                    "pagination": {
                        "type": "page_number",
                        "base_page": 1,
                        "page_param": "page",
                        "total_path": "paging.total_pages",
                    },
                    "params": {"per_page": PER_PAGE},
                    "incremental_param": "updated_since",
                    "cursor": "updated_at",
                    "initial_value": "2000-01-01T00:00:00Z",
                    "primary_key": "id",
                    "deleted_flag": "archived",
                    "auth_secret": "CRM_API_TOKEN",
                },
            }
        ],
    }


@pytest.fixture
def crm_env(crm_api, tmp_path):
    cfg = tmp_path / "crm.yml"
    cfg.write_text(json.dumps(_config(crm_api.url)), encoding="utf-8")
    home = tmp_path / "home"
    home.mkdir()
    env = {
        "COCKPIT_CONFIG": str(cfg),
        "COCKPIT_DATA_DIR": str(tmp_path / "data"),
        "CRM_API_TOKEN": TOKEN,
        "HOME": str(home),  # dlt must keep nothing in the home folder
    }
    return env, tmp_path


def _sync(env: dict) -> tuple[int, dict]:
    proc = run_cli("sources", "sync", "--format", "json", env=env, check=False)
    assert proc.stdout, proc.stderr
    return proc.returncode, json.loads(proc.stdout)["sources"][0]


def _won(env: dict, *extra: str) -> dict:
    out = json.loads(run_cli("metrics", "query", "won_deals,won_amount", *extra, "--format", "json", env=env).stdout)
    return out["rows"] if extra else out["rows"][0]


def _fetched(s: dict) -> int:
    """How many records came through the cursor this sync (the `fetched` issue)."""
    return next(i["count"] for i in s["issues"] if i["kind"] == "fetched")


def _accounted(s: dict) -> bool:
    return s["rows_read"] == s["rows_loaded"] + s["rows_rejected"] + s["rows_superseded"] + s["rows_skipped"]


def test_paged_api_loads_every_page_merges_the_repeated_deal_and_keeps_the_rejected_one(crm_api, crm_env):
    env, tmp = crm_env
    code, deals = _sync(env)
    assert code == 0 and deals["status"] == "published", deals
    # Three pages of ten asked for, each with the first sync's updated_since and the fixed per_page.
    assert [r["query"] for r in crm_api.requests] == [
        {"updated_since": "2000-01-01T00:00:00Z", "per_page": "10", "page": str(p)} for p in (1, 2, 3)
    ]
    # 26 records served: 1 archived (apart), 25 read = 23 loaded + 1 rejected (D05) + 1 superseded (old D07).
    assert (deals["rows_read"], deals["rows_loaded"], deals["rows_rejected"]) == (25, 23, 1)
    assert (deals["rows_superseded"], deals["rows_skipped"], deals["rows_deleted"]) == (1, 0, 1)
    assert _fetched(deals) == 26
    assert _accounted(deals)
    assert _won(env) == {"won_deals": 8, "won_amount": 107_500.0}
    # dlt's state and replica live under COCKPIT_DATA_DIR, nothing in the home folder.
    assert (tmp / "data" / "dlt" / "pipelines" / "cockpit_crm_deals").is_dir()
    assert (tmp / "data" / "dlt" / "crm_deals.duckdb").is_file()
    assert not any((tmp / "home").iterdir())
    # The rejected deal is kept with its reason and raw values, known by its key.
    state = AppState(tmp / "data")
    (reject,) = state.rejects(state.runs("crm_deals", limit=1)[0]["id"])
    assert (reject["file"], reject["line"]) == ("/api/v1/deals:D05", None)
    assert reject["reason"] == "amount: not an amount 'n/a'"
    assert reject["raw"]["id"] == "D05" and reject["raw"]["amount"] == "n/a"
    assert reject["raw"]["owner.name"] == "Cy Park"


def test_second_sync_asks_only_for_changes_since_the_cursor(crm_api, crm_env):
    env, tmp = crm_env
    _sync(env)
    crm_api.requests.clear()
    crm_api.replace(_deal(4, amount=4400.0, updated_at="2024-04-01T10:00:00Z"))  # Won deal re-priced: +400
    crm_api.replace(_deal(13, archived=True, updated_at="2024-04-01T11:00:00Z"))  # Won deal archived: −13,000
    crm_api.replace(_deal(2, stage="Won", updated_at="2024-04-01T12:00:00Z"))  # Lost → Won: +2,000
    code, deals = _sync(env)
    assert code == 0 and deals["status"] == "published", deals
    # One page, asked from the newest updated_at seen (the newer D07); dlt drops that boundary record again.
    assert [r["query"] for r in crm_api.requests] == [
        {"updated_since": "2024-03-26T08:00:00Z", "per_page": "10", "page": "1"}
    ]
    # Three records came through the cursor (D04, D13, D02); D13 is archived and counted apart. The accounting covers
    # the deals now current, as a file's would: 23 = 22 loaded + D05, still rejected until the API fixes it.
    assert _fetched(deals) == 3
    assert (deals["rows_read"], deals["rows_loaded"], deals["rows_rejected"]) == (23, 22, 1)
    assert (deals["rows_superseded"], deals["rows_deleted"]) == (0, 1)
    assert _accounted(deals)
    assert _won(env) == {"won_deals": 8, "won_amount": 107_500.0 + 400 - 13_000 + 2_000}
    replica = duckdb.connect(str(tmp / "data" / "dlt" / "crm_deals.duckdb"), read_only=True)
    try:
        rows, keys = replica.execute("SELECT count(*), count(DISTINCT id) FROM src.source_rows").fetchone()
    finally:
        replica.close()
    assert rows == keys == 25  # merged on the primary key: one row per deal, archived ones kept in the replica

    crm_api.requests.clear()
    code, again = _sync(env)  # nothing changed: published with the same rows
    assert code == 0 and _fetched(again) == 0
    assert (again["rows_read"], again["rows_loaded"], again["rows_deleted"]) == (23, 22, 0)
    assert len(crm_api.requests) == 1
    assert _won(env)["won_amount"] == 96_900.0


def test_close_dates_fall_in_the_business_time_zone_month(crm_api, crm_env):
    env, _ = crm_env
    crm_api.replace(_deal(25, close_date="2024-03-31T20:00:00Z"))  # 2024-04-01 04:00 in Shanghai
    _sync(env)
    by_month = {r["period_label"]: r["won_amount"] for r in _won(env, "--grain", "month")}
    assert by_month["2024-04"] == 25_000.0
    assert by_month["2024-03"] == 107_500.0 - 25_000.0


def test_wrong_api_token_fails_the_source_with_what_to_fix(crm_api, crm_env):
    env, _ = crm_env
    code, deals = _sync({**env, "CRM_API_TOKEN": "expired"})
    assert code == 1 and deals["status"] == "failed"
    assert deals["error"] == (
        "crm_deals: GET " + crm_api.url + " answered 401 Unauthorized; check the secret named in options.auth_secret"
    )
    assert "expired" not in json.dumps(deals)


def test_missing_api_secret_names_the_secret_to_set(crm_api, crm_env):
    env, _ = crm_env
    code, deals = _sync({**env, "CRM_API_TOKEN": ""})
    assert code == 1 and deals["status"] == "failed"
    assert deals["error"].startswith("crm_deals: the secret 'CRM_API_TOKEN' (options.auth_secret) is not set")
    assert crm_api.requests == []


def test_without_a_cursor_every_page_is_read_and_records_no_longer_listed_are_deleted(crm_api, crm_env, tmp_path):
    env, _ = crm_env
    config = _config(crm_api.url)
    for option in ("incremental_param", "cursor", "initial_value"):
        del config["sources"][0]["options"][option]
    cfg = tmp_path / "whole.yml"
    cfg.write_text(json.dumps(config), encoding="utf-8")
    env = {**env, "COCKPIT_CONFIG": str(cfg)}
    code, first = _sync(env)
    assert code == 0 and _accounted(first)
    # 26 records, D10 archived; the older D07 is superseded by the newer (later updated_at), D05 rejected.
    assert (_fetched(first), first["rows_read"], first["rows_loaded"], first["rows_deleted"]) == (26, 25, 23, 1)
    crm_api.records = [r for r in crm_api.records if r["id"] != "D16"]  # gone from the API (Won, 16,000)
    crm_api.replace(_deal(19, archived=True))  # archived (Won, 19,000)
    crm_api.requests.clear()
    code, second = _sync(env)
    assert code == 0 and _accounted(second)
    assert [r["query"].get("page") for r in crm_api.requests] == ["1", "2", "3"]
    assert "updated_since" not in crm_api.requests[0]["query"]
    assert (_fetched(second), second["rows_read"], second["rows_loaded"], second["rows_deleted"]) == (25, 23, 21, 2)
    assert _won(env) == {"won_deals": 6, "won_amount": 107_500.0 - 16_000 - 19_000}
