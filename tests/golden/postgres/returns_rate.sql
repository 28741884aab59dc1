-- returns_rate (ratio) in postgres: scope regions=华东, by region, grain month, 2026-01-01..2026-12-31, fiscal year from April. Generated; do not edit.
SELECT
  DATE_TRUNC('MONTH', "t1"."order_day") AS "period",
  "t1"."region",
  SUM("t1"."returned_amount") FILTER(WHERE
    "t1"."is_return" = TRUE) AS "returns_rate__num",
  SUM("t1"."amount") FILTER(WHERE
    "t1"."is_return" = FALSE) AS "returns_rate__den"
FROM (
  SELECT
    "t0"."line_id",
    "t0"."order_id",
    "t0"."order_date",
    "t0"."order_day",
    "t0"."ship_date",
    "t0"."status",
    "t0"."is_cancelled",
    "t0"."is_return",
    "t0"."returned_line_id",
    "t0"."customer_id",
    "t0"."customer",
    "t0"."person_id",
    "t0"."segment",
    "t0"."product_id",
    "t0"."product",
    "t0"."category",
    "t0"."subcategory",
    "t0"."quantity",
    "t0"."unit_price",
    "t0"."discount",
    "t0"."amount",
    "t0"."cost",
    "t0"."amount_local",
    "t0"."currency",
    "t0"."fx_rate",
    "t0"."rep_id",
    "t0"."rep",
    "t0"."team",
    "t0"."manager",
    "t0"."region",
    "t0"."channel",
    "t0"."country",
    "t0"."province",
    "t0"."city",
    "t0"."is_first_order",
    -(
      "t0"."amount"
    ) AS "returned_amount"
  FROM "orders" AS "t0"
  WHERE
    COALESCE("t0"."region" IN ('华东'), FALSE)
    AND "t0"."order_day" IS NOT NULL
    AND "t0"."order_day" >= MAKE_DATE(2026, 1, 1)
    AND "t0"."order_day" <= MAKE_DATE(2026, 12, 31)
    AND "t0"."is_cancelled" = FALSE
) AS "t1"
GROUP BY
  1,
  2
