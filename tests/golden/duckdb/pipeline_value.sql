-- pipeline_value (simple) in duckdb: scope regions=华东, by region, grain —, 2026-01-01..2026-12-31, fiscal year from April. Generated; do not edit.
SELECT
  "t1"."region",
  SUM("t1"."amount") AS "pipeline_value"
FROM (
  SELECT
    *
  FROM "opportunities" AS "t0"
  WHERE
    COALESCE("t0"."region" IN ('华东'), FALSE) AND "t0"."status" = 'open'
) AS "t1"
GROUP BY
  1
