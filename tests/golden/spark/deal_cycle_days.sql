-- deal_cycle_days (simple) in spark: scope regions=华东, by region, grain month, 2026-01-01..2026-12-31, fiscal year from April. Generated; do not edit.
SELECT
  DATE_TRUNC('month', `t1`.`close_date`) AS `period`,
  `t1`.`region`,
  AVG(`t1`.`cycle_days`) AS `deal_cycle_days`
FROM (
  SELECT
    `t0`.`opportunity_id`,
    `t0`.`opportunity_name`,
    `t0`.`customer_id`,
    `t0`.`customer`,
    `t0`.`product_id`,
    `t0`.`product`,
    `t0`.`category`,
    `t0`.`stage`,
    `t0`.`status`,
    `t0`.`amount`,
    `t0`.`amount_local`,
    `t0`.`currency`,
    `t0`.`created_date`,
    `t0`.`first_stage_date`,
    `t0`.`close_date`,
    `t0`.`campaign`,
    `t0`.`channel`,
    `t0`.`rep_id`,
    `t0`.`rep`,
    `t0`.`team`,
    `t0`.`manager`,
    `t0`.`region`,
    `t0`.`segment`,
    `t0`.`is_deleted`,
    `t0`.`updated_at`,
    DATEDIFF(DAY, `t0`.`first_stage_date`, `t0`.`close_date`) AS `cycle_days`
  FROM `opportunities` AS `t0`
  WHERE
    COALESCE(`t0`.`region` IN ('华东'), FALSE)
    AND `t0`.`close_date` IS NOT NULL
    AND `t0`.`close_date` >= MAKE_DATE(2026, 1, 1)
    AND `t0`.`close_date` <= MAKE_DATE(2026, 12, 31)
    AND `t0`.`status` = 'won'
    AND `t0`.`first_stage_date` IS NOT NULL
) AS `t1`
GROUP BY
  1,
  2
