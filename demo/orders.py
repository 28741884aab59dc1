"""Order lines: daily order counts per channel, customers, times of day, products, quantities, prices and costs.

All amounts are integer fen (1/100 of the order currency) so that 金额 = 数量 × 单价 holds exactly. Lines carry
internal integer keys (`order`, `customer`, `rep`, `product`); the public ids are assigned by `demo.ledger`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from demo.company import CATEGORIES, CHANNEL_PRICE_FACTOR, CHANNELS, PRODUCTS, STOCKED_CATEGORIES

LINES_PER_ORDER_P = (0.45, 0.30, 0.15, 0.10)
#: P(category of a line | channel), categories in CATEGORIES order.
_CATEGORY_P = {
    "直销": (0.22, 0.28, 0.16, 0.16, 0.18),
    "经销商": (0.24, 0.38, 0.14, 0.18, 0.06),
    "电商": (0.16, 0.14, 0.10, 0.56, 0.04),
    "电话销售": (0.16, 0.16, 0.10, 0.46, 0.12),
}
#: subcategory → (popularity with organisations, popularity with persons, mean quantity for organisations,
#: mean quantity for persons)
_SUBCATEGORY = {
    "打印机": (3.0, 4.0, 3.0, 1.05), "复印机": (1.2, 0.0, 1.4, 1.0), "投影仪": (1.5, 1.0, 2.0, 1.0),
    "笔记本": (4.0, 5.0, 6.0, 1.05), "台式机": (3.0, 1.5, 5.0, 1.0), "服务器": (1.0, 0.0, 1.5, 1.0),
    "路由器": (2.0, 4.0, 3.0, 1.05), "交换机": (2.0, 0.5, 2.5, 1.0),
    "墨盒": (3.0, 5.0, 15.0, 2.5), "纸张": (4.0, 3.0, 20.0, 2.5), "硒鼓": (3.0, 2.0, 8.0, 1.8),
    "软件许可": (3.0, 2.0, 10.0, 1.1), "维保服务": (1.5, 0.5, 2.0, 1.0),
}  # fmt: skip
_CHANNEL_QTY = {"直销": 1.0, "经销商": 1.3, "电商": 0.5, "电话销售": 0.6}
_HOURS = {  # relative order frequency per hour of day (local time)
    "B2B": (0.2, 0.05, 0.02, 0.02, 0.02, 0.02, 0.05, 0.5, 3, 9, 11, 10, 5, 7, 10, 10, 9, 7, 3, 1.5, 1, 0.6, 0.4, 0.3),
    "电商": (4.5, 2.5, 1.2, 0.6, 0.4, 0.4, 0.8, 1.5, 2.5, 4, 5, 5, 5.5, 5, 5, 5, 5, 4.5, 5, 6, 7.5, 8.5, 8, 6),
    "电话销售": (0.1, 0, 0, 0, 0, 0, 0, 0.2, 2, 9, 10, 10, 6, 8, 10, 10, 9, 8, 4, 2, 1, 0.3, 0.1, 0.1),
}
CATEGORY_NAMES = tuple(CATEGORIES)
PRODUCT_CATEGORY = np.array([CATEGORY_NAMES.index(p.category) for p in PRODUCTS])
LIST_FEN = np.array([round(p.list_price * 100) for p in PRODUCTS], dtype=np.int64)
UNIT_COST = np.array([p.unit_cost for p in PRODUCTS])
STOCKED = np.array([p.category in STOCKED_CATEGORIES for p in PRODUCTS])


def _product_cdf(channel: str, person: bool) -> np.ndarray:
    """Cumulative P(product | channel, buyer is a person)."""
    cat_p = np.asarray(_CATEGORY_P[channel])
    pop = np.array([_SUBCATEGORY[p.subcategory][1 if person else 0] * p.list_price**-0.3 for p in PRODUCTS])
    if person:
        pop = pop * np.array([p.list_price < 10_000 for p in PRODUCTS])
    p = np.zeros(len(PRODUCTS))
    for c in range(len(CATEGORY_NAMES)):
        rows = PRODUCT_CATEGORY == c
        if pop[rows].sum() > 0:
            p[rows] = cat_p[c] * pop[rows] / pop[rows].sum()
    return np.cumsum(p / p.sum())


def _hour_cdf(channel: str) -> np.ndarray:
    weights = np.asarray(_HOURS["B2B" if channel in ("直销", "经销商") else channel], dtype=float)
    return np.cumsum(weights / weights.sum())


def draw_seconds(rng: np.random.Generator, channel: np.ndarray) -> np.ndarray:
    """Second of the local day for each order, by the channel's hour-of-day profile."""
    u, within = rng.random(len(channel)), rng.integers(0, 3600, len(channel))
    hour = np.zeros(len(channel), dtype=np.int64)
    for c, name in enumerate(CHANNELS):
        rows = channel == c
        hour[rows] = np.minimum(np.searchsorted(_hour_cdf(name), u[rows], side="right"), 23)
    return hour * 3600 + within


