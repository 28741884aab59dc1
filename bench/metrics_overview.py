"""Benchmark: the overview page's numbers through the metric layer, against hand-written DuckDB SQL and pandas.

Not a test (no timed assertions anywhere): it prints figures measured in one run on one machine.

    .venv/bin/python bench/metrics_overview.py                    # 10,000,000 order lines (the issue's figure)
    .venv/bin/python bench/metrics_overview.py --rows 200000      # a quick smoke run

A company is generated vectorised inside DuckDB (`range()` and `hash()`, no Python loop, no CSV) straight
into a snapshot file in the published schema (`metrics/schema.py`): order lines (2.5 per order, 1 % of
orders cancelled, 2 % of lines returns, 5 % in USD converted at 7.1), deals, monthly rep targets and the
customer acquisitions publish derives. Then, each in its own subprocess (so peak RSS is that side's alone):
- metric layer: `metrics.query.query` for the overview's four asks — the eight KPI cards with the previous
  period, their weekly sparklines, the 12-month revenue-vs-target trend and attainment by team;
- hand SQL: the same numbers written directly as DuckDB SQL on the same snapshot;
- pandas: the same numbers computed with vectorised pandas on frames already in memory (load time apart).
Each side runs the whole overview once cold, then three more times; the median of those three is compared.
The three sides' KPI totals are checked equal before any figure is printed.
"""

# ruff: noqa: S608 - the generator and the hand SQL compose SQL from constants of this file, never from input
from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

START, END = dt.date(2024, 1, 1), dt.date(2026, 11, 30)  # data span; "today" is END
PERIOD = (dt.date(2026, 1, 1), END)  # the overview's period: year to date
PREVIOUS = (PERIOD[0] - dt.timedelta(days=(END - PERIOD[0]).days + 1), PERIOD[0] - dt.timedelta(days=1))
TREND = (dt.date(2025, 12, 1), END)
KPIS = (
    "revenue",
    "gross_margin",
    "gross_margin_rate",
    "orders",
    "new_customers",
    "win_rate",
    "deal_cycle_days",
    "target_attainment",
)
TEAMS = ["华东一组", "华东二组", "华北一组", "华北二组", "华南一组", "华南二组", "西南一组"]
REGIONS = ["华东", "华东", "华北", "华北", "华南", "华南", "西南"]


