"""Build the published tables of a snapshot from the last good rows of every source (conformed dimensions).

At publish time each fact row is resolved once against the dimensions, so every query reads plain columns:
- rep: matched by id, then name, then normalised key; team, manager and region taken from the roster *as of
  the row's date* (an ASOF join on the assignment history, so a mid-year team move splits a rep's numbers);
- region: the region written on the row when the source has one, otherwise the owning rep's (CONTRACTS.md);
- product and customer: matched the same way, filling category, segment, person id and location;
- money: converted to the reporting currency with the rate of the row's date (never summed raw);
- orders: returns and cancellations flagged; the customer's first order flagged;
- opportunity stages: each stay's end (`left_at`, the next stage's entry) and length in days;
- derived tables for the metrics (`sources/derived_tables.py`): the per-deal funnel and customer acquisitions.
The per-row matching and the as-of joins are `sources/enrich.py`; this module orders the steps and writes tables.
Dimension tables with duplicate keys are de-duplicated (the last row loaded wins) and reported, so they can
never multiply fact rows.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import duckdb
import pyarrow as pa

from core.config import Settings
from sources import derived_tables
from sources.canonical import BOOL, DATE, ENTITIES, MONEY, NUMBER, TIMESTAMP
from sources.enrich import FactEnricher
from sources.load import Issue

CANCELLED_WORDS = ("已取消", "取消", "作废", "cancelled", "canceled", "void", "voided")
RETURN_WORDS = ("退货", "退款", "退货单", "return", "returned", "refund", "credit note", "退回")
_SQL_TYPES = {NUMBER: "DOUBLE", MONEY: "DOUBLE", DATE: "DATE", TIMESTAMP: "TIMESTAMP", BOOL: "BOOLEAN"}


@dataclass
class PublishReport:
    """Issues found while conforming, per source name."""

    issues: dict[str, list[Issue]] = field(default_factory=lambda: defaultdict(list))
    key_matches: list[dict] = field(default_factory=list)

    def add(self, source: str, kind: str, detail: str, count: int = 1) -> None:
        self.issues[source].append(Issue(kind, detail, count))


def _union(con: duckdb.DuckDBPyConnection, entity: str, tables: list[str]) -> str:
    """A temp view `u_<entity>` over every source's rows of an entity (empty, typed, when none).

    Views, not copies: a fact table is materialised once (`e_<fact>`) on its way into the snapshot.
    """
    cols = [f for f in ENTITIES[entity].fields]
    select_cols = ", ".join(f'"{f.name}"' for f in cols) + ", _key, source, source_row, synced_at, _line"
    name = f"u_{entity}"
    con.execute(f"DROP VIEW IF EXISTS {name}")
    if tables:
        union = " UNION ALL ".join(f"SELECT {select_cols} FROM {t}" for t in tables)
    else:
        typed = ", ".join(f'CAST(NULL AS {_SQL_TYPES.get(f.type, "VARCHAR")}) AS "{f.name}"' for f in cols)
        union = (
            f"SELECT {typed}, CAST(NULL AS VARCHAR) AS _key, CAST(NULL AS VARCHAR) AS source, "
            "CAST(NULL AS VARCHAR) AS source_row, CAST(NULL AS TIMESTAMP) AS synced_at, CAST(NULL AS BIGINT) AS _line "
            "WHERE FALSE"
        )
    con.execute(f"CREATE TEMP VIEW {name} AS {union}")
    return name


class Conformer:
    """Writes the published tables into the attached snapshot database `snap`."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        settings: Settings,
        source_tables: dict[str, list[str]],
        entity_of: dict[str, str],
    ) -> None:
        self.con = con
        self.settings = settings
        self.tables = source_tables  # entity -> staging tables
        self.entity_of = entity_of  # staging table -> source name
        self.report = PublishReport()
        self.enricher = FactEnricher(con, self.report, settings.business.currency)

    def run(self) -> PublishReport:
        for entity in ENTITIES:
            _union(self.con, entity, self.tables.get(entity, []))
        self._fx()
        self._reps()
        self._products()
        self._customers()
        self._orders()
        self._opportunities()
        self._opportunity_stages()
        derived_tables.deal_funnel(self.con)
        derived_tables.customer_acquisitions(self.con, self.settings)
        self._targets()
        for entity in (
            "campaigns",
            "campaign_spend",
            "leads",
            "touchpoints",
            "activities",
            "invoices",
            "payments",
            "inventory",
        ):
            self._passthrough(entity)
        self._key_matches_table()
        return self.report

    # ---- helpers -------------------------------------------------------------------------------------
    def _dedupe(self, entity: str, key: str, label: str) -> str:
        """`d_<entity>`: one row per key, the last row loaded winning; duplicates reported per source."""
        dupes = self.con.execute(
            f"SELECT source, count(*) - count(DISTINCT {key}) FROM u_{entity} WHERE {key} IS NOT NULL GROUP BY 1"
        ).fetchall()
        for source, extra in dupes:
            if extra:
                self.report.add(
                    source,
                    "duplicate_key",
                    f"{entity}: {extra} rows repeat an existing {key}; the last row loaded is kept, so facts are "
                    "never multiplied",
                    extra,
                )
        self.con.execute(
            f"CREATE OR REPLACE TEMP TABLE d_{entity} AS SELECT * FROM u_{entity} WHERE {key} IS NOT NULL "
            f"QUALIFY row_number() OVER (PARTITION BY {key} ORDER BY synced_at DESC, _line DESC) = 1"
        )
        return f"d_{entity}"

    # ---- dimensions ----------------------------------------------------------------------------------
    def _fx(self) -> None:
        self.con.execute(
            "CREATE OR REPLACE TEMP TABLE d_fx AS SELECT upper(currency) AS currency, rate_date, rate FROM u_fx_rates "
            "WHERE rate IS NOT NULL AND rate > 0 "
            "QUALIFY row_number() OVER (PARTITION BY upper(currency), rate_date ORDER BY synced_at DESC, _line DESC) = 1"
        )
        self.con.execute(
            "CREATE TABLE snap.fx_rates AS SELECT currency, rate_date, rate FROM d_fx ORDER BY currency, rate_date"
        )

    def _reps(self) -> None:
        con = self.con
        con.execute(
            "CREATE OR REPLACE TEMP TABLE d_roster AS SELECT coalesce(rep_id, rep_name) AS rep_id, rep_name, email, "
            "manager, coalesce(team, manager) AS team, region, coalesce(valid_from, DATE '1900-01-01') AS valid_from, "
            "valid_to, source, synced_at, _line FROM u_reps WHERE coalesce(rep_id, rep_name) IS NOT NULL "
            "QUALIFY row_number() OVER (PARTITION BY coalesce(rep_id, rep_name), coalesce(valid_from, DATE '1900-01-01') "
            "ORDER BY synced_at DESC, _line DESC) = 1"
        )
        con.execute(
            "CREATE TABLE snap.rep_assignments AS SELECT rep_id, rep_name AS rep, email, manager, team, region, "
            "valid_from, valid_to FROM d_roster ORDER BY rep_id, valid_from"
        )
        con.execute(
            "CREATE TABLE snap.reps AS SELECT rep_id, rep_name AS rep, email, manager, team, region FROM d_roster "
            "QUALIFY row_number() OVER (PARTITION BY rep_id ORDER BY valid_from DESC) = 1 ORDER BY rep_id"
        )
        self.enricher.members["rep"] = [(r, n) for r, n in con.execute("SELECT rep_id, rep FROM snap.reps").fetchall()]

    def _products(self) -> None:
        d = self._dedupe("products", "coalesce(product_id, product_name)", "product_name")
        self.con.execute(
            f"CREATE TABLE snap.products AS SELECT coalesce(product_id, product_name) AS product_id, "
            f"coalesce(product_name, product_id) AS product, category, subcategory, series, unit_cost, list_price "
            f"FROM {d} ORDER BY 1"
        )
        self.enricher.members["product"] = self.con.execute("SELECT product_id, product FROM snap.products").fetchall()

    def _customers(self) -> None:
        d = self._dedupe("customers", "coalesce(customer_id, customer_name)", "customer_name")
        self.con.execute(
            f"CREATE TABLE snap.customers AS SELECT coalesce(customer_id, customer_name) AS customer_id, "
            f"coalesce(customer_name, customer_id) AS customer, coalesce(person_id, customer_id, customer_name) AS person_id, "
            f"segment, industry, country, province, city, region, rep AS owner, channel, created_date FROM {d} ORDER BY 1"
        )
        self.enricher.members["customer"] = self.con.execute(
            "SELECT customer_id, customer FROM snap.customers"
        ).fetchall()

    def _region_sql(self, fields: set[str]) -> str:
        return "coalesce(e.region, e._rep_region)" if "region" in fields else "e._rep_region"

    # ---- facts ---------------------------------------------------------------------------------------
    def _orders(self) -> None:
        fields = set(ENTITIES["orders"].field_names)
        e = self.enricher.enriched("orders", "CAST(f.order_date AS DATE)", money=("amount", "cost", "profit"))
        self.con.execute(
            f"CREATE OR REPLACE TEMP VIEW o1 AS SELECT e.*, "
            f"(lower(coalesce(e.status, '')) IN {_tuple(CANCELLED_WORDS)}) AS _cancelled, "
            # coalesce: a line without quantity is still a sale (NULL < 0 must not make is_return NULL)
            f"(lower(coalesce(e.order_type, '')) IN {_tuple(RETURN_WORDS)} OR coalesce(e.amount < 0, FALSE) "
            "OR coalesce(e.quantity < 0, FALSE)) AS _return "
            f"FROM {e} e"
        )
        self.con.execute(
            "CREATE TABLE snap.orders AS SELECT "
            "e._key AS line_id, e.order_id, e.order_date, CAST(e.order_date AS DATE) AS order_day, e.ship_date, "
            "e.status, e._cancelled AS is_cancelled, e._return AS is_return, e.returned_line_id, "
            "coalesce(e._customer_id, e.customer_id, e.customer_name) AS customer_id, "
            "coalesce(e._customer, e.customer_name, e.customer_id) AS customer, "
            "coalesce(e.person_id, e._person_id, e._customer_id, e.customer_id, e.customer_name) AS person_id, "
            "coalesce(e.segment, e._c_segment) AS segment, "
            "coalesce(e._product_id, e.product_id, e.product_name) AS product_id, "
            "coalesce(e._product, e.product_name, e.product_id) AS product, "
            "coalesce(e.category, e._p_category) AS category, coalesce(e.subcategory, e._p_subcategory) AS subcategory, "
            "e.quantity, e.unit_price, e.discount, "
            "e._amount_rc AS amount, "
            "coalesce(e._cost_rc, e._amount_rc - e._profit_rc, e._unit_cost * e.quantity) AS cost, "
            "e.amount AS amount_local, e.currency, e._fx_rate AS fx_rate, "
            "e._rep_id AS rep_id, coalesce(e._rep_name, e.rep) AS rep, e._team AS team, e._manager AS manager, "
            f"{self._region_sql(fields)} AS region, coalesce(e.channel, e._c_channel) AS channel, "
            "coalesce(e.country, e._c_country) AS country, coalesce(e.province, e._c_province) AS province, "
            "coalesce(e.city, e._c_city) AS city, FALSE AS is_first_order, "
            "e.source, e.source_row, e.synced_at FROM o1 e ORDER BY e.order_date, e._key"
        )
        # A customer's first order: the earliest completed sale (not cancelled, not a return) of that customer.
        self.con.execute(
            "UPDATE snap.orders o SET is_first_order = TRUE FROM ("
            "SELECT customer_id, arg_min(order_id, order_date) AS first_order FROM snap.orders "
            "WHERE NOT is_cancelled AND NOT is_return AND customer_id IS NOT NULL GROUP BY 1) f "
            "WHERE o.customer_id = f.customer_id AND o.order_id = f.first_order AND NOT o.is_cancelled AND NOT o.is_return"
        )
        for source, n in self.con.execute(
            "SELECT source, count(*) FROM snap.orders WHERE cost IS NULL AND amount IS NOT NULL GROUP BY 1"
        ).fetchall():
            self.report.add(
                source,
                "cost_missing",
                "orders: lines with no cost, profit or product unit cost; gross margin leaves them out",
                n,
            )

    def _opportunities(self) -> None:
        fields = set(ENTITIES["opportunities"].field_names)
        won, lost = self.settings.stages.won, self.settings.stages.lost
        e = self.enricher.enriched(
            "opportunities",
            "coalesce(f.close_date, f.created_date, CAST(f.updated_at AS DATE))",
            money=("amount",),
        )
        first_stage = (
            "CREATE OR REPLACE TEMP TABLE first_stage AS SELECT opportunity_id, CAST(min(entered_at) AS DATE) AS d "
            "FROM u_opportunity_stages GROUP BY 1"
        )
        self.con.execute(first_stage)
        self.con.execute(
            "CREATE TABLE snap.opportunities AS SELECT e._key AS opportunity_id, e.opportunity_name, "
            "coalesce(e._customer_id, e.customer_id, e.customer_name) AS customer_id, "
            "coalesce(e._customer, e.customer_name, e.customer_id) AS customer, "
            "coalesce(e._product_id, e.product_id, e.product_name) AS product_id, "
            "coalesce(e._product, e.product_name, e.product_id) AS product, e._p_category AS category, "
            "e.stage, CASE WHEN lower(e.stage) IN (SELECT lower(unnest($won))) THEN 'won' "
            "WHEN lower(e.stage) IN (SELECT lower(unnest($lost))) THEN 'lost' ELSE 'open' END AS status, "
            "e._amount_rc AS amount, e.amount AS amount_local, e.currency, "
            "e.created_date, coalesce(fs.d, e.created_date) AS first_stage_date, e.close_date, "
            "e.campaign, coalesce(e.channel, e._c_channel) AS channel, "
            "e._rep_id AS rep_id, coalesce(e._rep_name, e.rep) AS rep, e._team AS team, e._manager AS manager, "
            f"{self._region_sql(fields)} AS region, coalesce(e._c_segment) AS segment, "
            "coalesce(e.is_deleted, FALSE) AS is_deleted, e.updated_at, e.source, e.source_row, e.synced_at "
            f"FROM {e} e LEFT JOIN first_stage fs ON fs.opportunity_id = e._key "
            "WHERE NOT coalesce(e.is_deleted, FALSE) ORDER BY 1",
            {"won": list(won), "lost": list(lost)},
        )

    def _opportunity_stages(self) -> None:
        # Each stay in a stage ends when the deal enters its next stage: `left_at`, and its length in days.
        derived_tables.stage_order(self.con, self.settings)
        self.con.execute(
            "CREATE TABLE snap.opportunity_stages AS SELECT *, CAST(left_at AS DATE) AS left_day, "
            "date_diff('second', entered_at, left_at) / 86400.0 AS duration_days FROM ("
            "SELECT s.opportunity_id, s.stage, s.entered_at, "
            "o.rep_id, o.rep, o.team, o.manager, o.region, o.channel, o.product, o.customer, s.source, s.source_row, "
            "so.stage_index, lead(s.entered_at) OVER (PARTITION BY s.opportunity_id ORDER BY s.entered_at, s._line) "
            "AS left_at FROM u_opportunity_stages s LEFT JOIN snap.opportunities o USING (opportunity_id) "
            "LEFT JOIN stage_order so ON lower(so.stage) = lower(s.stage)) "
            "ORDER BY opportunity_id, entered_at"
        )

    def _targets(self) -> None:
        self.enricher.enriched("targets", "f.period", product=False, customer=False, money=("amount",))
        self.con.execute(
            "CREATE OR REPLACE TEMP TABLE t1 AS SELECT date_trunc('month', e.period)::DATE AS period, "
            "coalesce(e.metric, 'revenue') AS metric, "
            "CASE WHEN e._rep_id IS NOT NULL OR e.rep IS NOT NULL THEN 'rep' WHEN e.team IS NOT NULL THEN 'team' "
            "WHEN e.region IS NOT NULL THEN 'region' ELSE 'company' END AS level, "
            "e._rep_id AS rep_id, coalesce(e._rep_name, e.rep) AS rep, coalesce(e._team, e.team) AS team, "
            "e._manager AS manager, coalesce(e.region, e._rep_region, tr.region) AS region, "
            "e._amount_rc AS amount, e.source, e.source_row FROM e_targets e "
            "LEFT JOIN (SELECT DISTINCT team, region FROM d_roster) tr ON tr.team = e.team"
        )
        self.con.execute(
            "CREATE TABLE snap.targets AS SELECT t.*, (t.level = f.finest) AS is_leaf FROM t1 t JOIN ("
            "SELECT period, metric, CASE WHEN bool_or(level = 'rep') THEN 'rep' WHEN bool_or(level = 'team') THEN 'team' "
            "WHEN bool_or(level = 'region') THEN 'region' ELSE 'company' END AS finest FROM t1 GROUP BY ALL) f "
            "USING (period, metric) ORDER BY period, level, team, rep_id"
        )
        bad = self.con.execute(
            "SELECT t.source, count(*), string_agg(DISTINCT t.team || ' ' || strftime(t.period, '%Y-%m'), ', ') FROM "
            "snap.targets t JOIN (SELECT period, metric, team, sum(amount) AS s FROM snap.targets WHERE level = 'rep' "
            "GROUP BY ALL) r USING (period, metric, team) WHERE t.level = 'team' AND abs(t.amount - r.s) > 0.5 GROUP BY 1"
        ).fetchall()
        for source, n, where in bad:
            self.report.add(
                source,
                "targets_inconsistent",
                f"team target differs from the sum of its reps' targets: {where[:200]}",
                n,
            )

    def _passthrough(self, entity: str) -> None:
        fields = set(ENTITIES[entity].field_names)
        has_rep = "rep" in fields
        day = {
            "campaign_spend": "f.spend_date",
            "leads": "CAST(f.created_at AS DATE)",
            "touchpoints": "CAST(f.occurred_at AS DATE)",
            "activities": "CAST(f.occurred_at AS DATE)",
            "invoices": "f.invoice_date",
            "payments": "f.payment_date",
            "inventory": "f.snapshot_date",
            "campaigns": "f.start_date",
        }[entity]
        money = ("amount",) if "amount" in fields and "currency" in fields else ()
        e = self.enricher.enriched(entity, day, money=money)
        own = [f'e."{f}"' for f in ENTITIES[entity].field_names if f not in ("rep", "region", "amount")]
        extra = []
        if money:
            extra += ["e._amount_rc AS amount", "e.amount AS amount_local"]
        if has_rep or "customer_id" in fields:
            extra += [
                "e._rep_id AS rep_id",
                "e._rep_name AS rep",
                "e._team AS team",
                "e._manager AS manager",
                f"{self._region_sql(fields)} AS region",
            ]
        elif "region" in fields:
            extra.append("e.region")
        if "customer_id" in fields or "customer_name" in fields:
            extra += ["e._customer AS customer"]
        if "product_id" in fields or "product_name" in fields:
            extra += ["e._product AS product", "e._p_category AS category"]
        self.con.execute(
            f"CREATE TABLE snap.{entity} AS SELECT {', '.join(own + extra)}, e.source, e.source_row, e.synced_at "
            f"FROM {e} e"
        )

    def _key_matches_table(self) -> None:
        rows = self.report.key_matches
        table = pa.table(
            {
                "source": pa.array([r["source"] for r in rows], pa.string()),
                "entity": pa.array([r["entity"] for r in rows], pa.string()),
                "dimension": pa.array([r["dimension"] for r in rows], pa.string()),
                **{
                    m: pa.array([int(r.get(m, 0)) for r in rows], pa.int64())
                    for m in ("id", "label", "normalised", "ambiguous", "unmatched")
                },
            }
        )
        self.con.register("key_matches_arrow", table)
        self.con.execute("CREATE TABLE snap._key_matches AS SELECT * FROM key_matches_arrow")
        self.con.unregister("key_matches_arrow")


def _tuple(words: tuple[str, ...]) -> str:
    """A SQL tuple of fixed words from this module (never user input)."""
    return "(" + ", ".join("'" + w.replace("'", "''") + "'" for w in words) + ")"
