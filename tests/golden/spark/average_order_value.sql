-- average_order_value (derived) in spark: scope regions=华东, by region, grain month, 2026-01-01..2026-12-31, fiscal year from April. Generated; do not edit.
SELECT
  DATE_TRUNC('month', `t1`.`order_day`) AS `period`,
  `t1`.`region`,
  SUM(`t1`.`amount`) AS `revenue`,
  COUNT(DISTINCT IF(`t1`.`is_return` = FALSE, `t1`.`order_id`, NULL)) AS `orders`
FROM (
  SELECT
    *
  FROM `orders` AS `t0`
  WHERE
    COALESCE(`t0`.`region` IN ('华东'), FALSE)
    AND `t0`.`order_day` IS NOT NULL
    AND `t0`.`order_day` >= MAKE_DATE(2026, 1, 1)
    AND `t0`.`order_day` <= MAKE_DATE(2026, 12, 31)
    AND `t0`.`is_cancelled` = FALSE
) AS `t1`
GROUP BY
  1,
  2
