-- stage_duration_days (simple) in spark: scope regions=华东, by region, grain month, 2026-01-01..2026-12-31, fiscal year from April. Generated; do not edit.
SELECT
  DATE_TRUNC('month', `t1`.`left_day`) AS `period`,
  `t1`.`region`,
  AVG(`t1`.`duration_days`) AS `stage_duration_days`
FROM (
  SELECT
    *
  FROM `opportunity_stages` AS `t0`
  WHERE
    COALESCE(`t0`.`region` IN ('华东'), FALSE)
    AND `t0`.`left_day` IS NOT NULL
    AND `t0`.`left_day` >= MAKE_DATE(2026, 1, 1)
    AND `t0`.`left_day` <= MAKE_DATE(2026, 12, 31)
    AND (
      `t0`.`duration_days` IS NOT NULL AND NOT ISNAN(`t0`.`duration_days`)
    )
) AS `t1`
GROUP BY
  1,
  2
