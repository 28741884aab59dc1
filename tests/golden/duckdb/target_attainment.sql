-- target_attainment (derived) in duckdb: scope regions=华东, by region, grain month, 2026-01-01..2026-12-31, fiscal year from April. Generated; do not edit.
SELECT
  DATE_TRUNC('MONTH', "t1"."order_day") AS "period",
  "t1"."region",
  SUM("t1"."amount") AS "revenue"
FROM (
  SELECT
    *
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
  2;

SELECT
  DATE_TRUNC('MONTH', "t1"."period") AS "period",
  "t1"."region",
  SUM("t1"."amount") AS "revenue_target"
FROM (
  SELECT
    *
  FROM "targets" AS "t0"
  WHERE
    COALESCE("t0"."region" IN ('华东'), FALSE)
    AND "t0"."period" IS NOT NULL
    AND "t0"."period" >= MAKE_DATE(2026, 1, 1)
    AND "t0"."period" <= MAKE_DATE(2026, 12, 31)
    AND "t0"."metric" = 'revenue'
    AND "t0"."is_leaf" = TRUE
) AS "t1"
GROUP BY
  1,
  2
