-- opportunities_created (simple) in spark: scope regions=华东, by region, grain month, 2026-01-01..2026-12-31, fiscal year from April. Generated; do not edit.
SELECT
  DATE_TRUNC('month', `t1`.`created_date`) AS `period`,
  `t1`.`region`,
  COUNT(DISTINCT `t1`.`opportunity_id`) AS `opportunities_created`
FROM (
  SELECT
    *
  FROM `opportunities` AS `t0`
  WHERE
    COALESCE(`t0`.`region` IN ('华东'), FALSE)
    AND `t0`.`created_date` IS NOT NULL
    AND `t0`.`created_date` >= MAKE_DATE(2026, 1, 1)
    AND `t0`.`created_date` <= MAKE_DATE(2026, 12, 31)
) AS `t1`
GROUP BY
  1,
  2
