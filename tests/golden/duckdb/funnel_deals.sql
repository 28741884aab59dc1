-- funnel_deals (simple) in duckdb: scope regions=华东, by region, grain month, 2026-01-01..2026-12-31, fiscal year from April. Generated; do not edit.
SELECT
  DATE_TRUNC('MONTH', "t1"."cohort_day") AS "period",
  "t1"."region",
  COUNT(DISTINCT "t1"."opportunity_id") AS "funnel_deals"
FROM (
  SELECT
    *
  FROM "deal_funnel" AS "t0"
  WHERE
    COALESCE("t0"."region" IN ('华东'), FALSE)
    AND "t0"."cohort_day" IS NOT NULL
    AND "t0"."cohort_day" >= MAKE_DATE(2026, 1, 1)
    AND "t0"."cohort_day" <= MAKE_DATE(2026, 12, 31)
) AS "t1"
GROUP BY
  1,
  2
