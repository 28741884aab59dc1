"""The injected anomalies and the measurements written to ground_truth.json.

- south-online-drop: 华南 × 电商 loses 70% of its orders for one week (a small segment: the total barely moves);
- distributor-mix-margin: 经销商 takes extra bulk 电脑整机 orders for one month at its normal margin rate, so the
  company margin % drops while every channel's own margin % is unchanged;
- erp-stale-day: the ERP export skipped one day (applied when the export is written).

The measurements use the same definitions as the tests: completed lines (已完成) of the ERP export, amounts
converted to CNY with the day's USD rate.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from demo.company import CHANNELS, PRODUCTS, REPS, START_DATE
from demo.orders import LIST_FEN, cny, draw_seconds

DROP_REGION, DROP_CHANNEL = "华南", "电商"
DROP_START, DROP_END, DROP_CHANGE = dt.date(2026, 10, 20), dt.date(2026, 10, 26), -0.7
MIX_CHANNEL, MIX_MONTH, MIX_BASELINE_MONTHS = "经销商", "2026-08", ("2026-05", "2026-06", "2026-07")
MIX_MARGIN_DROP = 0.03  # company gross margin % falls by 3 points in MIX_MONTH
STALE_DAY = dt.date(2026, 11, 12)
_REP_REGION = np.array([r.region for r in REPS], dtype=object)


def _day(d: dt.date) -> int:
    return (d - START_DATE).days


def _month_of(day: np.ndarray) -> np.ndarray:
    return (np.datetime64(START_DATE) + day.astype("timedelta64[D]")).astype("datetime64[M]").astype(str)


def _segment_rows(lines: pd.DataFrame) -> np.ndarray:
    return (
        (_REP_REGION[lines["rep"].to_numpy()] == DROP_REGION)
        & (lines["channel"].to_numpy() == CHANNELS.index(DROP_CHANNEL))
        & (lines["kind"].to_numpy() == "sale")
    )


def drop_segment(rng: np.random.Generator, lines: pd.DataFrame, usd_rate: np.ndarray) -> pd.DataFrame:
    """Cut 华南 × 电商 orders in the drop window to 30% of the average of the same weekdays in the 4 weeks before.

    The kept orders are chosen (among random draws) so that revenue, too, falls by ~70%.
    """
    start, end = _day(DROP_START), _day(DROP_END)
    seg = _segment_rows(lines) & ~lines["cancelled"].to_numpy()
    day = lines["day"].to_numpy()
    revenue = cny(lines, "amount", usd_rate)
    before = seg & (day >= start - 28) & (day < start)
    base_orders = lines.loc[before, "order"].nunique() / 4
    base_revenue = revenue[before].sum() / 4
    in_window = _segment_rows(lines) & (day >= start) & (day <= end)
    live_window = in_window & seg
    per_order = pd.Series(revenue[live_window]).groupby(lines["order"].to_numpy()[live_window]).sum()
    orders, values = per_order.index.to_numpy(), per_order.to_numpy()
    n_keep = min(round((1 + DROP_CHANGE) * base_orders), len(orders))
    best, best_gap = np.arange(n_keep), np.inf
    for _ in range(400):
        pick = rng.permutation(len(orders))[:n_keep]
        gap = abs(values[pick].sum() / max(base_revenue, 1.0) - (1 + DROP_CHANGE))
        if gap < best_gap:
            best, best_gap = np.sort(pick), gap
    keep = np.isin(lines["order"].to_numpy(), orders[best])
    return lines.loc[~in_window | keep].reset_index(drop=True)


def _month_totals(lines: pd.DataFrame, usd_rate: np.ndarray, months: tuple[str, ...], channel: int | None):
    live = ~lines["cancelled"].to_numpy() & np.isin(_month_of(lines["day"].to_numpy()), months)
    if channel is not None:
        live &= lines["channel"].to_numpy() == channel
    revenue = cny(lines, "amount", usd_rate)[live].sum()
    return revenue, revenue - cny(lines, "cost", usd_rate)[live].sum()


def add_bulk_orders(
    rng: np.random.Generator, lines: pd.DataFrame, customers: pd.DataFrame, usd_rate: np.ndarray, scale: float
) -> pd.DataFrame:
    """Append bulk 电脑整机 orders of 经销商 customers in MIX_MONTH.

    Bulk revenue X is solved so that the company margin % falls MIX_MARGIN_DROP below its level in the baseline
    months; the bulk lines' cost (project prices with vendor rebates) is set so that 经销商's own margin % in the
    month equals its baseline margin %.
    """
    dist = CHANNELS.index(MIX_CHANNEL)
    r_base, p_base = _month_totals(lines, usd_rate, MIX_BASELINE_MONTHS, None)
    rd_base, pd_base = _month_totals(lines, usd_rate, MIX_BASELINE_MONTHS, dist)
    r_m, p_m = _month_totals(lines, usd_rate, (MIX_MONTH,), None)
    rd_m, pd_m = _month_totals(lines, usd_rate, (MIX_MONTH,), dist)
    m_dist, target = pd_base / rd_base, p_base / r_base - MIX_MARGIN_DROP
    bulk_revenue = (p_m - pd_m + m_dist * rd_m - target * r_m) / (target - m_dist)

    first = np.datetime64(MIX_MONTH + "-01")
    month_days = np.arange(first, (first.astype("datetime64[M]") + 1).astype("datetime64[D]"))
    workdays = month_days[((month_days.astype(np.int64) - 4) % 7) < 5]
    n_orders = max(3, round(24 * scale))
    day = np.sort(rng.choice(workdays, n_orders)) - np.datetime64(START_DATE)
    day = day.astype(np.int64)
    pool = np.flatnonzero((customers["channel"].to_numpy() == dist) & (customers["active_from"].to_numpy() <= day[0]))
    weight = customers["weight"].to_numpy()[pool]
    customer = rng.choice(pool, n_orders, p=weight / weight.sum())
    computers = np.array([i for i, p in enumerate(PRODUCTS) if p.category == "电脑整机"])
    n_lines = rng.integers(2, 5, n_orders)
    order = np.repeat(np.arange(n_orders), n_lines) + int(lines["order"].max()) + 1
    product = np.concatenate([np.sort(rng.choice(computers, k, replace=False)) for k in n_lines])
    price = np.round(LIST_FEN[product] * 0.92 * (1 - rng.uniform(0.03, 0.06, len(product)))).astype(np.int64)
    raw_qty = rng.integers(20, 120, len(product)) * np.where(np.isin(product, computers[-3:]), 0.2, 1.0)
    qty = np.maximum(1, np.round(raw_qty * bulk_revenue * 100 / (raw_qty * price).sum())).astype(np.int64)
    amount = qty * price
    cost_total = round((pd_m + amount.sum() / 100 - m_dist * (rd_m + amount.sum() / 100)) * 100)
    cost = np.floor(amount * (cost_total / amount.sum())).astype(np.int64)
    cost[-1] += cost_total - cost.sum()
    idx = order - order[0]
    secs = draw_seconds(rng, np.full(n_orders, dist))
    line_no = pd.Series(idx).groupby(idx).cumcount().to_numpy() + 1
    bulk = pd.DataFrame(
        {
            "order": order, "line_no": line_no, "day": day[idx], "sec": secs[idx], "channel": dist,
            "customer": customer[idx], "rep": customers["rep"].to_numpy()[customer][idx], "product": product,
            "qty": qty, "price": price, "amount": amount, "cost": cost, "usd": False, "cancelled": False,
            "kind": "sale", "orig": -1, "bulk": True,
        }
    )  # fmt: skip
    return pd.concat([lines, bulk], ignore_index=True)


def _completed(erp: pd.DataFrame, usd_rate_by_day: pd.Series) -> pd.DataFrame:
    done = erp[erp["订单状态"] == "已完成"].copy()
    done["day"] = done["订单日期"].str.slice(0, 10)
    rate = np.where(done["币种"] == "USD", done["day"].map(usd_rate_by_day).to_numpy(), 1.0)
    done["revenue"] = done["金额"].astype(float) * rate
    done["cost_cny"] = done["成本"].astype(float) * rate
    return done


def measure(erp: pd.DataFrame, rep_region: dict[str, str], usd_rate_by_day: pd.Series) -> dict:
    """The anomaly figures measured on the ERP export (as written), keyed by anomaly id."""
    done = _completed(erp, usd_rate_by_day)
    done["region"] = done["业务员"].map(rep_region)
    sales = done[done["单据类型"] == "销售"]
    days = pd.to_datetime(sales["day"])
    start, end = pd.Timestamp(DROP_START), pd.Timestamp(DROP_END)
    window = (days >= start) & (days <= end)
    before = (days >= start - pd.Timedelta(days=28)) & (days < start)
    seg = (sales["region"] == DROP_REGION) & (sales["渠道"] == DROP_CHANNEL)
    drop = {
        "share_of_revenue": sales.loc[window & seg, "revenue"].sum() / sales.loc[window, "revenue"].sum(),
        "baseline_share_of_revenue": sales.loc[before & seg, "revenue"].sum() / sales.loc[before, "revenue"].sum(),
        "orders_change": sales.loc[window & seg, "订单编号"].nunique()
        / (sales.loc[before & seg, "订单编号"].nunique() / 4)
        - 1,
        "revenue_change": sales.loc[window & seg, "revenue"].sum() / (sales.loc[before & seg, "revenue"].sum() / 4) - 1,
    }
    done["month"] = done["day"].str.slice(0, 7)

    def rate(frame: pd.DataFrame) -> float:
        """Gross margin rate of the lines in `frame` (NaN without revenue)."""
        revenue = frame["revenue"].sum()
        return 1 - frame["cost_cny"].sum() / revenue if revenue else float("nan")

    base, month = done[done["month"].isin(MIX_BASELINE_MONTHS)], done[done["month"] == MIX_MONTH]
    mix = {
        "company_margin_before": rate(base),
        "company_margin_during": rate(month),
        "channel_share_before": base.loc[base["渠道"] == MIX_CHANNEL, "revenue"].sum() / base["revenue"].sum(),
        "channel_share_during": month.loc[month["渠道"] == MIX_CHANNEL, "revenue"].sum() / month["revenue"].sum(),
        "channel_margin_change": {c: rate(month[month["渠道"] == c]) - rate(base[base["渠道"] == c]) for c in CHANNELS},
    }
    stale = {"rows": int((erp["订单日期"].str.slice(0, 10) == STALE_DAY.isoformat()).sum())}
    return {"south-online-drop": drop, "distributor-mix-margin": mix, "erp-stale-day": stale}