def _pick_customers(rng_u: np.ndarray, day: np.ndarray, channel: np.ndarray, customers: pd.DataFrame) -> np.ndarray:
    """Weighted choice among the channel's customers already active on the order day (prefix sampling)."""
    out = np.empty(len(day), dtype=np.int64)
    active_from = customers["active_from"].to_numpy()
    weight = customers["weight"].to_numpy()
    for c in range(len(CHANNELS)):
        pool = np.flatnonzero(customers["channel"].to_numpy() == c)
        pool = pool[np.argsort(active_from[pool], kind="stable")]
        cum = np.cumsum(weight[pool])
        rows = np.flatnonzero(channel == c)
        eligible = np.searchsorted(active_from[pool], day[rows], side="right")
        target = rng_u[rows] * cum[eligible - 1]
        out[rows] = pool[np.minimum(np.searchsorted(cum, target, side="right"), eligible - 1)]
    return out


def simulate_sales(
    rng: np.random.Generator, customers: pd.DataFrame, intensity: np.ndarray, usd_rate: np.ndarray, scale: float
) -> pd.DataFrame:
    """One row per sale line over all days of `intensity` (rows = days since START_DATE).

    Columns: order, line_no, day, sec, channel, customer, rep, product, qty, price, amount, cost (fen, in the
    line's currency), usd (bool), cancelled (bool), kind ("sale"), orig (-1), bulk (False).
    """
    n_days = intensity.shape[0]
    noise = rng.lognormal(0.0, 0.12, intensity.shape)
    counts = rng.poisson(scale * intensity * noise)
    flat = counts.ravel()  # day-major: (day 0, 直销), (day 0, 经销商), ...
    day = np.repeat(np.repeat(np.arange(n_days), len(CHANNELS)), flat)
    channel = np.repeat(np.tile(np.arange(len(CHANNELS)), n_days), flat)
    n_orders = len(day)
    customer = _pick_customers(rng.random(n_orders), day, channel, customers)
    sec = draw_seconds(rng, channel)
    n_lines = np.searchsorted(np.cumsum(LINES_PER_ORDER_P), rng.random(n_orders), side="right") + 1
    order = np.repeat(np.arange(n_orders), n_lines)
    person = (customers["segment"].to_numpy() == "个人")[customer]
    line_channel, line_person = channel[order], person[order]
    u = rng.random(len(order))
    product = np.empty(len(order), dtype=np.int64)
    for c, name in enumerate(CHANNELS):
        for is_person in (False, True):
            rows = (line_channel == c) & (line_person == is_person)
            product[rows] = np.minimum(
                np.searchsorted(_product_cdf(name, is_person), u[rows], side="right"), len(PRODUCTS) - 1
            )
    lines = pd.DataFrame({"order": order, "product": product})
    keep = ~lines.duplicated(["order", "product"]).to_numpy()  # one line per product and order
    order, product = order[keep], product[keep]
    line_channel, line_person = channel[order], person[order]
    org_mean = np.array([_SUBCATEGORY[p.subcategory][2] for p in PRODUCTS])
    person_mean = np.array([_SUBCATEGORY[p.subcategory][3] for p in PRODUCTS])
    channel_qty = np.array([_CHANNEL_QTY[c] for c in CHANNELS])
    mean_qty = np.where(line_person, person_mean[product], np.maximum(org_mean[product] * channel_qty[line_channel], 1))
    qty = 1 + rng.poisson(mean_qty - 1.0)
    discount = np.where(line_person, rng.uniform(0, 0.02, len(order)), rng.uniform(0, 0.05, len(order)))
    factor = np.array([CHANNEL_PRICE_FACTOR[c] for c in CHANNELS])[line_channel]
    price_cny = np.round(LIST_FEN[product] * factor * (1 - discount))
    usd = customers["export"].to_numpy()[customer][order]
    rate = usd_rate[day[order]]
    price = np.where(usd, np.round(price_cny / rate), price_cny).astype(np.int64)
    cost = np.round(qty * UNIT_COST[product] * 100 / np.where(usd, rate, 1.0)).astype(np.int64)
    line_no = pd.Series(order).groupby(order).cumcount().to_numpy() + 1
    return pd.DataFrame(
        {
            "order": order, "line_no": line_no, "day": day[order], "sec": sec[order], "channel": line_channel,
            "customer": customer[order], "rep": customers["rep"].to_numpy()[customer][order], "product": product,
            "qty": qty, "price": price, "amount": qty * price, "cost": cost, "usd": usd, "cancelled": False,
            "kind": "sale", "orig": -1, "bulk": False,
        }
    )  # fmt: skip


