-- win_rate (ratio) in duckdb: scope regions=华东, by region, grain month, 2026-01-01..2026-12-31, fiscal year from April. Generated; do not edit.
SELECT
  DATE_TRUNC('MONTH', "t1"."close_date") AS "period",
  "t1"."region",
  COUNT(DISTINCT "t1"."opportunity_id") FILTER(WHERE
    "t1"."status" = 'won') AS "win_rate__num",
  COUNT(DISTINCT "t1"."opportunity_id") FILTER(WHERE
    "t1"."status" IN ('won', 'lost')) AS "win_rate__den"
FROM (
  SELECT
    *
  FROM "opportunities" AS "t0"
  WHERE
    COALESCE("t0"."region" IN ('华东'), FALSE)
    AND "t0"."close_date" IS NOT NULL
    AND "t0"."close_date" >= MAKE_DATE(2026, 1, 1)
    AND "t0"."close_date" <= MAKE_DATE(2026, 12, 31)
) AS "t1"
GROUP BY
  1,
  2