def generate(path: Path, rows: int) -> None:
    """Write the snapshot: every table vectorised in DuckDB SQL."""
    import duckdb

    from metrics.schema import PUBLISHED

    days = (END - START).days + 1
    n_orders = max(rows * 2 // 5, 1)
    customers = max(n_orders // 20, 10)
    con = duckdb.connect(str(path))
    con.execute(f"CREATE TEMP TABLE teams AS SELECT {TEAMS} AS team, {REGIONS} AS region")
    con.execute(f"""CREATE TEMP TABLE lines AS SELECT i, (i * 2) // 5 AS o FROM range({rows}) t(i)""")
    con.execute(
        f"""CREATE TEMP TABLE o1 AS SELECT l.i, l.o,
        TIMESTAMP '{START}' + to_days(CAST(l.o * {days} // {n_orders} AS INTEGER))
            + to_seconds(CAST(CAST(hash(l.o, 1) % 43200 AS BIGINT) + 28800 AS BIGINT)) AS order_date,
        CAST(hash(l.o, 2) % {customers} AS BIGINT) AS c, CAST(hash(l.o, 3) % 28 AS BIGINT) AS r, CAST(hash(l.o, 4) % 4 AS BIGINT) AS ch, CAST(hash(l.i, 5) % 40 AS BIGINT) AS p,
        1 + CAST(hash(l.i, 6) % 5 AS BIGINT) AS q, CAST(hash(l.o, 7) % 100 AS BIGINT) = 0 AS cancelled, CAST(hash(l.i, 8) % 50 AS BIGINT) = 0 AS ret,
        CAST(hash(l.o, 9) % 20 AS BIGINT) = 0 AS usd FROM lines l"""
    )
    con.execute(
        """CREATE TEMP TABLE o2 AS SELECT *, (CASE WHEN ret THEN -q ELSE q END) * (100 + p * 50) AS amt,
        0.6 + (p % 5) * 0.05 AS cost_share FROM o1"""
    )
    con.execute(
        """CREATE TABLE orders AS SELECT 'L' || i AS line_id, 'O' || o AS order_id, order_date,
        CAST(order_date AS DATE) AS order_day, CAST(order_date AS DATE) + 3 AS ship_date,
        CASE WHEN cancelled THEN '已取消' ELSE '已完成' END AS status, cancelled AS is_cancelled, ret AS is_return,
        CAST(NULL AS VARCHAR) AS returned_line_id, 'C' || c AS customer_id, '客户' || c AS customer,
        'M' || (c * 19 // 20) AS person_id, ['企业', '个人'][c % 2 + 1] AS segment, 'P' || p AS product_id,
        '产品' || p AS product, ['电脑', '打印', '耗材', '软件', '网络'][p // 8 + 1] AS category,
        '子类' || (p // 4) AS subcategory, CAST(CASE WHEN ret THEN -q ELSE q END AS DOUBLE) AS quantity,
        CAST(100 + p * 50 AS DOUBLE) AS unit_price, CAST(NULL AS DOUBLE) AS discount, CAST(amt AS DOUBLE) AS amount,
        amt * cost_share AS cost, CASE WHEN usd THEN amt / 7.1 ELSE amt END AS amount_local,
        CASE WHEN usd THEN 'USD' ELSE 'CNY' END AS currency, CASE WHEN usd THEN 7.1 ELSE 1.0 END AS fx_rate,
        printf('S%03d', r + 1) AS rep_id, '业务员' || (r + 1) AS rep, t.team[r // 4 + 1] AS team,
        '经理' || (r // 4) AS manager, t.region[r // 4 + 1] AS region,
        ['直销', '经销商', '电商', '电话销售'][ch + 1] AS channel, '中国' AS country, '省' || (c % 30) AS province,
        '市' || (c % 90) AS city, FALSE AS is_first_order, 'bench' AS source, 'bench:' || i AS source_row,
        TIMESTAMP '2026-12-01' AS synced_at FROM o2, teams t"""
    )
    con.execute(
        """CREATE TEMP TABLE firsts AS SELECT customer_id, min(order_date) AS first_at,
        arg_min(order_id, order_date) AS first_order FROM orders WHERE NOT is_cancelled AND NOT is_return GROUP BY 1"""
    )
    con.execute(
        """UPDATE orders o SET is_first_order = TRUE FROM firsts f WHERE o.customer_id = f.customer_id
        AND o.order_id = f.first_order AND NOT o.is_cancelled AND NOT o.is_return"""
    )
    con.execute(
        """CREATE TABLE customer_acquisitions AS SELECT 'first_order' AS rule, customer_id, customer, person_id,
        order_day AS acquired_day, order_id AS acquired_by, rep_id, rep, team, manager, region, channel, segment,
        product_id, product, category, subcategory, country, province, city FROM orders WHERE is_first_order"""
    )
    deals = max(rows // 50, 100)
    con.execute(
        f"""CREATE TABLE opportunities AS SELECT 'D' || i AS opportunity_id, '商机' || i AS opportunity_name,
        'C' || (CAST(hash(i, 1) % {customers} AS BIGINT)) AS customer_id, '客户' || (CAST(hash(i, 1) % {customers} AS BIGINT)) AS customer,
        'P' || (CAST(hash(i, 2) % 40 AS BIGINT)) AS product_id, '产品' || (CAST(hash(i, 2) % 40 AS BIGINT)) AS product, '电脑' AS category,
        CASE WHEN s < 55 THEN '赢单' WHEN s < 85 THEN '输单' ELSE '方案报价' END AS stage,
        CASE WHEN s < 55 THEN 'won' WHEN s < 85 THEN 'lost' ELSE 'open' END AS status,
        CAST(10000 + CAST(hash(i, 3) % 90000 AS BIGINT) AS DOUBLE) AS amount, CAST(10000 + CAST(hash(i, 3) % 90000 AS BIGINT) AS DOUBLE) AS amount_local,
        'CNY' AS currency, created AS created_date, created AS first_stage_date,
        CASE WHEN s < 85 THEN created + CAST(10 + CAST(hash(i, 4) % 80 AS BIGINT) AS INTEGER) END AS close_date,
        '活动' || (i % 20) AS campaign, ['直销', '经销商', '电商', '电话销售'][CAST(hash(i, 5) % 4 AS BIGINT) + 1] AS channel,
        printf('S%03d', r + 1) AS rep_id, '业务员' || (r + 1) AS rep, t.team[r // 4 + 1] AS team,
        '经理' || (r // 4) AS manager, t.region[r // 4 + 1] AS region, '企业' AS segment, FALSE AS is_deleted,
        TIMESTAMP '2026-11-30' AS updated_at, 'bench' AS source, 'bench:' || i AS source_row,
        TIMESTAMP '2026-12-01' AS synced_at
        FROM (SELECT i, CAST(hash(i, 6) % 100 AS BIGINT) AS s, CAST(hash(i, 7) % 28 AS BIGINT) AS r,
              DATE '{START}' + CAST(i * {days} // {deals} AS INTEGER) AS created FROM range({deals}) t(i)), teams t"""
    )
    con.execute(
        f"""CREATE TABLE targets AS SELECT CAST(m AS DATE) AS period, 'revenue' AS metric, 'rep' AS level,
        printf('S%03d', r + 1) AS rep_id, '业务员' || (r + 1) AS rep, t.team[r // 4 + 1] AS team,
        '经理' || (r // 4) AS manager, t.region[r // 4 + 1] AS region,
        CAST({rows} * 60.0 / 28 / 35 * (0.9 + (CAST(hash(r, m) % 20 AS BIGINT)) / 100.0) AS DOUBLE) AS amount,
        'bench' AS source, 'bench' AS source_row, TRUE AS is_leaf
        FROM range(DATE '{START}', DATE '{END}' + 1, INTERVAL 1 MONTH) mm(m), range(28) rr(r), teams t"""
    )
    for table, columns in PUBLISHED.items():
        have = {
            r[0]
            for r in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = ?", [table]
            ).fetchall()
        }
        if have and not set(columns) <= have:
            raise SystemExit(f"generated {table} lacks published columns {sorted(set(columns) - have)}")
    con.execute("CHECKPOINT")
    con.close()


# ---- the three sides --------------------------------------------------------------------------------------
def run_layer(db: Path) -> dict:
    """The overview's four asks through the metric layer (what pages/overview.py asks)."""
    from core.config import Business, Settings, Stages
    from core.warehouse import Snapshot
    from metrics.catalog import load_catalog
    from metrics.query import grain_allowed, query
    from metrics.scope import Scope

    cfg = Settings(business=Business(holidays="cn", today=END), stages=Stages(order=["方案报价", "赢单"], won=["赢单"]))
    snap = Snapshot("bench", db, dt.datetime(2026, 12, 1, tzinfo=dt.UTC))
    kw = {"settings": cfg, "snapshot": snap}
    totals = query(KPIS, Scope.all(), start=PERIOD[0], end=PERIOD[1], compare=("previous",), **kw)
    catalog = load_catalog()
    weekly = [k for k in KPIS if grain_allowed(catalog, k, "week")]  # as the page: no weekly target
    query(weekly, Scope.all(), start=PERIOD[0], end=PERIOD[1], grain="week", **kw)
    query(("revenue", "revenue_target"), Scope.all(), start=TREND[0], end=TREND[1], grain="month", **kw)
    query(
        ("revenue", "revenue_target", "target_attainment"),
        Scope.all(),
        by=["team"],
        start=PERIOD[0],
        end=PERIOD[1],
        **kw,
    )
    row = totals.records()[0]
    return {k: row[k] for k in KPIS} | {f"{k}__previous": row[f"{k}__previous"] for k in KPIS}


def _sql_kpis(con, lo: dt.date, hi: dt.date, group: str | None) -> dict:  # noqa: ANN001
    g, gb = (f"{group} AS k, ", "GROUP BY 1") if group else ("", "")
    rng = [lo, hi]
    out: dict = {}
    for key, *vals in con.execute(
        f"SELECT {g if group else '0 AS k, '}sum(amount), sum(amount - cost) FILTER (cost IS NOT NULL), "
        f"sum(amount) FILTER (cost IS NOT NULL), count(DISTINCT order_id) FILTER (NOT is_return) FROM orders "
        f"WHERE NOT is_cancelled AND order_day BETWEEN ? AND ? {gb}",
        rng,
    ).fetchall():
        out.setdefault(key, {}).update(revenue=vals[0], gross_margin=vals[1], margin_base=vals[2], orders=vals[3])
    for key, n in con.execute(
        f"SELECT {g.replace('order_day', 'acquired_day') if group else '0 AS k, '}count(DISTINCT customer_id) "
        f"FROM customer_acquisitions WHERE acquired_day BETWEEN ? AND ? {gb}",
        rng,
    ).fetchall():
        out.setdefault(key, {})["new_customers"] = n
    for key, won, closed, cycle in con.execute(
        f"SELECT {g.replace('order_day', 'close_date') if group else '0 AS k, '}"
        "count(DISTINCT opportunity_id) FILTER (status = 'won'), "
        "count(DISTINCT opportunity_id) FILTER (status IN ('won', 'lost')), "
        "avg(close_date - first_stage_date) FILTER (status = 'won' AND first_stage_date IS NOT NULL) "
        f"FROM opportunities WHERE close_date BETWEEN ? AND ? {gb}",
        rng,
    ).fetchall():
        out.setdefault(key, {}).update(won=won, closed=closed, deal_cycle_days=cycle)
    for key, target in con.execute(
        f"SELECT {g.replace('order_day', 'period') if group else '0 AS k, '}sum(amount) FROM targets "
        f"WHERE metric = 'revenue' AND is_leaf AND period BETWEEN ? AND ? {gb}",
        rng,
    ).fetchall():
        out.setdefault(key, {})["target"] = target
    return {k: _ratios(v) for k, v in out.items()}


def _ratios(v: dict) -> dict:
    def div(a, b):  # noqa: ANN001, ANN202
        return None if not b else a / b

    return {
        "revenue": v.get("revenue") or 0.0,
        "gross_margin": v.get("gross_margin") or 0.0,
        "gross_margin_rate": div(v.get("gross_margin") or 0.0, v.get("margin_base")),
        "orders": v.get("orders") or 0,
        "new_customers": v.get("new_customers") or 0,
        "win_rate": div(v.get("won") or 0, v.get("closed")),
        "deal_cycle_days": v.get("deal_cycle_days"),
        "target_attainment": div(v.get("revenue") or 0.0, v.get("target")),
    }


def run_sql(db: Path) -> dict:
    """The same numbers written by hand in DuckDB SQL."""
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    now = _sql_kpis(con, *PERIOD, None)[0]
    before = _sql_kpis(con, *PREVIOUS, None)[0]
    _sql_kpis(con, *PERIOD, "date_trunc('week', order_day)")
    _sql_kpis(con, *TREND, "date_trunc('month', order_day)")
    _sql_kpis(con, *PERIOD, "team")
    con.close()
    return now | {f"{k}__previous": before[k] for k in KPIS}


def load_frames(db: Path) -> dict:
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    frames = {
        "orders": con.execute(
            "SELECT order_id, order_day, is_cancelled, is_return, amount, cost, team FROM orders"
        ).df(),
        "acq": con.execute("SELECT customer_id, acquired_day, team FROM customer_acquisitions").df(),
        "opps": con.execute(
            "SELECT opportunity_id, status, close_date, first_stage_date, team FROM opportunities"
        ).df(),
        "targets": con.execute("SELECT period, metric, is_leaf, amount, team FROM targets").df(),
    }
    con.close()
    return frames


def _pandas_kpis(f: dict, lo: dt.date, hi: dt.date, group: str | None) -> dict:
    import pandas as pd

    lo_ts, hi_ts = pd.Timestamp(lo), pd.Timestamp(hi)

    def keyed(frame, day):  # noqa: ANN001, ANN202
        sel = frame[(frame[day] >= lo_ts) & (frame[day] <= hi_ts)]
        if group == "week":
            return sel, sel[day].dt.to_period("W-SUN").dt.start_time
        if group == "month":
            return sel, sel[day].dt.to_period("M").dt.start_time
        return sel, (sel["team"] if group == "team" else pd.Series(0, index=sel.index))

    o = f["orders"]
    o, k = keyed(o[~o["is_cancelled"]], "order_day")
    costed = o["cost"].notna()
    agg = pd.DataFrame(
        {
            "revenue": o["amount"].groupby(k).sum(),
            "gross_margin": (o["amount"] - o["cost"]).where(costed).groupby(k).sum(),
            "margin_base": o["amount"].where(costed).groupby(k).sum(),
            "orders": o["order_id"].where(~o["is_return"]).groupby(k).nunique(),
        }
    )
    a, ka = keyed(f["acq"], "acquired_day")
    agg = agg.join(a["customer_id"].groupby(ka).nunique().rename("new_customers"), how="outer")
    d, kd = keyed(f["opps"], "close_date")
    won = d["opportunity_id"].where(d["status"] == "won")
    closed = d["opportunity_id"].where(d["status"].isin(["won", "lost"]))
    cycle = ((d["close_date"] - d["first_stage_date"]).dt.days).where(
        (d["status"] == "won") & d["first_stage_date"].notna()
    )
    agg = agg.join(
        pd.DataFrame(
            {
                "won": won.groupby(kd).nunique(),
                "closed": closed.groupby(kd).nunique(),
                "deal_cycle_days": cycle.groupby(kd).mean(),
            }
        ),
        how="outer",
    )
    t = f["targets"]
    t, kt = keyed(t[(t["metric"] == "revenue") & t["is_leaf"]], "period")
    agg = agg.join(t["amount"].groupby(kt).sum().rename("target"), how="outer")
    return {key: _ratios({c: (None if pd.isna(v) else v) for c, v in row.items()}) for key, row in agg.iterrows()}


def run_pandas(frames: dict) -> dict:
    now = _pandas_kpis(frames, *PERIOD, None)[0]
    before = _pandas_kpis(frames, *PREVIOUS, None)[0]
    _pandas_kpis(frames, *PERIOD, "week")
    _pandas_kpis(frames, *TREND, "month")
    _pandas_kpis(frames, *PERIOD, "team")
    return now | {f"{k}__previous": before[k] for k in KPIS}


def worker(side: str, db: Path) -> None:
    """One side in this process: a cold run, three warm runs; prints one JSON line."""
    load = 0.0
    if side == "pandas":
        t0 = time.perf_counter()
        frames = load_frames(db)
        load = time.perf_counter() - t0
        call = lambda: run_pandas(frames)  # noqa: E731
    else:
        call = (lambda: run_layer(db)) if side == "layer" else (lambda: run_sql(db))
    times, result = [], None
    for _ in range(4):
        t0 = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - t0)
    rss_mb = _peak_rss_mb()
    print(
        json.dumps(
            {"cold": times[0], "warm": statistics.median(times[1:]), "load": load, "rss_mb": rss_mb, "result": result}
        )
    )


def _peak_rss_mb() -> float:
    """This process's peak resident set (VmHWM). Not getrusage: Linux carries ru_maxrss across exec from the
    parent, so a worker started by a parent that generated the data would report the parent's peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _same(a, b) -> bool:  # noqa: ANN001
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-6)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000, help="order lines to generate (default 10,000,000)")
    parser.add_argument("--db", type=Path, help="snapshot file (default data/bench/overview-<rows>.duckdb, reused)")
    parser.add_argument("--worker", choices=("layer", "sql", "pandas"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    db = args.db or ROOT / "data" / "bench" / f"overview-{args.rows}.duckdb"
    if args.worker:
        worker(args.worker, db)
        return 0
    if not db.exists():
        db.parent.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        generate(db.with_suffix(".tmp"), args.rows)
        db.with_suffix(".tmp").rename(db)
        print(f"generated {args.rows:,} order lines into {db} in {time.perf_counter() - t0:.1f} s")
    sides = {}
    for side in ("layer", "sql", "pandas"):
        proc = subprocess.run(
            [sys.executable, __file__, "--worker", side, "--db", str(db), "--rows", str(args.rows)],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            print(proc.stderr, file=sys.stderr)
            return 1
        sides[side] = json.loads(proc.stdout.strip().splitlines()[-1])
    base = sides["layer"]["result"]
    for side in ("sql", "pandas"):
        wrong = [k for k in base if not _same(base[k], sides[side]["result"][k])]
        if wrong:
            print(f"MISMATCH metric layer vs {side}: {[(k, base[k], sides[side]['result'][k]) for k in wrong]}")
            return 1
    print(f"overview numbers agree on all three sides (revenue {base['revenue']:,.2f}, orders {base['orders']:,})")
    print(f"{'side':<14}{'cold s':>9}{'warm s':>9}{'load s':>9}{'peak RSS MB':>13}")
    for side, label in (("layer", "metric layer"), ("sql", "hand SQL"), ("pandas", "pandas")):
        s = sides[side]
        print(f"{label:<14}{s['cold']:>9.3f}{s['warm']:>9.3f}{s['load']:>9.2f}{s['rss_mb']:>13.0f}")
    layer, sql, pdx = sides["layer"]["warm"], sides["sql"]["warm"], sides["pandas"]["warm"]
    print(
        f"ratio metric layer / hand SQL: {layer / sql:.2f}x (goal <= 1.2x) · "
        f"metric layer / pandas in memory: {layer / pdx:.2f}x · rows {args.rows:,}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
