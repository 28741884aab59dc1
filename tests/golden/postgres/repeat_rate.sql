-- repeat_rate (ratio) in postgres: scope regions=华东, by region, grain month, 2026-01-01..2026-12-31, fiscal year from April. Generated; do not edit.
SELECT
  "t2"."period",
  "t2"."region",
  COUNT(*) FILTER(WHERE
    (
      "t2"."_in_num" > 0
    ) AND (
      "t2"."_h_num" >= 2.0
    )) AS "repeat_rate__num",
  COUNT(*) FILTER(WHERE
    "t2"."_in_den" > 0) AS "repeat_rate__den"
FROM (
  SELECT
    DATE_TRUNC('MONTH', "t1"."order_day") AS "period",
    "t1"."region",
    "t1"."person_id" AS "_entity",
    COUNT(*) FILTER(WHERE
      (
        "t1"."is_cancelled" = FALSE
      ) AND (
        "t1"."is_return" = FALSE
      )) AS "_in_num",
    COUNT(DISTINCT "t1"."order_id") FILTER(WHERE
      (
        "t1"."is_cancelled" = FALSE
      ) AND (
        "t1"."is_return" = FALSE
      )) AS "_h_num",
    COUNT(*) FILTER(WHERE
      (
        "t1"."is_cancelled" = FALSE
      ) AND (
        "t1"."is_return" = FALSE
      )) AS "_in_den"
  FROM (
    SELECT
      *
    FROM "orders" AS "t0"
    WHERE
      COALESCE("t0"."region" IN ('华东'), FALSE)
      AND "t0"."order_day" IS NOT NULL
      AND "t0"."order_day" >= MAKE_DATE(2026, 1, 1)
      AND "t0"."order_day" <= MAKE_DATE(2026, 12, 31)
      AND "t0"."person_id" IS NOT NULL
  ) AS "t1"
  GROUP BY
    1,
    2,
    3
) AS "t2"
GROUP BY
  1,
  2
