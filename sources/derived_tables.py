"""Tables derived at publish from the conformed facts, for the metric layer (`metrics/schema.py` lists them).

- `stage_order` (temp): the configured `stages.order` with each stage's position and whether it is a won stage.
- `deal_funnel`: one row per deal × stage it reached *or passed* (per-entity funnel, monotonic by
  construction). The furthest stage is the furthest in the stage history; a won deal reached every stage up
  to the won stage; without history, an open deal reached its current stage and a lost deal every stage
  before the won stage (the CRM only says it was worked and then lost). A stage's `reached_at` is the first
  time the deal entered that stage or any later one (so the times never go backwards along the funnel); for
  a stage with no such record, the won stage takes the close date, the others the last earlier entry or
  the created date. `cohort_day` is the day the deal reached the first stage.
- `customer_acquisitions`: one row per new customer under `new_customer_rule` — the lines of the customer's
  first completed order (`first_order`), or the customer's first won deal by close date (`first_won_deal`),
  carrying the rep, team, region and product of that order or deal.
"""

from __future__ import annotations

import duckdb

from core.config import Settings


def stage_order(con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    """The temp table `stage_order(stage, stage_index, is_won)` from the configuration."""
    order = list(settings.stages.order)
    won = [w.lower() for w in settings.stages.won]
    con.execute("CREATE OR REPLACE TEMP TABLE stage_order (stage VARCHAR, stage_index BIGINT, is_won BOOLEAN)")
    for index, stage in enumerate(order):
        con.execute("INSERT INTO stage_order VALUES ($s, $i, $w)", {"s": stage, "i": index, "w": stage.lower() in won})


def deal_funnel(con: duckdb.DuckDBPyConnection) -> None:
    """`snap.deal_funnel`: every stage each deal reached or passed, with when."""
    won_idx = con.execute("SELECT min(stage_index) FROM stage_order WHERE is_won").fetchone()[0]
    last_idx = con.execute("SELECT max(stage_index) FROM stage_order").fetchone()[0]
    top = won_idx if won_idx is not None else last_idx
    lost_top = (won_idx - 1) if won_idx is not None else last_idx
    con.execute(
        "CREATE OR REPLACE TEMP TABLE f_hist AS SELECT s.opportunity_id, so.stage_index, min(s.entered_at) AS entered "
        "FROM snap.opportunity_stages s JOIN stage_order so ON lower(so.stage) = lower(s.stage) GROUP BY ALL"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE f_deal AS SELECT o.*, CASE "
        "WHEN o.status = 'won' THEN greatest(coalesce(h.max_idx, -1), coalesce($top, -1)) "
        "WHEN o.status = 'lost' THEN coalesce(h.max_idx, $lost_top, -1) "
        "ELSE greatest(coalesce(h.max_idx, -1), coalesce(cur.stage_index, -1)) END AS furthest "
        "FROM snap.opportunities o "
        "LEFT JOIN (SELECT opportunity_id, max(stage_index) AS max_idx FROM f_hist GROUP BY 1) h USING (opportunity_id) "
        "LEFT JOIN stage_order cur ON lower(cur.stage) = lower(o.stage)",
        {"top": top, "lost_top": lost_top},
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE f_rows AS SELECT d.*, so.stage AS f_stage, so.stage_index AS f_index, "
        "so.is_won AS f_won, "
        "(SELECT min(h.entered) FROM f_hist h WHERE h.opportunity_id = d.opportunity_id "
        "AND h.stage_index >= so.stage_index) AS later_entry, "
        "(SELECT max(h.entered) FROM f_hist h WHERE h.opportunity_id = d.opportunity_id "
        "AND h.stage_index < so.stage_index) AS earlier_entry "
        "FROM f_deal d JOIN stage_order so ON so.stage_index <= d.furthest"
    )
    con.execute(
        "CREATE TABLE snap.deal_funnel AS SELECT opportunity_id, f_stage AS stage, f_index AS stage_index, "
        "f_won AS is_won_stage, reached_at, CAST(reached_at AS DATE) AS reached_day, "
        "CAST(min(reached_at) OVER (PARTITION BY opportunity_id) AS DATE) AS cohort_day, amount, "
        "rep_id, rep, team, manager, region, channel, customer_id, customer, product_id, product, category, segment, "
        "campaign FROM (SELECT *, coalesce(later_entry, CASE WHEN f_won THEN CAST(close_date AS TIMESTAMP) END, "
        "earlier_entry, CAST(created_date AS TIMESTAMP)) AS reached_at FROM f_rows) "
        "ORDER BY opportunity_id, stage_index"
    )


def customer_acquisitions(con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    """`snap.customer_acquisitions` under the configured `new_customer_rule`."""
    if settings.new_customer_rule == "first_won_deal":
        con.execute(
            "CREATE TABLE snap.customer_acquisitions AS SELECT 'first_won_deal' AS rule, o.customer_id, o.customer, "
            "coalesce(c.person_id, o.customer_id) AS person_id, o.close_date AS acquired_day, "
            "o.opportunity_id AS acquired_by, o.rep_id, o.rep, o.team, o.manager, o.region, o.channel, "
            "coalesce(o.segment, c.segment) AS segment, o.product_id, o.product, o.category, "
            "CAST(NULL AS VARCHAR) AS subcategory, c.country, c.province, c.city "
            "FROM snap.opportunities o LEFT JOIN snap.customers c ON c.customer_id = o.customer_id "
            "WHERE o.status = 'won' AND o.customer_id IS NOT NULL AND o.close_date IS NOT NULL "
            "QUALIFY row_number() OVER (PARTITION BY o.customer_id ORDER BY o.close_date, o.opportunity_id) = 1 "
            "ORDER BY acquired_day, customer_id"
        )
        return
    con.execute(
        "CREATE TABLE snap.customer_acquisitions AS SELECT 'first_order' AS rule, customer_id, customer, person_id, "
        "order_day AS acquired_day, order_id AS acquired_by, rep_id, rep, team, manager, region, channel, segment, "
        "product_id, product, category, subcategory, country, province, city "
        "FROM snap.orders WHERE is_first_order ORDER BY acquired_day, customer_id"
    )
