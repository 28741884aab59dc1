"""CRM: opportunities (商机) with their stage history, and the reps' follow-up activities (跟进).

Won deals are the B2B business that actually happened. Every B2B account buys on its own quarterly cycle
(framework agreements renewed every 91 days from an account-specific anniversary, so the cycles are spread over
the calendar rather than aligned to calendar quarters): one deal per account and cycle whose 直销/经销商 orders
reach 10万元 (smaller top-up orders bypass the CRM), its amount the cycle's order revenue in CNY and its close
date on the last working day up to three days before the cycle's first order. A mild month-end push pulls some
deals that would close in the first week of a month (more often after a quarter end) into the last working days
of the month before. A cycle that began before START_DATE is in range only if its first order is (drawn from the
account's order rate); a cycle still running at END_DATE is valued at its delivered orders plus the account's
run rate for the remaining days. Won deals cover ~85% of B2B revenue in every quarter. Lost deals close in every
month in proportion to the won deals, on working days like theirs (the win rate is steady, noise only); open
deals were created in the last five months. Every deal belongs to its customer's rep.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from demo.company import B2B_CHANNELS, CHANNELS, END_DATE, PRODUCTS, REPS, START_DATE
from demo.ledger import fen_text, timestamps
from demo.orders import cny

STAGES = ("线索确认", "需求分析", "方案报价", "商务谈判")
WON, LOST = "赢单", "输单"
DEALS_PER_SCALE = 6_000
MIN_DEAL_CNY = 100_000
LOST_PER_WON = 0.6  # → win rate ~62% in every month
LOST_NOISE = 0.08  # month-to-month noise of the lost/won ratio (lognormal sigma)
CYCLE_DAYS = 91  # an account's buying cycle (one won deal per cycle at most)
PUSH_DAYS = 7  # closes in the first week of a month may be pulled into the month before ...
MONTH_END_PUSH, QUARTER_END_PUSH = 0.2, 0.4  # ... with this probability (higher when that month ends a quarter)
_LAST = (END_DATE - START_DATE).days
_ACTIVITY_TYPES = ("电话", "拜访", "微信", "邮件")
_ACTIVITY_P = {  # by channel of the customer
    "直销": (0.30, 0.35, 0.25, 0.10),
    "经销商": (0.40, 0.15, 0.35, 0.10),
    "电商": (0.30, 0.00, 0.60, 0.10),
    "电话销售": (0.70, 0.00, 0.20, 0.10),
}


def business_seconds(rng: np.random.Generator, n: int) -> np.ndarray:
    """Random times of day between 08:30 and 18:30."""
    return rng.integers(8 * 3600 + 1800, 18 * 3600 + 1800, n)


def _friday_if_weekend(day: np.ndarray) -> np.ndarray:
    """Weekend day indexes moved back to the Friday before (START_DATE, day 0, was a Monday)."""
    return day - np.maximum(day % 7 - 4, 0)


def _month_end_push(rng: np.random.Generator, close: np.ndarray) -> np.ndarray:
    """Pull some closes from the first PUSH_DAYS days of a month into the last working days of the month before."""
    date = np.datetime64(START_DATE) + close.astype("timedelta64[D]")
    month = date.astype("datetime64[M]")
    into_month = (date - month.astype("datetime64[D]")).astype(np.int64)  # 0 on the 1st
    quarter_start = (month.astype(np.int64) % 12) % 3 == 0  # the month before ended a quarter
    pulled = (into_month < PUSH_DAYS) & (
        rng.random(len(close)) < np.where(quarter_start, QUARTER_END_PUSH, MONTH_END_PUSH)
    )
    # one of the last three days of the month before (a weekend → the Friday before)
    target = _friday_if_weekend(close - into_month - 1 - rng.integers(0, 3, len(close)))
    return np.where(pulled & (target >= 0), target, close)


def _won_deals(
    rng: np.random.Generator, lines: pd.DataFrame, customers: pd.DataFrame, usd_rate: np.ndarray
) -> pd.DataFrame:
    b2b = [CHANNELS.index(c) for c in B2B_CHANNELS]
    sold = lines[
        (lines["kind"].to_numpy() == "sale") & ~lines["cancelled"].to_numpy() & np.isin(lines["channel"], b2b)
    ].copy()
    sold["revenue"] = cny(sold, "amount", usd_rate)
    n_customers = len(customers)
    anniversary = rng.integers(0, CYCLE_DAYS, n_customers)
    customer = sold["customer"].to_numpy()
    since = np.clip(customers["active_from"].to_numpy(), 0, _LAST)
    active_days = _LAST + 1 - since
    run_rate = np.bincount(customer, sold["revenue"].to_numpy(), n_customers) / active_days  # CNY per day
    first_lines = ~sold.duplicated("order").to_numpy()
    order_rate = np.bincount(customer[first_lines], minlength=n_customers) / active_days  # orders per day
    sold["cycle"] = (sold["day"].to_numpy() - anniversary[customer]) // CYCLE_DAYS
    groups = sold.groupby(["customer", "cycle"], sort=True)
    deals = groups.agg(first_day=("day", "min"), amount=("revenue", "sum")).reset_index()
    account = deals["customer"].to_numpy()
    cycle_start = anniversary[account] + CYCLE_DAYS * deals["cycle"].to_numpy()
    # a cycle that began before START_DATE has its deal in the CRM range only if the account ordered nothing
    # between the cycle's start and START_DATE (drawn from its order rate); otherwise the deal closed earlier
    in_range = rng.random(len(deals)) < np.exp(-order_rate[account] * np.maximum(-cycle_start, 0))
    remaining = np.maximum(cycle_start + CYCLE_DAYS - (_LAST + 1), 0)  # days of the cycle after END_DATE
    deals["amount"] = deals["amount"].to_numpy() + run_rate[account] * remaining
    deals = deals[in_range & (deals["amount"].to_numpy() >= MIN_DEAL_CNY)]
    top = sold.sort_values("revenue", ascending=False, kind="stable").drop_duplicates(["customer", "cycle"])
    deals = deals.merge(top[["customer", "cycle", "product"]], on=["customer", "cycle"], how="left")
    n = len(deals)
    close = _friday_if_weekend(np.maximum(deals["first_day"].to_numpy() - rng.integers(0, 4, n), 0))
    close = _month_end_push(rng, close)
    cycle = np.maximum(np.round(rng.lognormal(np.log(40), 0.5, n)), 7).astype(np.int64)
    early = np.floor(rng.random(n) * (close + 1)).astype(np.int64)  # deals closing early in 2024 opened in range
    created = np.where(close - cycle >= 0, close - cycle, early)
    return pd.DataFrame(
        {
            "customer": deals["customer"].to_numpy(), "product": deals["product"].to_numpy(),
            "amount": deals["amount"].to_numpy(), "created": created, "close": close,
            "outcome": WON, "last_stage": len(STAGES),
        }
    )  # fmt: skip


def _lost_closes(rng: np.random.Generator, won_close: np.ndarray) -> np.ndarray:
    """Close days of the lost deals: per calendar month ~LOST_PER_WON × that month's won deals, on days drawn
    from the month's won closes (± a few days, same month), so that the monthly win rate is steady."""
    month = (np.datetime64(START_DATE) + won_close.astype("timedelta64[D]")).astype("datetime64[M]")
    month_no = (month - np.datetime64(START_DATE, "M")).astype(np.int64)
    n_months = int(month_no.max()) + 1
    won_per_month = np.bincount(month_no, minlength=n_months)
    n_lost = np.round(won_per_month * LOST_PER_WON * rng.lognormal(0.0, LOST_NOISE, n_months)).astype(np.int64)
    lost_month = np.repeat(np.arange(n_months), n_lost)
    ranked = np.sort(won_close)
    first = np.searchsorted(month_no[np.argsort(won_close, kind="stable")], np.arange(n_months))
    pick = first[lost_month] + np.floor(rng.random(len(lost_month)) * won_per_month[lost_month]).astype(np.int64)
    month_start = (np.datetime64(START_DATE, "M") + np.arange(n_months + 1)).astype("datetime64[D]")
    month_start = (month_start - np.datetime64(START_DATE)).astype(np.int64)
    low, high = month_start[lost_month], np.minimum(month_start[lost_month + 1] - 1, _LAST)
    close = _friday_if_weekend(np.clip(ranked[pick] + rng.integers(-2, 3, len(lost_month)), low, high))
    return np.where(close >= low, close, close + 3)  # a weekend at the start of the month → the Monday after


