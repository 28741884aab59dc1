-- stage_conversion (conversion) in postgres: scope regions=华东, by region, grain month, 2026-01-01..2026-12-31, fiscal year from April. Generated; do not edit.
SELECT
  "t7"."period",
  "t7"."region",
  COUNT(DISTINCT "t7"."_entity") FILTER(WHERE
    (
      "t7"."_reached" IS NOT NULL
    ) AND (
      "t7"."_reached" >= "t7"."_entered"
    )) AS "stage_conversion__num",
  COUNT(DISTINCT "t7"."_entity") AS "stage_conversion__den"
FROM (
  SELECT
    "t5"."period",
    "t5"."region",
    "t5"."_entity",
    "t5"."_entered",
    "t6"."_reached"
  FROM (
    SELECT
      DATE_TRUNC('MONTH', "t1"."reached_day") AS "period",
      "t1"."region",
      "t1"."opportunity_id" AS "_entity",
      MIN("t1"."reached_day") AS "_entered"
    FROM (
      SELECT
        *
      FROM "deal_funnel" AS "t0"
      WHERE
        COALESCE("t0"."region" IN ('华东'), FALSE)
        AND "t0"."reached_day" IS NOT NULL
        AND "t0"."reached_day" >= MAKE_DATE(2026, 1, 1)
        AND "t0"."reached_day" <= MAKE_DATE(2026, 12, 31)
        AND "t0"."stage" = '线索确认'
    ) AS "t1"
    GROUP BY
      1,
      2,
      3
  ) AS "t5"
  LEFT OUTER JOIN (
    SELECT
      "t2"."opportunity_id" AS "_conv_entity",
      MIN("t2"."reached_day") AS "_reached"
    FROM (
      SELECT
        *
      FROM "deal_funnel" AS "t0"
      WHERE
        COALESCE("t0"."region" IN ('华东'), FALSE)
        AND "t0"."reached_day" IS NOT NULL
        AND "t0"."stage" = '赢单'
    ) AS "t2"
    GROUP BY
      1
  ) AS "t6"
    ON "t5"."_entity" = "t6"."_conv_entity"
) AS "t7"
GROUP BY
  1,
  2
