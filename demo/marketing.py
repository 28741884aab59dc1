"""Marketing: campaigns (活动), their daily spend, the leads they bring and every campaign touch.

About a third of the deals started as a campaign lead: the lead was created 1–21 days before the deal, in a
campaign running that day, and is marked 已转化 with the deal's id. Further leads did not convert. Each lead has
its first touch from its own campaign and sometimes later touches from other running campaigns.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from demo.company import CAMPAIGNS, END_DATE, REPS, START_DATE
from demo.crm import business_seconds
from demo.ledger import fen_text, timestamps

_LAST = (END_DATE - START_DATE).days
_START = np.array([(c.start - START_DATE).days for c in CAMPAIGNS])
_END = np.array([(c.end - START_DATE).days for c in CAMPAIGNS])
_CHANNEL = np.array([c.channel for c in CAMPAIGNS], dtype=object)
_IDS = np.array([c.id for c in CAMPAIGNS], dtype=object)
_PULL = {"搜索广告": 3.0, "展会": 6.0, "社交媒体": 2.0, "邮件营销": 1.0, "官网": 1.0}  # leads per running day, relative
_DAILY_BUDGET = {"搜索广告": 4_500.0, "展会": 12_000.0, "社交媒体": 2_500.0, "邮件营销": 400.0, "官网": 900.0}
CAMPAIGN_DEAL_SHARE = 0.35
LEADS_PER_CONVERSION = 6


def _running_campaign(rng: np.random.Generator, day: np.ndarray) -> np.ndarray:
    """A campaign running on each day (weighted by how many leads its channel pulls), or -1 if none."""
    running = (_START[None, :] <= day[:, None]) & (day[:, None] <= _END[None, :])
    pull = np.array([_PULL[c] for c in _CHANNEL])
    score = np.where(running, rng.random(running.shape) ** (1.0 / pull[None, :]), -1.0)
    return np.where(running.any(axis=1), score.argmax(axis=1), -1)


def campaigns_frame() -> pd.DataFrame:
    """campaigns.csv."""
    return pd.DataFrame(
        {
            "活动编号": _IDS,
            "活动名称": [c.name for c in CAMPAIGNS],
            "渠道": _CHANNEL,
            "开始日期": [c.start.isoformat() for c in CAMPAIGNS],
            "结束日期": [c.end.isoformat() for c in CAMPAIGNS],
        }
    )


def campaign_spend(rng: np.random.Generator) -> pd.DataFrame:
    """campaign_spend.csv: one row per running campaign and day up to END_DATE (CNY)."""
    days = np.arange(_LAST + 1)
    running = (_START[None, :] <= days[:, None]) & (days[:, None] <= _END[None, :])
    day, camp = np.nonzero(running)  # sorted by day, then campaign
    budget = np.array([_DAILY_BUDGET[c] for c in _CHANNEL])[camp]
    weekday = (day + 0) % 7  # START_DATE (2024-01-01) was a Monday
    weekend = np.where((weekday >= 5) & (_CHANNEL[camp] == "搜索广告"), 0.6, 1.0)
    opening = np.where((_CHANNEL[camp] == "展会") & (day - _START[camp] < 3), 4.0, 1.0)
    fen = np.round(budget * weekend * opening * rng.lognormal(0.0, 0.25, len(day)) * 100).astype(np.int64)
    dates = np.datetime64(START_DATE) + day.astype("timedelta64[D]")
    return pd.DataFrame(
        {"日期": dates.astype(str), "活动编号": _IDS[camp], "渠道": _CHANNEL[camp], "花费": fen_text(fen)}
    )


def attach_campaigns(rng: np.random.Generator, deals: pd.DataFrame) -> tuple[np.ndarray, pd.DataFrame]:
    """Pick the deals that came from a campaign lead; returns (campaign index per deal or -1, converted leads)."""
    n = len(deals)
    from_campaign = (rng.random(n) < CAMPAIGN_DEAL_SHARE) & (deals["created"].to_numpy() >= 1)
    lead_day = np.maximum(deals["created"].to_numpy() - rng.integers(1, 22, n), 0)
    campaign = np.where(from_campaign, _running_campaign(rng, lead_day), -1)
    rows = np.flatnonzero(campaign >= 0)
    leads = pd.DataFrame(
        {
            "day": lead_day[rows],
            "campaign": campaign[rows],
            "deal": rows,
            "rep": deals["rep"].to_numpy()[rows],
            "status": "已转化",
            "limit": deals["created"].to_numpy()[rows],  # later touches happen before the deal was opened
        }
    )
    return campaign, leads


def make_leads(rng: np.random.Generator, converted: pd.DataFrame) -> pd.DataFrame:
    """All leads (converted ones plus non-converting ones), numbered in time order."""
    n = LEADS_PER_CONVERSION * len(converted) - len(converted)
    day = rng.integers(0, _LAST + 1, n)
    campaign = _running_campaign(rng, day)
    keep = campaign >= 0
    day, campaign = day[keep], campaign[keep]
    age = _LAST - day
    u = rng.random(len(day))
    status = np.where(age <= 30, np.where(u < 0.3, "新建", "跟进中"), np.where(u < 0.45, "无效", "已关闭"))
    rep = rng.integers(0, len(REPS), len(day))
    others = pd.DataFrame({"day": day, "campaign": campaign, "deal": -1, "rep": rep, "status": status, "limit": _LAST})
    leads = pd.concat([converted, others], ignore_index=True)
    leads["sec"] = rng.integers(0, 86_400, len(leads))
    leads = leads.sort_values(["day", "sec", "campaign", "deal"], kind="stable").reset_index(drop=True)
    leads["lead_id"] = np.char.add("LD", np.char.zfill((np.arange(len(leads)) + 1).astype(str), 7))
    return leads


def leads_frame(leads: pd.DataFrame, deal_ids: np.ndarray) -> pd.DataFrame:
    """crm_leads.csv."""
    deal = leads["deal"].to_numpy()
    return pd.DataFrame(
        {
            "Lead ID": leads["lead_id"].to_numpy(),
            "Created At": timestamps(leads["day"].to_numpy(), leads["sec"].to_numpy()),
            "Campaign": _IDS[leads["campaign"].to_numpy()],
            "Channel": _CHANNEL[leads["campaign"].to_numpy()],
            "Status": leads["status"].to_numpy(),
            "Converted Opportunity ID": np.where(deal >= 0, deal_ids[np.maximum(deal, 0)], ""),
            "Owner ID": np.array([r.id for r in REPS], dtype=object)[leads["rep"].to_numpy()],
        }
    )


def touchpoints_frame(rng: np.random.Generator, leads: pd.DataFrame, deal_ids: np.ndarray) -> pd.DataFrame:
    """crm_touchpoints.csv: the lead's creation touch plus 0–3 later touches by running campaigns."""
    n = len(leads)
    extra = np.minimum(rng.poisson(0.8, n), 3)
    lead = np.repeat(np.arange(n), extra)
    first_day, limit = leads["day"].to_numpy()[lead], leads["limit"].to_numpy()[lead]
    day = np.minimum(first_day + rng.integers(1, 46, len(lead)), limit)
    campaign = _running_campaign(rng, day)
    ok = (campaign >= 0) & (day > first_day)
    touches = pd.DataFrame(
        {
            "lead": np.concatenate([np.arange(n), lead[ok]]),
            "campaign": np.concatenate([leads["campaign"].to_numpy(), campaign[ok]]),
            "day": np.concatenate([leads["day"].to_numpy(), day[ok]]),
            "sec": np.concatenate([leads["sec"].to_numpy(), business_seconds(rng, len(lead))[ok]]),
        }
    )
    touches = touches.sort_values(["day", "sec", "lead", "campaign"], kind="stable").reset_index(drop=True)
    deal = leads["deal"].to_numpy()[touches["lead"].to_numpy()]
    return pd.DataFrame(
        {
            "Touchpoint ID": np.char.add("TP", np.char.zfill((np.arange(len(touches)) + 1).astype(str), 8)),
            "Lead ID": leads["lead_id"].to_numpy()[touches["lead"].to_numpy()],
            "Opportunity ID": np.where(deal >= 0, deal_ids[np.maximum(deal, 0)], ""),
            "Campaign": _IDS[touches["campaign"].to_numpy()],
            "Channel": _CHANNEL[touches["campaign"].to_numpy()],
            "Time": timestamps(touches["day"].to_numpy(), touches["sec"].to_numpy()),
        }
    )