def cny(lines: pd.DataFrame, column: str, usd_rate: np.ndarray) -> np.ndarray:
    """A fen column converted to CNY yuan with the day's USD rate (float)."""
    values = lines[column].to_numpy() / 100.0
    return np.where(lines["usd"].to_numpy(), values * usd_rate[lines["day"].to_numpy()], values)


def cancel_orders(rng: np.random.Generator, lines: pd.DataFrame, share: float = 0.01) -> pd.DataFrame:
    """Flag ~`share` of orders as cancelled (all their lines)."""
    n_orders = int(lines["order"].max()) + 1
    cancelled = rng.random(n_orders) < share
    return lines.assign(cancelled=cancelled[lines["order"].to_numpy()])


def calibrate_channel_margins(
    rng: np.random.Generator, lines: pd.DataFrame, usd_rate: np.ndarray, rounds: int = 3
) -> pd.DataFrame:
    """Scale each channel-month's sale costs slightly so that every channel keeps a steady margin rate.

    Purchase costs drift a little from the standard cost; this keeps each channel's monthly gross margin %
    (sales net of returns) within ~0.1 point of its long-run level, so that company margin moves come from the
    channel mix. Return lines keep the unit cost of the line they reverse.
    """
    day, channel = lines["day"].to_numpy(), lines["channel"].to_numpy()
    month = (np.datetime64("2024-01-01") + day.astype("timedelta64[D]")).astype("datetime64[M]")
    month_no = (month - np.datetime64("2024-01", "M")).astype(np.int64)
    n_months = int(month_no.max()) + 1
    wobble = rng.normal(0.0, 0.001, (len(CHANNELS), n_months))
    live = ~lines["cancelled"].to_numpy()
    sale = lines["kind"].to_numpy() == "sale"
    ret = np.flatnonzero(~sale)
    orig = lines["orig"].to_numpy()[ret]
    qty = lines["qty"].to_numpy()
    rate = np.where(lines["usd"].to_numpy(), usd_rate[day], 1.0)
    revenue = lines["amount"].to_numpy() * rate
    cost = lines["cost"].to_numpy().astype(np.float64)
    levels = [
        1 - (cost * rate)[live & (channel == c)].sum() / revenue[live & (channel == c)].sum()
        for c in range(len(CHANNELS))
    ]
    for _ in range(rounds):
        factor = np.ones(len(lines))
        for c in range(len(CHANNELS)):
            rows = live & (channel == c)
            rev_m = np.bincount(month_no[rows], revenue[rows], n_months)
            cost_m = np.bincount(month_no[rows], (cost * rate)[rows], n_months)
            with np.errstate(invalid="ignore", divide="ignore"):
                k = np.where(cost_m > 0, (1 - levels[c] - wobble[c]) * rev_m / cost_m, 1.0)
            factor[channel == c] = k[month_no[channel == c]]
        cost = np.where(sale, np.round(cost * factor), cost)
        cost[ret] = -np.round(cost[orig] * -qty[ret] / qty[orig])
    return lines.assign(cost=cost.astype(np.int64))
