"""CRM: opportunities (商机) with their stage history, and the reps' follow-up activities (跟进).

Won deals are the B2B business that actually happened: one deal per customer and quarter whose 直销/经销商
orders reach 10万元 (smaller top-up orders bypass the CRM), its amount the orders' revenue in CNY and its close
date just before the first of those orders; won deals cover ~85% of B2B revenue in every quarter. Lost and open deals come on top. Every deal belongs to its
customer's rep.
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
LOST_PER_WON = 0.5
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


def _won_deals(rng: np.random.Generator, lines: pd.DataFrame, usd_rate: np.ndarray) -> pd.DataFrame:
    b2b = [CHANNELS.index(c) for c in B2B_CHANNELS]
    sold = lines[
        (lines["kind"].to_numpy() == "sale") & ~lines["cancelled"].to_numpy() & np.isin(lines["channel"], b2b)
    ].copy()
    sold["revenue"] = cny(sold, "amount", usd_rate)
    month = (np.datetime64(START_DATE) + sold["day"].to_numpy().astype("timedelta64[D]")).astype("datetime64[M]")
    sold["quarter"] = (month - np.datetime64(START_DATE, "M")).astype(np.int64) // 3
    groups = sold.groupby(["customer", "quarter"], sort=True)
    deals = groups.agg(first_day=("day", "min"), amount=("revenue", "sum")).reset_index()
    deals = deals[deals["amount"].to_numpy() >= MIN_DEAL_CNY]
    top = sold.sort_values("revenue", ascending=False, kind="stable").drop_duplicates(["customer", "quarter"])
    deals = deals.merge(top[["customer", "quarter", "product"]], on=["customer", "quarter"], how="left")
    n = len(deals)
    close = np.maximum(deals["first_day"].to_numpy() - rng.integers(0, 4, n), 0)
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


def _other_deals(
    rng: np.random.Generator, customers: pd.DataFrame, won: pd.DataFrame, n_lost: int, n_open: int
) -> pd.DataFrame:
    """Lost deals over the whole range and open deals created in the last five months."""
    n = n_lost + n_open
    b2b = np.isin(customers["channel"].to_numpy(), [CHANNELS.index(c) for c in B2B_CHANNELS])
    lost = np.arange(n) < n_lost
    created = np.where(lost, rng.integers(0, _LAST - 20, n), rng.integers(_LAST - 150, _LAST + 1, n))
    pool = np.flatnonzero(b2b)
    pool = pool[np.argsort(customers["active_from"].to_numpy()[pool], kind="stable")]
    weight = np.cumsum(customers["weight"].to_numpy()[pool])
    eligible = np.searchsorted(customers["active_from"].to_numpy()[pool], created, side="right")
    pick = np.minimum(np.searchsorted(weight, rng.random(n) * weight[eligible - 1], side="right"), eligible - 1)
    amount = won["amount"].to_numpy()[rng.integers(0, len(won), n)] * rng.uniform(0.6, 1.4, n)
    cycle = np.maximum(np.round(rng.lognormal(np.log(35), 0.5, n)), 5).astype(np.int64)
    stage = np.searchsorted(np.cumsum((0.30, 0.30, 0.25, 0.15)), rng.random(n), side="right") + 1
    return pd.DataFrame(
        {
            "customer": pool[pick], "product": won["product"].to_numpy()[rng.integers(0, len(won), n)],
            "amount": amount, "created": created, "close": np.where(lost, np.minimum(created + cycle, _LAST), -1),
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
    won = _won_deals(rng, lines, usd_rate)
    n_lost = round(LOST_PER_WON * len(won))
    n_open = max(round(DEALS_PER_SCALE * scale) - len(won) - n_lost, round(0.1 * len(won)))
    deals = pd.concat([won, _other_deals(rng, customers, won, n_lost, n_open)], ignore_index=True)
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
