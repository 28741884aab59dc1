"""Fact enrichment at publish time: each fact row matched once to its rep, product and customer, given its
rep's team, manager and region as of the row's day, and its money in the reporting currency at that day's rate.

`Conformer` builds the dimension tables first, hands their members here, and writes each fact's snapshot table
from the view `enriched` returns (`e_<fact>`), so the joins run once, inside that one `CREATE TABLE`.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from typing import TYPE_CHECKING

import duckdb
import pyarrow as pa

from sources.canonical import ENTITIES
from sources.keys import KeyIndex

if TYPE_CHECKING:
    from sources.conform import PublishReport


class FactEnricher:
    """Matches fact keys to dimension members and builds the `e_<fact>` views (see the module docstring)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, report: PublishReport, currency: str) -> None:
        self.con = con
        self.report = report
        self.currency = currency
        self.members: dict[str, list[tuple[str, str | None]]] = {"rep": [], "product": [], "customer": []}

    def resolve(
        self, fact: str, dim: str, id_col: str | None, label_col: str | None, members: list[tuple[str, str | None]]
    ) -> str:
        """A temp table mapping each distinct (id, label) of `fact` to a member id, with the method used."""
        index = KeyIndex(members)
        cols = [c for c in (id_col, label_col) if c]
        name = f"m_{fact}_{dim}"
        if not cols:
            self.con.execute(
                f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT NULL::VARCHAR AS id_raw, NULL::VARCHAR AS label_raw, "
                "NULL::VARCHAR AS member_id, NULL::VARCHAR AS method WHERE FALSE"
            )
            return name
        id_sql = id_col or "NULL::VARCHAR"
        label_sql = label_col or "NULL::VARCHAR"
        pairs = self.con.execute(
            f"SELECT {id_sql} AS id_raw, {label_sql} AS label_raw, source, count(*) FROM u_{fact} "
            f"WHERE coalesce({id_sql}, {label_sql}) IS NOT NULL GROUP BY ALL"
        ).fetchall()
        rows: dict[tuple, tuple] = {}
        tally: dict[str, Counter] = defaultdict(Counter)
        examples: dict[tuple[str, str], list[str]] = defaultdict(list)
        for id_raw, label_raw, source, count in pairs:
            key = (id_raw, label_raw)
            if key not in rows:
                match = index.match(id_raw) if id_raw else None
                if (match is None or match.member_id is None) and label_raw:
                    match = index.match(label_raw)
                rows[key] = (match.member_id, match.method, match.candidates)
            member_id, method, candidates = rows[key]
            tally[source][method] += count
            raw = id_raw or label_raw
            bucket = examples[(source, method)]
            if method == "normalised" and len(bucket) < 5:
                bucket.append(f"{raw!s} → {index.ids.get(member_id, member_id)} ({count:,} rows)")
            elif method in ("ambiguous", "unmatched") and len(bucket) < 5:
                named = [f"{index.ids.get(c, c)} ({c})" if index.ids.get(c, c) != c else c for c in candidates]
                extra = f" could be {' or '.join(named)}" if candidates else ""
                bucket.append(f"{raw!s}{extra} ({count:,} rows)")
        for source, counts in tally.items():
            for method in ("normalised", "ambiguous", "unmatched"):
                if counts[method]:
                    detail = f"{fact}.{dim}: {', '.join(examples[(source, method)])}"
                    kind = {"normalised": "key_normalised", "ambiguous": "key_ambiguous", "unmatched": "key_unmatched"}[
                        method
                    ]
                    self.report.add(source, kind, detail, counts[method])
            self.report.key_matches.append({"source": source, "entity": fact, "dimension": dim, **dict(counts)})
        table = pa.table(
            {
                "id_raw": pa.array([k[0] for k in rows], pa.string()),
                "label_raw": pa.array([k[1] for k in rows], pa.string()),
                "member_id": pa.array([v[0] for v in rows.values()], pa.string()),
                "method": pa.array([v[1] for v in rows.values()], pa.string()),
            }
        )
        self.con.register(f"{name}_arrow", table)
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM {name}_arrow")
        self.con.unregister(f"{name}_arrow")
        return name

    def enriched(
        self, fact: str, day_sql: str, *, product: bool = True, customer: bool = True, money: tuple[str, ...] = ()
    ) -> str:
        """`e_<fact>`: the fact's rows plus rep/team/manager/region as of `day_sql`, product, customer and FX."""
        con = self.con
        fields = set(ENTITIES[fact].field_names)
        self.resolve(fact, "rep", None, "rep" if "rep" in fields else None, self.members["rep"])
        has_product = product and ("product_id" in fields or "product_name" in fields)
        has_customer = customer and ("customer_id" in fields or "customer_name" in fields)
        if has_product:
            self.resolve(
                fact,
                "product",
                "product_id" if "product_id" in fields else None,
                "product_name" if "product_name" in fields else None,
                self.members["product"],
            )
        if has_customer:
            self.resolve(
                fact,
                "customer",
                "customer_id" if "customer_id" in fields else None,
                "customer_name" if "customer_name" in fields else None,
                self.members["customer"],
            )
        select = [
            "f.*",
            f"{day_sql} AS _day",
            "mr.member_id AS _rep_id",
        ]
        joins = [
            f"LEFT JOIN m_{fact}_rep mr ON mr.label_raw IS NOT DISTINCT FROM {'f.rep' if 'rep' in fields else 'NULL'}"
        ]
        if has_product:
            pid = "f.product_id" if "product_id" in fields else "NULL"
            pname = "f.product_name" if "product_name" in fields else "NULL"
            joins.append(
                f"LEFT JOIN m_{fact}_product mp ON mp.id_raw IS NOT DISTINCT FROM {pid} "
                f"AND mp.label_raw IS NOT DISTINCT FROM {pname} LEFT JOIN snap.products p ON p.product_id = mp.member_id"
            )
            select += [
                "p.product_id AS _product_id",
                "p.product AS _product",
                "p.category AS _p_category",
                "p.subcategory AS _p_subcategory",
                "p.unit_cost AS _unit_cost",
            ]
        if has_customer:
            cid = "f.customer_id" if "customer_id" in fields else "NULL"
            cname = "f.customer_name" if "customer_name" in fields else "NULL"
            joins.append(
                f"LEFT JOIN m_{fact}_customer mc ON mc.id_raw IS NOT DISTINCT FROM {cid} "
                f"AND mc.label_raw IS NOT DISTINCT FROM {cname} LEFT JOIN snap.customers c ON c.customer_id = mc.member_id"
            )
            select += [
                "c.customer_id AS _customer_id",
                "c.customer AS _customer",
                "c.person_id AS _person_id",
                "c.segment AS _c_segment",
                "c.country AS _c_country",
                "c.province AS _c_province",
                "c.city AS _c_city",
                "c.channel AS _c_channel",
                "c.region AS _c_region",
            ]
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW s_{fact} AS SELECT {', '.join(select)} FROM u_{fact} f {' '.join(joins)}"
        )
        # Roster as of the row's day: the latest assignment starting on or before it, else the first one. The
        # as-of join runs on the distinct (rep, day) pairs, a few thousand rows, not on the wide fact rows (an
        # as-of join sorts its whole input: 1.3 s on a million order lines); the facts then take a hash join.
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE ra_{fact} AS SELECT k._rep_id, k._day, "
            "coalesce(a.team, first_a.team) AS _team, coalesce(a.manager, first_a.manager) AS _manager, "
            "coalesce(a.region, first_a.region) AS _rep_region, coalesce(a.rep_name, first_a.rep_name) AS _rep_name "
            f"FROM (SELECT DISTINCT _rep_id, _day FROM s_{fact} WHERE _rep_id IS NOT NULL) k "
            "ASOF LEFT JOIN d_roster a ON k._rep_id = a.rep_id AND k._day >= a.valid_from "
            "LEFT JOIN (SELECT * FROM d_roster QUALIFY row_number() OVER (PARTITION BY rep_id ORDER BY valid_from) = 1) "
            "first_a ON first_a.rep_id = k._rep_id"
        )
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW r_{fact} AS SELECT s.*, a._team, a._manager, a._rep_region, a._rep_name "
            f"FROM s_{fact} s LEFT JOIN ra_{fact} a ON a._rep_id = s._rep_id AND a._day IS NOT DISTINCT FROM s._day"
        )
        # A view takes no parameters: the currency is inlined, a three-letter code the settings already checked.
        if not re.fullmatch(r"[A-Z]{3}", self.currency):
            raise ValueError(f"reporting currency must be a three-letter code, got {self.currency!r}")
        cur = f"'{self.currency}'"
        fx_cols = []
        for col in money:
            fx_cols.append(f"CASE WHEN upper(r.currency) = {cur} THEN r.{col} ELSE r.{col} * fx.rate END AS _{col}_rc")
        fx_join = ""
        if money:
            # The rate of each distinct (currency, day), as of that day; the facts take it by a hash join.
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE fxa_{fact} AS SELECT k._cur, k._day, fx.rate "
                f"FROM (SELECT DISTINCT upper(f.currency) AS _cur, {day_sql} AS _day FROM u_{fact} f) k "
                "ASOF LEFT JOIN d_fx fx ON fx.currency = k._cur AND k._day >= fx.rate_date"
            )
            fx_join = (
                f"LEFT JOIN fxa_{fact} fx ON fx._cur IS NOT DISTINCT FROM upper(r.currency) "
                "AND fx._day IS NOT DISTINCT FROM r._day"
            )
        fx_rate = (
            f"CASE WHEN upper(r.currency) = {cur} THEN 1.0 ELSE fx.rate END AS _fx_rate"
            if money
            else "NULL AS _fx_rate"
        )
        # A view: the fact's one CREATE TABLE in snap runs the joins once, with no copy of the rows in between.
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW e_{fact} AS SELECT r.*, {fx_rate}{', ' if fx_cols else ''}{', '.join(fx_cols)} "
            f"FROM r_{fact} r {fx_join}"
        )
        if money:
            self._report_missing_fx(fact, day_sql, money[0])
        return f"e_{fact}"

    def _report_missing_fx(self, fact: str, day_sql: str, amount: str) -> None:
        """Report the rows in a foreign currency with no rate on or before their day (left out of totals)."""
        for source, n, currencies in self.con.execute(
            f"SELECT f.source, count(*), string_agg(DISTINCT f._cur, ', ') FROM (SELECT f.source, "
            f"upper(f.currency) AS _cur, {day_sql} AS _day FROM u_{fact} f WHERE upper(f.currency) <> $cur "
            f"AND f.{amount} IS NOT NULL) f ASOF LEFT JOIN d_fx fx ON fx.currency = f._cur AND f._day >= fx.rate_date "
            "WHERE fx.rate IS NULL GROUP BY 1",
            {"cur": self.currency},
        ).fetchall():
            self.report.add(
                source,
                "fx_missing",
                f"{fact}: no exchange rate to {self.currency} on or before the row's date for "
                f"{currencies}; these amounts are left out of every total",
                n,
            )
