-- new_customers (simple) in postgres: scope regions=华东, by region, grain month, 2026-01-01..2026-12-31, fiscal year from April. Generated; do not edit.
SELECT
  DATE_TRUNC('MONTH', "t1"."acquired_day") AS "period",
  "t1"."region",
  COUNT(DISTINCT "t1"."customer_id") AS "new_customers"
FROM (
  SELECT
    *
  FROM "customer_acquisitions" AS "t0"
  WHERE
    COALESCE("t0"."region" IN ('华东'), FALSE)
    AND "t0"."acquired_day" IS NOT NULL
    AND "t0"."acquired_day" >= MAKE_DATE(2026, 1, 1)
    AND "t0"."acquired_day" <= MAKE_DATE(2026, 12, 31)
) AS "t1"
GROUP BY
  1,
  2