def _other_deals(
    rng: np.random.Generator, customers: pd.DataFrame, won: pd.DataFrame, lost_close: np.ndarray, n_open: int
) -> pd.DataFrame:
    """Lost deals closing on `lost_close` and open deals created in the last five months."""
    n_lost = len(lost_close)
    n = n_lost + n_open
    b2b = np.isin(customers["channel"].to_numpy(), [CHANNELS.index(c) for c in B2B_CHANNELS])
    lost = np.arange(n) < n_lost
    cycle = np.maximum(np.round(rng.lognormal(np.log(35), 0.5, n)), 5).astype(np.int64)
    close = np.concatenate([lost_close, np.full(n_open, -1)])
    early = np.floor(rng.random(n) * (close + 1)).astype(np.int64)
    opened = rng.integers(_LAST - 150, _LAST + 1, n)
    created = np.where(lost, np.where(close - cycle >= 0, close - cycle, early), opened)
    pool = np.flatnonzero(b2b)
    pool = pool[np.argsort(customers["active_from"].to_numpy()[pool], kind="stable")]
    weight = np.cumsum(customers["weight"].to_numpy()[pool])
    eligible = np.searchsorted(customers["active_from"].to_numpy()[pool], created, side="right")
    pick = np.minimum(np.searchsorted(weight, rng.random(n) * weight[eligible - 1], side="right"), eligible - 1)
    amount = won["amount"].to_numpy()[rng.integers(0, len(won), n)] * rng.uniform(0.6, 1.4, n)
    stage = np.searchsorted(np.cumsum((0.30, 0.30, 0.25, 0.15)), rng.random(n), side="right") + 1
    return pd.DataFrame(
        {
            "customer": pool[pick], "product": won["product"].to_numpy()[rng.integers(0, len(won), n)],
            "amount": amount, "created": created, "close": close,
            "outcome": np.where(lost, LOST, ""), "last_stage": stage,
        }
    )  # fmt: skip


