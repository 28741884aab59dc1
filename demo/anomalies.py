"""The injected anomalies and the measurements written to ground_truth.json.

- south-online-drop: 华南 × 电商 loses 70% of its orders for one week (a small segment: the total barely moves);
- distributor-mix-margin: for one month part of the volume of the higher-margin channels (直销, 电商, 电话销售)
  moves to 经销商 as bulk 电脑整机 orders at 经销商's normal margin rate: company revenue stays at its level, the
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
MIX_NEIGHBOUR_MONTHS = ("2026-07", "2026-09")  # company revenue in MIX_MONTH is brought to their mean level
MIX_MARGIN_DROP = 0.03  # company gross margin % falls by 3 points in MIX_MONTH
STALE_DAY = dt.date(2026, 11, 12)
_REP_REGION = np.array([r.region for r in REPS], dtype=object)


def _day(d: dt.date) -> int:
    return (d - START_DATE).days


def _month_index(day: np.ndarray) -> np.ndarray:
    """Calendar month of each day index, counted from START_DATE's month (0)."""
    months = (np.datetime64(START_DATE) + day.astype("timedelta64[D]")).astype("datetime64[M]")
    return (months - np.datetime64(START_DATE, "M")).astype(np.int64)


def _columns(months: tuple[str, ...]) -> np.ndarray:
    return (np.array(months, dtype="datetime64[M]") - np.datetime64(START_DATE, "M")).astype(np.int64)


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


def _channel_months(lines: pd.DataFrame, usd_rate: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Revenue and gross profit in CNY of the live lines per channel (rows) and month (columns, `_month_index`)."""
    month = _month_index(lines["day"].to_numpy())
    n_months = int(month.max()) + 1
    key = lines["channel"].to_numpy() * n_months + month
    live = ~lines["cancelled"].to_numpy()
    revenue = np.where(live, cny(lines, "amount", usd_rate), 0.0)
    profit = revenue - np.where(live, cny(lines, "cost", usd_rate), 0.0)
    size, shape = len(CHANNELS) * n_months, (len(CHANNELS), n_months)
    return np.bincount(key, revenue, size).reshape(shape), np.bincount(key, profit, size).reshape(shape)


def divert_orders(rng: np.random.Generator, lines: pd.DataFrame, usd_rate: np.ndarray) -> pd.DataFrame:
    """Take the same share of every other channel's MIX_MONTH revenue away (whole orders, drawn at random).

    `add_bulk_orders` later gives 经销商 the volume back as bulk orders; the share is solved so that company
    revenue in the month is at the neighbouring months' mean level (MIX_NEIGHBOUR_MONTHS) when the company
    margin % has dropped by MIX_MARGIN_DROP. Runs before the channel margins are calibrated, so every channel
    keeps its margin % on the orders that remain.
    """
    dist = CHANNELS.index(MIX_CHANNEL)
    others = np.arange(len(CHANNELS)) != dist
    revenue, profit = _channel_months(lines, usd_rate)
    level = profit.sum(axis=1) / revenue.sum(axis=1)  # after calibration each channel-month has about this rate
    base = revenue[:, _columns(MIX_BASELINE_MONTHS)].sum(axis=1)
    month = revenue[:, _columns((MIX_MONTH,))[0]]
    target = (base * level).sum() / base.sum() - MIX_MARGIN_DROP
    m_dist, m_other = level[dist], (month[others] * level[others]).sum() / month[others].sum()
    total = revenue[:, _columns(MIX_NEIGHBOUR_MONTHS)].sum() / len(MIX_NEIGHBOUR_MONTHS)
    # margin after = (kept·m_other + (total − kept)·m_dist) / total = target; kept = others' remaining revenue
    kept = total * (target - m_dist) / (m_other - m_dist)
    away = min(max(1 - kept / month[others].sum(), 0.0), 1.0)
    order, channel = lines["order"].to_numpy(), lines["channel"].to_numpy()
    in_month = _month_index(lines["day"].to_numpy()) == _columns((MIX_MONTH,))[0]
    line_revenue = np.where(lines["cancelled"].to_numpy(), 0.0, cny(lines, "amount", usd_rate))
    dropped = []
    for c in range(len(CHANNELS)):
        if c == dist:
            continue
        rows = in_month & (channel == c)
        per_order = pd.Series(line_revenue[rows]).groupby(order[rows]).sum()
        shuffled = rng.permutation(len(per_order))
        n_away = int(np.searchsorted(np.cumsum(per_order.to_numpy()[shuffled]), away * per_order.sum()))
        dropped.append(per_order.index.to_numpy()[shuffled[:n_away]])
    drop = in_month.copy()
    drop[in_month] = np.isin(order[in_month], np.concatenate(dropped))
    return lines.loc[~drop].reset_index(drop=True)


def add_bulk_orders(
    rng: np.random.Generator, lines: pd.DataFrame, customers: pd.DataFrame, usd_rate: np.ndarray, scale: float
) -> pd.DataFrame:
    """Append bulk 电脑整机 orders of 经销商 customers in MIX_MONTH (the volume `divert_orders` took away).

    Bulk revenue X is solved so that the company margin % falls MIX_MARGIN_DROP below its level in the baseline
    months; the bulk lines' cost (project prices with vendor rebates) is set so that 经销商's own margin % in the
    month equals its baseline margin %.
    """
    dist = CHANNELS.index(MIX_CHANNEL)
    revenue, profit = _channel_months(lines, usd_rate)
    base, month = _columns(MIX_BASELINE_MONTHS), _columns((MIX_MONTH,))[0]
    r_base, p_base = revenue[:, base].sum(), profit[:, base].sum()
    rd_base, pd_base = revenue[dist, base].sum(), profit[dist, base].sum()
    r_m, p_m = revenue[:, month].sum(), profit[:, month].sum()
    rd_m, pd_m = revenue[dist, month], profit[dist, month]
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
    neighbours = done[done["month"].isin(MIX_NEIGHBOUR_MONTHS)]
    per_base_month = base.groupby("渠道")["revenue"].sum() / len(MIX_BASELINE_MONTHS)
    mix = {
        "company_revenue_before": base["revenue"].sum() / len(MIX_BASELINE_MONTHS),
        "company_revenue_neighbours": neighbours["revenue"].sum() / len(MIX_NEIGHBOUR_MONTHS),
        "company_revenue_during": month["revenue"].sum(),
        "channel_revenue_change": {
            c: month.loc[month["渠道"] == c, "revenue"].sum() / per_base_month[c] - 1 for c in CHANNELS
        },
        "company_margin_before": rate(base),
        "company_margin_during": rate(month),
        "channel_share_before": base.loc[base["渠道"] == MIX_CHANNEL, "revenue"].sum() / base["revenue"].sum(),
        "channel_share_during": month.loc[month["渠道"] == MIX_CHANNEL, "revenue"].sum() / month["revenue"].sum(),
        "channel_margin_change": {c: rate(month[month["渠道"] == c]) - rate(base[base["渠道"] == c]) for c in CHANNELS},
    }
    stale = {"rows": int((erp["订单日期"].str.slice(0, 10) == STALE_DAY.isoformat()).sum())}
    return {"south-online-drop": drop, "distributor-mix-margin": mix, "erp-stale-day": stale}
