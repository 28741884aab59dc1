"""Finance: invoices (开票) for completed sale orders and collections (回款).

One invoice per completed sale order, in the order currency, due 30 (个人), 60 (企业) or 90 days (政府, 教育)
later. 电商 and 个人 orders are paid on the invoice day; other customers mostly pay before the due date, some
late, some in two parts, a few never. Nothing is dated after END_DATE, so recent invoices are still open.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from demo.company import CHANNELS, END_DATE, REPS, START_DATE
from demo.ledger import fen_text

_LAST = (END_DATE - START_DATE).days
DUE_DAYS = {"企业": 60, "政府": 90, "教育": 90, "个人": 30}


def _dates(day: np.ndarray) -> np.ndarray:
    return (np.datetime64(START_DATE) + day.astype("timedelta64[D]")).astype(str)


def make_invoices(rng: np.random.Generator, lines: pd.DataFrame, customers: pd.DataFrame) -> pd.DataFrame:
    """Invoice table (internal keys): order_id, customer, rep, usd, day, due, amount (fen), prepaid flag."""
    sold = lines[(lines["kind"].to_numpy() == "sale") & ~lines["cancelled"].to_numpy()]
    orders = sold.groupby("order_id", sort=False).agg(
        customer=("customer", "first"),
        rep=("rep", "first"),
        usd=("usd", "first"),
        channel=("channel", "first"),
        order_day=("day", "first"),
        order_sec=("sec", "first"),
        amount=("amount", "sum"),
    )
    orders = orders.reset_index()
    segment = customers["segment"].to_numpy()[orders["customer"].to_numpy()]
    prepaid = (segment == "个人") | (orders["channel"].to_numpy() == CHANNELS.index("电商"))
    delay = np.where(prepaid, 0, rng.integers(0, 6, len(orders)))
    orders["day"] = np.minimum(orders["order_day"].to_numpy() + delay, _LAST)
    orders["due"] = orders["day"].to_numpy() + np.array([DUE_DAYS[s] for s in segment])
    orders["prepaid"] = prepaid
    orders = orders.sort_values(["day", "order_day", "order_sec", "order_id"], kind="stable").reset_index(drop=True)
    orders["invoice_id"] = np.char.add("FP", np.char.zfill((np.arange(len(orders)) + 1).astype(str), 8))
    return orders


def invoices_frame(invoices: pd.DataFrame, customers: pd.DataFrame) -> pd.DataFrame:
    """invoices.csv."""
    return pd.DataFrame(
        {
            "发票号": invoices["invoice_id"].to_numpy(),
            "订单编号": invoices["order_id"].to_numpy(),
            "客户编号": customers["customer_id"].to_numpy()[invoices["customer"].to_numpy()],
            "开票日期": _dates(invoices["day"].to_numpy()),
            "到期日": _dates(invoices["due"].to_numpy()),
            "开票金额": fen_text(invoices["amount"].to_numpy()),
            "币种": np.where(invoices["usd"].to_numpy(), "USD", "CNY"),
            "业务员编号": np.array([r.id for r in REPS], dtype=object)[invoices["rep"].to_numpy()],
        }
    )


def payments_frame(rng: np.random.Generator, invoices: pd.DataFrame, customers: pd.DataFrame) -> pd.DataFrame:
    """payments.csv (回款): full, late, partial and missing payments; none after END_DATE."""
    n = len(invoices)
    day, due = invoices["day"].to_numpy(), invoices["due"].to_numpy()
    terms = due - day
    behaviour = np.searchsorted(np.cumsum((0.76, 0.15, 0.07)), rng.random(n), side="right")  # 3 = never pays
    behaviour = np.where(invoices["prepaid"].to_numpy(), 0, behaviour)
    on_time = day + np.round(terms * rng.uniform(0.3, 1.0, n)).astype(np.int64)
    late = due + rng.integers(1, 91, n)
    first_day = np.where(invoices["prepaid"].to_numpy(), day, np.where(behaviour == 1, late, on_time))
    amount = invoices["amount"].to_numpy()
    part = np.round(amount * rng.uniform(0.3, 0.8, n)).astype(np.int64)
    first_amount = np.where(behaviour == 2, part, amount)
    second_paid = (behaviour == 2) & (rng.random(n) < 0.5)
    second_day = late
    frame = pd.DataFrame(
        {
            "invoice": np.concatenate([np.arange(n), np.flatnonzero(second_paid)]),
            "day": np.concatenate([first_day, second_day[second_paid]]),
            "amount": np.concatenate([first_amount, (amount - part)[second_paid]]),
            "paid": np.concatenate([behaviour != 3, np.ones(second_paid.sum(), dtype=bool)]),
        }
    )
    frame = frame[frame["paid"].to_numpy() & (frame["day"].to_numpy() <= _LAST)]
    frame = frame.sort_values(["day", "invoice"], kind="stable").reset_index(drop=True)
    inv = frame["invoice"].to_numpy()
    return pd.DataFrame(
        {
            "回款编号": np.char.add("HK", np.char.zfill((np.arange(len(frame)) + 1).astype(str), 8)),
            "发票号": invoices["invoice_id"].to_numpy()[inv],
            "客户编号": customers["customer_id"].to_numpy()[invoices["customer"].to_numpy()[inv]],
            "回款日期": _dates(frame["day"].to_numpy()),
            "回款金额": fen_text(frame["amount"].to_numpy()),
            "币种": np.where(invoices["usd"].to_numpy()[inv], "USD", "CNY"),
            "业务员编号": np.array([r.id for r in REPS], dtype=object)[invoices["rep"].to_numpy()[inv]],
        }
    )