def _stage_history(rng: np.random.Generator, deals: pd.DataFrame) -> pd.DataFrame:
    """One row per stage entered, strictly increasing in time; the first row is on the created date."""
    closed = deals["outcome"].to_numpy() != ""
    n_rows = deals["last_stage"].to_numpy() + closed
    deal = np.repeat(np.arange(len(deals)), n_rows)
    pos = pd.Series(deal).groupby(deal).cumcount().to_numpy()
    created = deals["created"].to_numpy()[deal]
    end = np.where(closed, deals["close"].to_numpy(), _LAST)[deal]
    day = created + np.floor(rng.random(len(deal)) * (end - created + 1)).astype(np.int64)
    day = np.where(pos == 0, created, day)
    is_last = pos == n_rows[deal] - 1
    day = np.where(is_last & closed[deal], end, day)
    stamp = day * 86_400 + business_seconds(rng, len(deal))
    order = np.lexsort((stamp, deal))
    stamp = stamp[order] + pos  # sorted within each deal; +pos seconds breaks ties
    names = np.array(STAGES + (WON, LOST), dtype=object)
    outcome_stage = np.where(deals["outcome"].to_numpy() == WON, len(STAGES), len(STAGES) + 1)[deal]
    stage = np.where(is_last & closed[deal], names[outcome_stage], names[np.minimum(pos, len(STAGES) - 1)])
    return pd.DataFrame({"deal": deal, "stage": stage, "day": stamp // 86_400, "sec": stamp % 86_400})


def make_deals(
    rng: np.random.Generator, lines: pd.DataFrame, customers: pd.DataFrame, usd_rate: np.ndarray, scale: float
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Deals (internal keys, numbered `deal` in created order) and their stage history."""
    won = _won_deals(rng, lines, customers, usd_rate)
    lost_close = _lost_closes(rng, won["close"].to_numpy())
    n_open = max(round(DEALS_PER_SCALE * scale) - len(won) - len(lost_close), round(0.1 * len(won)))
    deals = pd.concat([won, _other_deals(rng, customers, won, lost_close, n_open)], ignore_index=True)
    deals["amount"] = np.round(deals["amount"].to_numpy() * 100).astype(np.int64)  # fen
    deals["created_sec"] = business_seconds(rng, len(deals))
    deals = deals.sort_values(["created", "created_sec", "customer"], kind="stable").reset_index(drop=True)
    deals["rep"] = customers["rep"].to_numpy()[deals["customer"].to_numpy()]
    history = _stage_history(rng, deals)
    deals["stage"] = history.groupby("deal")["stage"].last().to_numpy()
    return deals, history


def opportunities_frame(deals: pd.DataFrame, customers: pd.DataFrame, deal_campaign: np.ndarray) -> pd.DataFrame:
    """crm_opportunities.csv."""
    created = np.datetime64(START_DATE) + deals["created"].to_numpy().astype("timedelta64[D]")
    close = np.datetime64(START_DATE) + np.maximum(deals["close"].to_numpy(), 0).astype("timedelta64[D]")
    names = customers["name"].to_numpy()[deals["customer"].to_numpy()]
    subcats = np.array([p.subcategory for p in PRODUCTS], dtype=object)[deals["product"].to_numpy()]
    return pd.DataFrame(
        {
            "Opportunity ID": deals["opportunity_id"].to_numpy(),
            "Opportunity Name": names + "-" + subcats + "采购项目",
            "Account ID": customers["customer_id"].to_numpy()[deals["customer"].to_numpy()],
            "Account Name": names,
            "Product ID": np.array([p.id for p in PRODUCTS], dtype=object)[deals["product"].to_numpy()],
            "Stage": deals["stage"].to_numpy(),
            "Amount": fen_text(deals["amount"].to_numpy()),
            "Currency": "CNY",
            "Created Date": created.astype(str),
            "Close Date": np.where(deals["close"].to_numpy() >= 0, close.astype(str), ""),
            "Owner ID": np.array([r.id for r in REPS], dtype=object)[deals["rep"].to_numpy()],
            "Campaign": deal_campaign,
        }
    )


def stage_history_frame(history: pd.DataFrame, deals: pd.DataFrame) -> pd.DataFrame:
    """crm_stage_history.csv."""
    return pd.DataFrame(
        {
            "Opportunity ID": deals["opportunity_id"].to_numpy()[history["deal"].to_numpy()],
            "Stage": history["stage"].to_numpy(),
            "Changed At": timestamps(history["day"].to_numpy(), history["sec"].to_numpy()),
        }
    )


def activities(rng: np.random.Generator, deals: pd.DataFrame, customers: pd.DataFrame, scale: float) -> pd.DataFrame:
    """跟进 records: several per deal between its creation and close, plus routine customer follow-ups."""
    end = np.where(deals["close"].to_numpy() >= 0, deals["close"].to_numpy(), _LAST)
    span = end - deals["created"].to_numpy()
    per_deal = np.minimum(1 + rng.poisson(span / 12.0), 12)
    deal = np.repeat(np.arange(len(deals)), per_deal)
    deal_day = deals["created"].to_numpy()[deal] + np.floor(rng.random(len(deal)) * (span[deal] + 1)).astype(np.int64)
    active_from = customers["active_from"].to_numpy()
    org = customers["segment"].to_numpy() != "个人"
    months_active = (_LAST - active_from) / 30.4
    per_customer = rng.poisson(np.where(org, 0.5, 0.08) * months_active * scale)
    cust = np.repeat(np.arange(len(customers)), per_customer)
    cust_day = active_from[cust] + np.floor(rng.random(len(cust)) * (_LAST - active_from[cust] + 1)).astype(np.int64)
    frame = pd.DataFrame(
        {
            "customer": np.concatenate([deals["customer"].to_numpy()[deal], cust]),
            "deal": np.concatenate([deal, np.full(len(cust), -1)]),
            "day": np.concatenate([deal_day, cust_day]),
        }
    )
    frame["sec"] = business_seconds(rng, len(frame))
    channel = customers["channel"].to_numpy()[frame["customer"].to_numpy()]
    u = rng.random(len(frame))
    kind = np.zeros(len(frame), dtype=np.int64)
    for c, name in enumerate(CHANNELS):
        rows = channel == c
        kind[rows] = np.minimum(np.searchsorted(np.cumsum(_ACTIVITY_P[name]), u[rows], side="right"), 3)
    frame["kind"] = kind
    frame = frame.sort_values(["day", "sec", "customer", "deal"], kind="stable").reset_index(drop=True)
    deal_ids = deals["opportunity_id"].to_numpy()
    return pd.DataFrame(
        {
            "跟进编号": np.char.add("GJ", np.char.zfill((np.arange(len(frame)) + 1).astype(str), 7)),
            "业务员编号": np.array([r.id for r in REPS], dtype=object)[
                customers["rep"].to_numpy()[frame["customer"].to_numpy()]
            ],
            "客户编号": customers["customer_id"].to_numpy()[frame["customer"].to_numpy()],
            "商机编号": np.where(frame["deal"].to_numpy() >= 0, deal_ids[np.maximum(frame["deal"].to_numpy(), 0)], ""),
            "跟进方式": np.array(_ACTIVITY_TYPES, dtype=object)[frame["kind"].to_numpy()],
            "跟进时间": timestamps(frame["day"].to_numpy(), frame["sec"].to_numpy()),
        }
    )
