"""Monthly sales targets (月度目标) and warehouse stock levels (库存).

Targets are set from a forecast of each rep's revenue, 0–10% above it and rounded to whole 元; a team's target is
the sum of its reps' targets in that month (S004 counts in T-E2 from 2025-07). The forecast blends the expected
revenue of the rep's customers under the volume model (calendar effects, growth, new customers joining) with
the pipeline the managers knew about (the business as it turned out, before any injected anomaly), so that
attainment is mostly 85–110% rather than swinging with every large order.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from demo.company import (
    CHANNELS,
    PRODUCTS,
    REPS,
    START_DATE,
    TARGETS_END,
    TEAM_BY_ID,
    WAREHOUSE_OF_REGION,
    WAREHOUSES,
    team_of,
)
from demo.orders import STOCKED, cny

INVENTORY_DAYS = 180


def _months() -> np.ndarray:
    return np.arange(np.datetime64(START_DATE, "M"), np.datetime64(TARGETS_END, "M") + 1)


def expected_revenue(
    customers: pd.DataFrame, intensity: np.ndarray, scale: float, order_value: np.ndarray
) -> np.ndarray:
    """Expected revenue (CNY) per rep (rows) and month (columns, START_DATE..TARGETS_END).

    `intensity` holds expected orders per day and channel through TARGETS_END; `order_value[channel, person]`
    the mean order value in CNY.
    """
    months = _months()
    first = (months.astype("datetime64[D]") - np.datetime64(START_DATE)).astype(np.int64)
    last = ((months + 1).astype("datetime64[D]") - np.datetime64(START_DATE)).astype(np.int64) - 1
    active_from = customers["active_from"].to_numpy()
    weight = customers["weight"].to_numpy()
    person = (customers["segment"].to_numpy() == "个人").astype(np.int64)
    out = np.zeros((len(REPS), len(months)))
    days = np.arange(intensity.shape[0])
    for c in range(len(CHANNELS)):
        pool = np.flatnonzero(customers["channel"].to_numpy() == c)
        pool = pool[np.argsort(active_from[pool], kind="stable")]
        cum = np.cumsum(weight[pool])
        pool_weight = cum[np.searchsorted(active_from[pool], days, side="right") - 1]
        per_weight = np.concatenate([[0.0], np.cumsum(scale * intensity[:, c] / pool_weight)])  # G[d + 1]
        lo = np.maximum(first[None, :], active_from[pool][:, None])
        orders = np.where(lo <= last[None, :], per_weight[last + 1][None, :] - per_weight[lo], 0.0)
        value = weight[pool] * order_value[c, person[pool]]
        np.add.at(out, customers["rep"].to_numpy()[pool], orders * value[:, None])
    return out


def mean_order_value(lines: pd.DataFrame, customers: pd.DataFrame, usd_rate: np.ndarray) -> np.ndarray:
    """Mean completed order value in CNY per channel (rows) and buyer kind (column 0 organisation, 1 person)."""
    lines = lines[~lines["cancelled"].to_numpy()]
    value = pd.Series(cny(lines, "amount", usd_rate)).groupby(lines["order"].to_numpy()).sum()
    first = lines.drop_duplicates("order").set_index("order")
    person = (customers["segment"].to_numpy() == "个人")[first["customer"].to_numpy()]
    table = pd.DataFrame({"channel": first["channel"].to_numpy(), "person": person, "value": value[first.index]})
    means = table.groupby(["channel", "person"])["value"].mean()
    out = np.zeros((len(CHANNELS), 2))
    for (c, p), v in means.items():
        out[c, int(p)] = v
    return out


PIPELINE_WEIGHT = 0.65


def realised_revenue(lines: pd.DataFrame, usd_rate: np.ndarray) -> np.ndarray:
    """Revenue (CNY) of completed lines per rep and month (START_DATE..TARGETS_END; NaN after the data ends)."""
    months = _months()
    live = lines[~lines["cancelled"].to_numpy()]
    month = (np.datetime64(START_DATE) + live["day"].to_numpy().astype("timedelta64[D]")).astype("datetime64[M]")
    out = np.zeros((len(REPS), len(months)))
    np.add.at(out, (live["rep"].to_numpy(), (month - months[0]).astype(np.int64)), cny(live, "amount", usd_rate))
    out[:, months > month.max()] = np.nan
    return out


def targets(rng: np.random.Generator, expected: np.ndarray, realised: np.ndarray) -> pd.DataFrame:
    """The 月度目标 sheet: rep rows and team rows (team = exact sum of its reps) for every month."""
    months = _months()
    forecast = np.where(
        np.isnan(realised), expected, PIPELINE_WEIGHT * np.nan_to_num(realised) + (1 - PIPELINE_WEIGHT) * expected
    )
    lift = rng.uniform(1.0, 1.1, expected.shape)
    amount = np.round(forecast * lift).astype(np.int64)
    rows = []
    for m, month in enumerate(months):
        first_day = dt.date.fromisoformat(str(month) + "-01")
        teams = [team_of(r.id, first_day) for r in REPS]
        for team in TEAM_BY_ID:
            members = [i for i, t in enumerate(teams) if t == team]
            label = TEAM_BY_ID[team].label
            rows.append((str(month), "团队", label, "", int(amount[members, m].sum())))
            rows.extend((str(month), "业务员", label, REPS[i].name, int(amount[i, m])) for i in members)
    return pd.DataFrame(rows, columns=["月份", "层级", "团队", "业务员", "目标金额"])


def inventory(rng: np.random.Generator, lines: pd.DataFrame, customers: pd.DataFrame, last_day: int) -> pd.DataFrame:
    """Closing stock per stocked product × warehouse × day over the last INVENTORY_DAYS days (never negative).

    Demand is what the region's customers took (net of returns; bulk project orders ship from the vendor).
    Each warehouse reorders up to ~30 days of demand when stock falls below ~7 days; goods arrive 3 days later.
    """
    first_day = last_day - INVENTORY_DAYS + 1
    products = np.flatnonzero(STOCKED)
    warehouse_of_rep = np.array([WAREHOUSES.index(WAREHOUSE_OF_REGION[r.region]) for r in REPS])
    used = lines[
        ~lines["cancelled"].to_numpy() & ~lines["bulk"].to_numpy() & (lines["day"].to_numpy() >= first_day - 60)
    ]
    slot = np.searchsorted(products, used["product"].to_numpy())
    stocked = STOCKED[used["product"].to_numpy()]
    wh = warehouse_of_rep[used["rep"].to_numpy()]
    n_slots = len(products) * len(WAREHOUSES)
    demand = np.zeros((last_day - first_day + 61, n_slots))
    np.add.at(
        demand,
        (used["day"].to_numpy()[stocked] - (first_day - 60), slot[stocked] * len(WAREHOUSES) + wh[stocked]),
        used["qty"].to_numpy()[stocked],
    )
    daily = np.maximum(demand[:60].mean(axis=0), 0.2)
    reorder, order_up_to = np.ceil(daily * 7), np.ceil(daily * rng.uniform(25, 35, n_slots))
    stock = np.ceil(order_up_to * rng.uniform(0.5, 1.0, n_slots))
    pipeline = np.zeros((3, n_slots))
    levels = np.empty((INVENTORY_DAYS, n_slots), dtype=np.int64)
    for i in range(INVENTORY_DAYS):
        stock = stock + pipeline[0]
        pipeline = np.roll(pipeline, -1, axis=0)
        pipeline[-1] = 0.0
        stock = np.maximum(stock - demand[60 + i], 0.0)
        on_order = pipeline.sum(axis=0)
        short = stock + on_order < reorder
        pipeline[-1] = np.where(short, order_up_to - stock - on_order, 0.0)
        levels[i] = stock.astype(np.int64)
    dates = np.datetime64(START_DATE) + np.arange(first_day, last_day + 1).astype("timedelta64[D]")
    return pd.DataFrame(
        {
            "日期": np.repeat(dates.astype(str), n_slots),
            "产品编号": np.tile(
                np.repeat(np.array([PRODUCTS[p].id for p in products]), len(WAREHOUSES)), INVENTORY_DAYS
            ),
            "仓库": np.tile(np.array(WAREHOUSES), len(products) * INVENTORY_DAYS),
            "库存数量": levels.ravel(),
        }
    )
