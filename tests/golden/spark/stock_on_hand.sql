-- stock_on_hand (simple) in spark: scope regions=华东, by —, grain month, 2026-01-01..2026-12-31, fiscal year from April. Generated; do not edit.
SELECT
  DATE_TRUNC('month', `t3`.`snapshot_date`) AS `period`,
  SUM(`t3`.`quantity_on_hand`) AS `stock_on_hand`
FROM (
  SELECT
    *
  FROM (
    SELECT
      `t1`.`snapshot_date`,
      `t1`.`product_id`,
      `t1`.`product_name`,
      `t1`.`location`,
      `t1`.`quantity_on_hand`,
      `t1`.`product`,
      `t1`.`category`,
      MAX(`t1`.`snapshot_date`) OVER (
        PARTITION BY DATE_TRUNC('month', `t1`.`snapshot_date`)
        ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
      ) AS `_last_day`
    FROM (
      SELECT
        *
      FROM `inventory` AS `t0`
      WHERE
        FALSE
        AND `t0`.`snapshot_date` IS NOT NULL
        AND `t0`.`snapshot_date` >= MAKE_DATE(2026, 1, 1)
        AND `t0`.`snapshot_date` <= MAKE_DATE(2026, 12, 31)
    ) AS `t1`
  ) AS `t2`
  WHERE
    `t2`.`snapshot_date` = `t2`.`_last_day`
) AS `t3`
GROUP BY
  1
