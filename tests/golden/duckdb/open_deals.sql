-- open_deals (simple) in duckdb: scope regions=华东, by region, grain —, 2026-01-01..2026-12-31, fiscal year from April. Generated; do not edit.
SELECT
  "t1"."region",
  COUNT(DISTINCT "t1"."opportunity_id") AS "open_deals"
FROM (
  SELECT
    *
  FROM "opportunities" AS "t0"
  WHERE
    COALESCE("t0"."region" IN ('华东'), FALSE) AND "t0"."status" = 'open'
) AS "t1"
GROUP BY
  1
