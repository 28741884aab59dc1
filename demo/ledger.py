"""Returns, public numbering (订单编号, 行号) and the ERP order export.

A return is its own order (RT…) with one negative line that points at the sold line (原行号): same customer,
product, rep, channel and currency, 3–30 days after the sale and never after END_DATE.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from demo.company import CHANNELS, END_DATE, PRODUCTS, REPS, START_DATE

RETURN_SHARE = 0.02


def make_returns(rng: np.random.Generator, lines: pd.DataFrame, skip_day: int) -> pd.DataFrame:
    """Append return lines for ~2% of completed sale lines (none for lines sold on `skip_day`)."""
    last_day = (END_DATE - START_DATE).days
    n = len(lines)
    chosen = rng.random(n) < RETURN_SHARE
    delay = rng.integers(3, 31, n)
    partial = rng.random(n) < 0.4
    back_u = rng.random(n)
    sec = rng.integers(9 * 3600, 18 * 3600, n)
    day = lines["day"].to_numpy()
    ok = (
        chosen
        & (lines["kind"].to_numpy() == "sale")
        & ~lines["cancelled"].to_numpy()
        & ~lines["bulk"].to_numpy()
        & (day != skip_day)
        & (day + delay <= last_day)
    )
    sold = lines.loc[ok]
    qty = sold["qty"].to_numpy()
    back = np.where(partial[ok] & (qty > 2), 1 + np.floor(back_u[ok] * (qty - 1)), qty).astype(np.int64)
    first_key = int(lines["order"].max()) + 1
    returns = sold.assign(
        order=np.arange(first_key, first_key + len(sold)),
        line_no=1,
        day=day[ok] + delay[ok],
        sec=sec[ok],
        qty=-back,
        amount=-back * sold["price"].to_numpy(),
        cost=-np.round(sold["cost"].to_numpy() * back / qty).astype(np.int64),
        kind="return",
        orig=np.flatnonzero(ok),
    )
    return pd.concat([lines, returns], ignore_index=True)


def _numbers(prefix: str, day: np.ndarray) -> np.ndarray:
    """PREFIX + year + 6-digit sequence within the year, in the given (chronological) order."""
    year = (np.datetime64(START_DATE) + day.astype("timedelta64[D]")).astype("datetime64[Y]").astype(np.int64) + 1970
    seq = pd.Series(year).groupby(year).cumcount().to_numpy() + 1
    return np.char.add(np.char.add(prefix, year.astype(str)), np.char.zfill(seq.astype(str), 6))


def number(lines: pd.DataFrame) -> pd.DataFrame:
    """Sort lines chronologically and assign 行号 (line_id), 订单编号 (order_id) and 原行号 (orig_line_id)."""
    lines = lines.assign(key=np.arange(len(lines)))
    lines = lines.sort_values(["day", "sec", "order", "line_no"], kind="stable").reset_index(drop=True)
    line_id = np.char.add("L", np.char.zfill((np.arange(len(lines)) + 1).astype(str), 7))
    firsts = lines.drop_duplicates("order")
    order_id = pd.Series(index=firsts["order"].to_numpy(), dtype=object)
    for kind, prefix in (("sale", "SO"), ("return", "RT")):
        part = firsts[firsts["kind"] == kind]
        order_id.loc[part["order"].to_numpy()] = _numbers(prefix, part["day"].to_numpy())
    by_key = pd.Series(line_id, index=lines["key"].to_numpy())
    orig = lines["orig"].to_numpy()
    orig_id = np.where(orig >= 0, by_key.reindex(orig).to_numpy(), "")
    return lines.assign(
        line_id=line_id, order_id=order_id.reindex(lines["order"].to_numpy()).to_numpy(), orig_line_id=orig_id
    )


def timestamps(day: np.ndarray, sec: np.ndarray) -> np.ndarray:
    """`YYYY-MM-DD HH:MM:SS` strings from day index and second of day."""
    stamp = np.datetime64(START_DATE, "s") + (day.astype(np.int64) * 86_400 + sec).astype("timedelta64[s]")
    return np.char.replace(np.datetime_as_string(stamp, unit="s"), "T", " ")


def fen_text(values: np.ndarray) -> np.ndarray:
    """Integer fen → decimal text with exactly two decimals (exact, no float rounding)."""
    values = np.asarray(values, dtype=np.int64)
    whole, cents = np.divmod(np.abs(values), 100)
    text = np.char.add(np.char.add(whole.astype(str), "."), np.char.zfill(cents.astype(str), 2))
    return np.where(values < 0, np.char.add("-", text), text)


def erp_frame(lines: pd.DataFrame, customers: pd.DataFrame, skip_day: int) -> pd.DataFrame:
    """The ERP order export (erp_orders.csv) as text columns; rows dated `skip_day` are left out."""
    rows = lines[lines["day"].to_numpy() != skip_day]
    product_names = np.array([p.name for p in PRODUCTS], dtype=object)
    product_ids = np.array([p.id for p in PRODUCTS], dtype=object)
    rep_names = np.array([r.name for r in REPS], dtype=object)
    return pd.DataFrame(
        {
            "行号": rows["line_id"].to_numpy(),
            "订单编号": rows["order_id"].to_numpy(),
            "订单日期": timestamps(rows["day"].to_numpy(), rows["sec"].to_numpy()),
            "单据类型": np.where(rows["kind"].to_numpy() == "sale", "销售", "退货"),
            "原行号": rows["orig_line_id"].to_numpy(),
            "客户编号": customers["customer_id"].to_numpy()[rows["customer"].to_numpy()],
            "客户名称": customers["name"].to_numpy()[rows["customer"].to_numpy()],
            "产品编号": product_ids[rows["product"].to_numpy()],
            "产品名称": product_names[rows["product"].to_numpy()],
            "数量": rows["qty"].to_numpy(),
            "单价": fen_text(rows["price"].to_numpy()),
            "金额": fen_text(rows["amount"].to_numpy()),
            "成本": fen_text(rows["cost"].to_numpy()),
            "币种": np.where(rows["usd"].to_numpy(), "USD", "CNY"),
            "业务员": rep_names[rows["rep"].to_numpy()],
            "渠道": np.array(CHANNELS, dtype=object)[rows["channel"].to_numpy()],
            "订单状态": np.where(rows["cancelled"].to_numpy(), "已取消", "已完成"),
        }
    )
