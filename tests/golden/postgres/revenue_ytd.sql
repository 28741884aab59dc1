-- revenue_ytd (cumulative) in postgres: scope regions=华东, by region, grain month, 2026-01-01..2026-12-31, fiscal year from April. Generated; do not edit.
SELECT
  *
FROM (
  SELECT
    "t2"."period",
    "t2"."region",
    SUM("t2"."revenue_ytd") OVER (
      PARTITION BY "t2"."region", DATE_TRUNC('YEAR', "t2"."period" - INTERVAL '3 MONTH') + INTERVAL '3 MONTH'
      ORDER BY "t2"."period" ASC
      ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
    ) AS "revenue_ytd"
  FROM (
    SELECT
      DATE_TRUNC('MONTH', "t1"."order_day") AS "period",
      "t1"."region",
      SUM("t1"."amount") FILTER(WHERE
        "t1"."is_cancelled" = FALSE) AS "revenue_ytd"
    FROM (
      SELECT
        *
      FROM "orders" AS "t0"
      WHERE
        COALESCE("t0"."region" IN ('华东'), FALSE)
        AND "t0"."order_day" IS NOT NULL
        AND "t0"."order_day" >= MAKE_DATE(2025, 4, 1)
        AND "t0"."order_day" <= MAKE_DATE(2026, 12, 31)
    ) AS "t1"
    GROUP BY
      1,
      2
  ) AS "t2"
) AS "t3"
WHERE
  "t3"."period" >= MAKE_DATE(2026, 1, 1)
