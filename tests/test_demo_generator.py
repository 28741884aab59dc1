"""The demo company generator (demo/SPEC.md): determinism, formats, organisation, coherence and the anomalies.

One full-scale generation per session; every property is recomputed from the written files with pandas.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from demo.company import CHANNELS, END_DATE, GEOGRAPHY, REPS, SPRING_FESTIVALS
from demo.generate import EXPORTS, GROUND_TRUTH, MANIFEST, generate, is_current

ERP_HEADER = "行号,订单编号,订单日期,单据类型,原行号,客户编号,客户名称,产品编号,产品名称,数量,单价,金额,成本,币种,业务员,渠道,订单状态"
CSV_HEADERS = {
    "products.csv": "产品编号,产品名称,类别,子类别,单位成本,标准售价",
    "customers.csv": "Customer ID,Customer Name,Person ID,Segment,Industry,Province,City,Owner,Created Date",
    "crm_opportunities.csv": "Opportunity ID,Opportunity Name,Account ID,Account Name,Product ID,Stage,Amount,Currency,"
    "Created Date,Close Date,Owner ID,Campaign",
    "crm_stage_history.csv": "Opportunity ID,Stage,Changed At",
    "crm_leads.csv": "Lead ID,Created At,Campaign,Channel,Status,Converted Opportunity ID,Owner ID",
    "crm_touchpoints.csv": "Touchpoint ID,Lead ID,Opportunity ID,Campaign,Channel,Time",
    "campaigns.csv": "活动编号,活动名称,渠道,开始日期,结束日期",
    "campaign_spend.csv": "日期,活动编号,渠道,花费",
    "invoices.csv": "发票号,订单编号,客户编号,开票日期,到期日,开票金额,币种,业务员编号",
    "payments.csv": "回款编号,发票号,客户编号,回款日期,回款金额,币种,业务员编号",
    "activities.csv": "跟进编号,业务员编号,客户编号,商机编号,跟进方式,跟进时间",
    "inventory.csv": "日期,产品编号,仓库,库存数量",
    "fx_rates.csv": "日期,币种,汇率",
}
END = END_DATE.isoformat()


@pytest.fixture(scope="session")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("demo-a")
    generate(folder, scale=1.0)
    return folder


@pytest.fixture(scope="session")
def data(out: Path) -> dict[str, pd.DataFrame]:
    def csv(name: str, **kw) -> pd.DataFrame:
        return pd.read_csv(out / name, dtype=str, keep_default_na=False, **kw)

    frames = {name.removesuffix(".csv"): csv(name) for name in CSV_HEADERS}
    erp = csv("erp_orders.csv", encoding="gbk")
    fx = frames["fx_rates"].set_index("日期")["汇率"].astype(float)
    erp["day"] = erp["订单日期"].str.slice(0, 10)
    erp["revenue"] = erp["金额"].astype(float) * np.where(erp["币种"] == "USD", erp["day"].map(fx), 1.0)
    erp["cost_cny"] = erp["成本"].astype(float) * np.where(erp["币种"] == "USD", erp["day"].map(fx), 1.0)
    roster = pd.read_excel(out / "reps.xlsx", sheet_name="花名册", engine="calamine")
    erp["region"] = erp["业务员"].map(roster.drop_duplicates("姓名").set_index("姓名")["大区"])
    frames |= {"erp": erp, "roster": roster}
    frames["targets"] = pd.read_excel(out / "targets.xlsx", sheet_name="月度目标", engine="calamine")
    frames["truth"] = json.loads((out / GROUND_TRUTH).read_text(encoding="utf-8"))
    return frames


def _completed_sales(erp: pd.DataFrame) -> pd.DataFrame:
    return erp[(erp["单据类型"] == "销售") & (erp["订单状态"] == "已完成")]


# Determinism and formats --------------------------------------------------------------------------------
def test_two_runs_are_byte_identical(out: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    other = tmp_path_factory.mktemp("demo-b")
    generate(other, scale=1.0)
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted((*EXPORTS, GROUND_TRUTH, MANIFEST))
    assert names == sorted(p.name for p in other.iterdir())
    for name in names:  # includes the two XLSX files (fixed creation date and zip timestamps)
        assert (out / name).read_bytes() == (other / name).read_bytes(), name


def test_erp_orders_is_gbk_without_bom_with_crlf(out: Path) -> None:
    raw = (out / "erp_orders.csv").read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    text = raw.decode("gbk")
    assert text.split("\r\n", 1)[0] == ERP_HEADER
    assert raw.count(b"\n") == raw.count(b"\r\n") and raw.endswith(b"\r\n")


def test_headers_and_sheets(out: Path, data: dict) -> None:
    for name, header in CSV_HEADERS.items():
        raw = (out / name).read_bytes()
        assert not raw.startswith(b"\xef\xbb\xbf") and b"\r\n" not in raw, name
        assert raw.decode("utf-8").split("\n", 1)[0] == header, name
    assert list(data["roster"].columns) == ["工号", "姓名", "邮箱", "经理", "团队", "大区", "生效日期", "失效日期"]
    assert list(data["targets"].columns) == ["月份", "层级", "团队", "业务员", "目标金额"]


def test_amounts_are_exact_two_decimals(data: dict) -> None:
    erp = data["erp"]
    for column in ("单价", "金额", "成本"):
        assert erp[column].str.fullmatch(r"-?\d+\.\d{2}").all(), column
    fen = lambda s: (s.astype(float) * 100).round().astype(np.int64)  # noqa: E731
    assert (erp["数量"].astype(int) * fen(erp["单价"]) == fen(erp["金额"])).all()
    assert erp["订单日期"].str.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}").all()
    assert set(erp["币种"]) == {"CNY", "USD"} and set(erp["渠道"]) == set(CHANNELS)


# Organisation ---------------------------------------------------------------------------------------
def test_roster_shows_the_s004_move(data: dict) -> None:
    roster = data["roster"]
    assert len(roster) == 29 and roster["工号"].nunique() == 28 and roster["姓名"].nunique() == 28
    move = roster[roster["工号"] == "S004"].sort_values("生效日期")
    assert list(move["团队"]) == ["华东一组", "华东二组"] and list(move["经理"]) == ["王建国", "李秀英"]
    assert move["生效日期"].dt.strftime("%Y-%m-%d").tolist() == ["2024-01-01", "2025-07-01"]
    assert move["失效日期"].iloc[0].strftime("%Y-%m-%d") == "2025-06-30" and pd.isna(move["失效日期"].iloc[1])
    assert (roster["邮箱"] == roster["工号"].str.lower() + "@huaxin.example").all()


def test_team_targets_equal_sum_of_rep_targets(data: dict) -> None:
    t = data["targets"]
    assert t["目标金额"].dtype.kind == "i" and (t["目标金额"] > 0).all()
    months = pd.period_range("2024-01", "2026-12", freq="M").astype(str).tolist()
    assert sorted(t["月份"].unique()) == months
    teams = t[t["层级"] == "团队"].set_index(["月份", "团队"])["目标金额"].sort_index()
    reps = t[t["层级"] == "业务员"].groupby(["月份", "团队"])["目标金额"].sum().sort_index()
    assert len(teams) == 36 * 7 and teams.index.equals(reps.index) and (teams == reps).all()
    assert (t[t["层级"] == "业务员"].groupby("月份").size() == 28).all()
    s004 = t[t["业务员"] == "郑晓东"].set_index("月份")["团队"]
    assert (s004[s004.index < "2025-07"] == "华东一组").all() and (s004[s004.index >= "2025-07"] == "华东二组").all()
    sizes = t[t["层级"] == "业务员"].groupby(["月份", "团队"]).size()
    assert sizes[("2025-06", "华东一组")] == 4 and sizes[("2025-07", "华东一组")] == 3
    assert sizes[("2025-07", "华东二组")] == 5


def test_attainment_is_mostly_85_to_110(data: dict) -> None:
    done = data["erp"][data["erp"]["订单状态"] == "已完成"]
    actual = done.assign(月份=done["day"].str.slice(0, 7)).groupby(["月份", "业务员"])["revenue"].sum()
    rep_targets = data["targets"][data["targets"]["层级"] == "业务员"].set_index(["月份", "业务员"])["目标金额"]
    attainment = (actual / rep_targets.reindex(actual.index)).dropna()
    assert len(attainment) == 28 * 35
    share = attainment.between(0.85, 1.10).mean()
    print(f"rep-month attainment within 85-110%: {share:.1%}, median {attainment.median():.3f}")
    assert share > 0.6 and 0.85 < attainment.median() < 1.05


# Coherence ------------------------------------------------------------------------------------------
def test_volume_and_order_shape(data: dict) -> None:
    erp = data["erp"]
    sales = erp[erp["单据类型"] == "销售"]
    assert 110_000 < len(erp) < 150_000 and erp["行号"].is_unique
    assert sales.groupby("订单编号").size().between(1, 4).all()
    orders = sales.drop_duplicates("订单编号")
    assert 0.005 < (orders["订单状态"] == "已取消").mean() < 0.02
    assert (sales.groupby("订单编号")["订单状态"].nunique() == 1).all()  # cancellation covers all lines
    assert 0.01 < (orders["订单日期"].str.slice(11, 13) == "00").mean() < 0.05
    usd = erp.loc[erp["订单状态"] == "已完成"]
    assert 0.06 < usd.loc[usd["币种"] == "USD", "revenue"].sum() / usd["revenue"].sum() < 0.10


def test_returns_reference_sold_lines(data: dict) -> None:
    erp = data["erp"]
    returns = erp[erp["单据类型"] == "退货"]
    sold = erp.set_index("行号").loc[returns["原行号"]]
    assert 0.015 < len(returns) / (erp["单据类型"] == "销售").sum() < 0.025
    assert (sold["单据类型"] == "销售").all() and (sold["订单状态"] == "已完成").all()
    for column in ("客户编号", "产品编号", "业务员", "渠道", "币种"):
        assert (sold[column].to_numpy() == returns[column].to_numpy()).all(), column
    for column in ("数量", "金额", "成本"):
        assert (returns[column].astype(float) < 0).all(), column
    assert (-returns["数量"].astype(int).to_numpy() <= sold["数量"].astype(int).to_numpy()).all()
    lag = (pd.to_datetime(returns["day"]).to_numpy() - pd.to_datetime(sold["day"]).to_numpy()) / np.timedelta64(1, "D")
    assert lag.min() >= 3 and lag.max() <= 30
    assert returns["订单编号"].str.fullmatch(r"RT\d{10}").all() and returns["订单编号"].is_unique
    assert (erp.loc[erp["原行号"] == "", "单据类型"] == "销售").all()


def test_nothing_is_dated_after_end_date(data: dict) -> None:
    checks = {
        "erp": "day", "invoices": "开票日期", "payments": "回款日期", "crm_stage_history": "Changed At",
        "crm_leads": "Created At", "crm_touchpoints": "Time", "activities": "跟进时间", "inventory": "日期",
        "campaign_spend": "日期", "crm_opportunities": "Created Date", "fx_rates": "日期", "customers": "Created Date",
    }  # fmt: skip
    for name, column in checks.items():
        assert data[name][column].str.slice(0, 10).max() <= END, name
    assert data["crm_opportunities"]["Close Date"].max() <= END
    assert data["fx_rates"]["日期"].tolist() == pd.date_range("2024-01-01", END).strftime("%Y-%m-%d").tolist()
    assert data["fx_rates"]["汇率"].astype(float).between(7.1, 7.3).all()


def test_customers_belong_to_their_reps_region(data: dict) -> None:
    customers, erp = data["customers"], data["erp"]
    assert customers["Customer ID"].is_unique and len(customers) == 2000
    region = customers["Owner"].map({r.id: r.region for r in REPS})
    assert all(p in GEOGRAPHY[r] for r, p in zip(region, customers["Province"], strict=True))
    owner = erp["客户编号"].map(customers.set_index("Customer ID")["Owner"])
    assert (owner == erp["业务员"].map({r.name: r.id for r in REPS})).all()
    persons = customers.groupby("Person ID").size()
    assert (persons > 1).sum() > 50  # some persons hold several customer ids
    orders = _completed_sales(erp).drop_duplicates("订单编号")
    per_id = (orders.groupby("客户编号").size() > 1).mean()
    per_person = (
        orders.groupby(orders["客户编号"].map(customers.set_index("Customer ID")["Person ID"])).size() > 1
    ).mean()
    assert per_person > per_id
    first_order = orders.groupby("客户编号")["day"].min()
    assert (customers.set_index("Customer ID").loc[first_order.index, "Created Date"] <= first_order).all()


def test_seasonality(data: dict) -> None:
    sales = _completed_sales(data["erp"])
    weekday = pd.to_datetime(sales["day"]).dt.day_of_week
    weekend_share = sales.assign(weekend=weekday >= 5).groupby("渠道")["weekend"].mean()
    assert weekend_share["电商"] > 0.35 and weekend_share["直销"] < 0.08 and weekend_share["经销商"] < 0.08
    days = pd.to_datetime(sales["day"])
    for festival in SPRING_FESTIVALS:
        week = sales[(days >= pd.Timestamp(festival)) & (days < pd.Timestamp(festival) + pd.Timedelta(days=7))]
        before = sales[
            (days >= pd.Timestamp(festival) - pd.Timedelta(days=35))
            & (days < pd.Timestamp(festival) - pd.Timedelta(days=28))
        ]
        ratio = week.groupby("渠道").size() / before.groupby("渠道").size()
        assert ratio.get("直销", 0) < 0.1 and ratio.get("经销商", 0) < 0.1 and 0.3 < ratio["电商"] < 0.75
    yearly = sales[days.dt.month <= 10].groupby(days.dt.year)["revenue"].sum()
    assert 1.05 < yearly[2025] / yearly[2024] < 1.2


def test_crm_is_consistent(data: dict) -> None:
    opp, history, customers = data["crm_opportunities"], data["crm_stage_history"], data["customers"]
    assert 5_000 < len(opp) < 7_000 and opp["Opportunity ID"].is_unique
    owner = opp["Account ID"].map(customers.set_index("Customer ID")["Owner"])
    assert (owner == opp["Owner ID"]).all()
    closed = opp["Stage"].isin(["赢单", "输单"])
    assert (opp.loc[~closed, "Close Date"] == "").all() and (
        opp.loc[closed, "Close Date"] >= opp.loc[closed, "Created Date"]
    ).all()
    history = history.assign(t=pd.to_datetime(history["Changed At"]))
    assert (history.groupby("Opportunity ID")["t"].diff().dropna() > pd.Timedelta(0)).all()  # strictly monotone
    first, last = history.groupby("Opportunity ID").first(), history.groupby("Opportunity ID").last()
    deals = opp.set_index("Opportunity ID")
    assert (first.loc[deals.index, "Changed At"].str.slice(0, 10) == deals["Created Date"]).all()
    assert (last.loc[deals.index, "Stage"] == deals["Stage"]).all()
    order = {s: i for i, s in enumerate(["线索确认", "需求分析", "方案报价", "商务谈判", "赢单", "输单"])}
    ranks = history["Stage"].map(order)
    assert (ranks.groupby(history["Opportunity ID"]).diff().dropna() > 0).all()
    # won amounts follow B2B order revenue quarter by quarter
    won = opp[opp["Stage"] == "赢单"]
    won_q = won["Amount"].astype(float).groupby(pd.PeriodIndex(won["Close Date"], freq="Q")).sum()
    b2b = _completed_sales(data["erp"])
    b2b = b2b[b2b["渠道"].isin(["直销", "经销商"])]
    b2b_q = b2b.groupby(pd.PeriodIndex(b2b["day"], freq="Q"))["revenue"].sum()
    ratio = (won_q / b2b_q).iloc[:-1]  # the last quarter is incomplete
    assert ratio.between(0.7, 1.05).all(), ratio


def test_won_and_lost_deals_spread_over_the_months(data: dict) -> None:
    opp = data["crm_opportunities"]
    closed = opp[opp["Stage"].isin(["赢单", "输单"])]
    month = closed["Close Date"].str.slice(0, 7)
    table = pd.DataFrame({"won": (closed["Stage"] == "赢单").groupby(month).sum(), "closed": month.value_counts()})
    table["lost"], table["win_rate"] = table["closed"] - table["won"], table["won"] / table["closed"]
    busy = table[table["closed"] >= 30]
    print(
        "won / win rate by close month: " + ", ".join(f"{m} {r.won:.0f} {r.win_rate:.0%}" for m, r in busy.iterrows())
    )
    assert len(busy) == 35  # every month 2024-01..2026-11 closes deals
    # no month stands out (the old generator put ~70% of the won deals on the first month of each quarter)
    assert busy["won"].max() <= 2 * busy["won"].median() and busy["won"].min() >= busy["won"].median() / 2
    assert busy["lost"].max() <= 2 * busy["lost"].median() and busy["lost"].min() >= busy["lost"].median() / 2
    assert busy["win_rate"].between(0.5, 0.75).all() and busy["win_rate"].max() - busy["win_rate"].min() < 0.15
    for stage in ("赢单", "输单"):
        close = pd.to_datetime(closed.loc[closed["Stage"] == stage, "Close Date"])
        in_quarter = ((close.dt.month - 1) % 3).value_counts(normalize=True)
        assert in_quarter.between(0.25, 0.42).all(), (stage, in_quarter)
        assert (close.dt.day_of_week < 5).all(), stage  # B2B deals close on working days
        last_week, first_week = (close.dt.days_in_month - close.dt.day < 7).mean(), (close.dt.day <= 7).mean()
        assert first_week < 7 / 30.44 < last_week < 0.4, (stage, first_week, last_week)  # a mild month-end push


def test_close_dates_follow_the_stage_history(data: dict) -> None:
    opp, history = data["crm_opportunities"], data["crm_stage_history"]
    closed = opp[opp["Stage"].isin(["赢单", "输单"])].set_index("Opportunity ID")
    rows = history[history["Opportunity ID"].isin(closed.index)]
    last = rows.groupby("Opportunity ID").last().loc[closed.index]
    assert (last["Stage"] == closed["Stage"]).all()
    assert (last["Changed At"].str.slice(0, 10) == closed["Close Date"]).all()  # the outcome is entered on Close Date
    latest = rows.groupby("Opportunity ID")["Changed At"].max().loc[closed.index].str.slice(0, 10)
    assert (latest <= closed["Close Date"]).all()
    first = history.groupby("Opportunity ID")["Changed At"].first().loc[opp["Opportunity ID"]].str.slice(0, 10)
    assert (first.to_numpy() == opp["Created Date"].to_numpy()).all()
    # a won deal closes just before the B2B orders it stands for (the month-end push moves some up to ~2 weeks)
    won = opp[opp["Stage"] == "赢单"].set_index("Opportunity ID")
    b2b = _completed_sales(data["erp"])
    b2b = b2b[b2b["渠道"].isin(["直销", "经销商"])]
    orders = won.reset_index().merge(b2b[["客户编号", "day"]], left_on="Account ID", right_on="客户编号")
    first_order = orders[orders["day"] >= orders["Close Date"]].groupby("Opportunity ID")["day"].min()
    gap = (pd.to_datetime(first_order.reindex(won.index)) - pd.to_datetime(won["Close Date"])).dt.days
    assert (gap <= 5).mean() > 0.85 and (gap <= 14).mean() > 0.99
    # the only won deals without a later order have it on the stale ERP day, which is missing from the export
    stale = next(a for a in data["truth"]["anomalies"] if a["id"] == "erp-stale-day")["start"]
    hidden = pd.to_datetime(won.loc[gap.isna(), "Close Date"])
    assert len(hidden) < 10 and hidden.between(pd.Timestamp(stale) - pd.Timedelta(days=6), pd.Timestamp(stale)).all()


def test_campaigns_leads_and_touchpoints_link_up(data: dict) -> None:
    leads, touches, opp = data["crm_leads"], data["crm_touchpoints"], data["crm_opportunities"]
    campaigns = data["campaigns"].set_index("活动编号")
    assert 15 <= len(campaigns) <= 25
    converted = leads[leads["Converted Opportunity ID"] != ""].merge(
        opp, left_on="Converted Opportunity ID", right_on="Opportunity ID", suffixes=("", "_opp")
    )
    assert set(converted["Opportunity ID"]) == set(opp.loc[opp["Campaign"] != "", "Opportunity ID"])
    assert (converted["Campaign"] == converted["Campaign_opp"]).all() and (converted["Status"] == "已转化").all()
    assert (converted["Created At"].str.slice(0, 10) < converted["Created Date"]).all()
    for frame, column in ((leads, "Created At"), (touches, "Time"), (data["campaign_spend"], "日期")):
        key = "Campaign" if "Campaign" in frame else "活动编号"
        runs = campaigns.loc[frame[key]]
        day = frame[column].str.slice(0, 10).to_numpy()
        assert ((runs["开始日期"].to_numpy() <= day) & (day <= runs["结束日期"].to_numpy())).all()
    joined = touches.merge(leads, on="Lead ID", suffixes=("", "_lead"))
    assert len(joined) == len(touches) and (joined["Time"] >= joined["Created At"]).all()
    assert (joined["Opportunity ID"] == joined["Converted Opportunity ID"]).all()


def test_invoices_and_payments(data: dict) -> None:
    invoices, payments, erp = data["invoices"], data["payments"], data["erp"]
    sold = _completed_sales(erp)
    assert invoices["订单编号"].is_unique and set(sold["订单编号"]) <= set(invoices["订单编号"])
    order_total = (sold["金额"].astype(float) * 100).round().groupby(sold["订单编号"]).sum()
    billed = invoices.set_index("订单编号")["开票金额"].astype(float).mul(100).round()
    assert (billed.loc[order_total.index] == order_total).all()
    joined = payments.merge(invoices, on="发票号", suffixes=("", "_inv"))
    assert len(joined) == len(payments) and (joined["回款日期"] >= joined["开票日期"]).all()
    assert (joined["币种"] == joined["币种_inv"]).all()
    paid = payments["回款金额"].astype(float).groupby(payments["发票号"]).sum()
    ratio = (
        paid.reindex(invoices["发票号"]).fillna(0) / invoices.set_index("发票号")["开票金额"].astype(float)
    ).to_numpy()
    assert ratio.max() <= 1.000001 and (ratio > 0.999).mean() > 0.85
    assert ((ratio > 0) & (ratio < 0.999)).sum() > 100 and (ratio == 0).sum() > 100
    assert (joined["回款日期"] > joined["到期日"]).sum() > 100  # some pay late


def test_inventory_is_non_negative_and_recent(data: dict) -> None:
    stock = data["inventory"]
    assert (stock["库存数量"].astype(int) >= 0).all()
    assert stock["日期"].nunique() == 180 and stock["日期"].max() == END
    assert set(stock["仓库"]) == {"上海仓", "北京仓", "广州仓"}
    assert len(stock) == stock["日期"].nunique() * stock["产品编号"].nunique() * 3


# Anomalies ------------------------------------------------------------------------------------------
def test_south_online_drop(data: dict) -> None:
    truth = next(a for a in data["truth"]["anomalies"] if a["id"] == "south-online-drop")
    sales = _completed_sales(data["erp"])
    days = pd.to_datetime(sales["day"])
    start, end = pd.Timestamp(truth["start"]), pd.Timestamp(truth["end"])
    window, before = (days >= start) & (days <= end), (days >= start - pd.Timedelta(days=28)) & (days < start)
    segment = (sales["region"] == "华南") & (sales["渠道"] == "电商")
    orders_change = (
        sales.loc[window & segment, "订单编号"].nunique() / (sales.loc[before & segment, "订单编号"].nunique() / 4) - 1
    )
    revenue_change = (
        sales.loc[window & segment, "revenue"].sum() / (sales.loc[before & segment, "revenue"].sum() / 4) - 1
    )
    share = sales.loc[window & segment, "revenue"].sum() / sales.loc[window, "revenue"].sum()
    baseline_share = sales.loc[before & segment, "revenue"].sum() / sales.loc[before, "revenue"].sum()
    print(f"华南×电商: orders {orders_change:+.3f}, revenue {revenue_change:+.3f} vs same weekdays of the 4 weeks before; "
          f"share of revenue {share:.4f} in the window, {baseline_share:.4f} before")  # fmt: skip
    assert truth["change"] == -0.7 and truth["dimensions"] == {"region": "华南", "channel": "电商"}
    assert abs(orders_change + 0.7) < 0.02 and abs(revenue_change + 0.7) < 0.03
    assert share < 0.05 and baseline_share < 0.05
    assert truth["share_of_revenue"] == pytest.approx(share, abs=1e-5)
    # the company total barely moves: the segment's loss is a small part of company revenue
    assert (sales.loc[before & segment, "revenue"].sum() / 4 - sales.loc[window & segment, "revenue"].sum()) < 0.03 * (
        sales.loc[before, "revenue"].sum() / 4
    )


def test_distributor_mix_margin(data: dict) -> None:
    truth = next(a for a in data["truth"]["anomalies"] if a["id"] == "distributor-mix-margin")
    done = data["erp"][data["erp"]["订单状态"] == "已完成"]
    month = done["day"].str.slice(0, 7)
    during, before = done[month == truth["start"][:7]], done[month.isin(truth["baseline_months"])]

    def margin(frame: pd.DataFrame) -> float:
        return 1 - frame["cost_cny"].sum() / frame["revenue"].sum()

    company_drop = margin(before) - margin(during)
    changes = {c: margin(during[during["渠道"] == c]) - margin(before[before["渠道"] == c]) for c in CHANNELS}
    share = {
        n: f[f["渠道"] == "经销商"]["revenue"].sum() / f["revenue"].sum()
        for n, f in (("before", before), ("during", during))
    }
    print(f"company margin {margin(before):.4f} → {margin(during):.4f} (−{company_drop * 100:.2f} pt); 经销商 share "
          f"{share['before']:.3f} → {share['during']:.3f}; channel changes (pt): "
          + ", ".join(f"{c} {v * 100:+.3f}" for c, v in changes.items()))  # fmt: skip
    assert company_drop >= 0.02
    assert all(abs(v) < 0.005 for v in changes.values())
    assert share["during"] - share["before"] > 0.15
    assert truth["company_margin_rate_during"] == pytest.approx(margin(during), abs=1e-5)
    # a mix shift, not a revenue anomaly: company revenue stays at the level of the months around it
    revenue = done.groupby(month)["revenue"].sum()
    mix_month = pd.Period(truth["start"][:7], freq="M")
    neighbours = revenue[[str(mix_month - 1), str(mix_month + 1)]].mean()
    baseline = revenue[truth["baseline_months"]].mean()
    print(f"revenue {revenue[str(mix_month)] / 1e6:.1f}M vs {neighbours / 1e6:.1f}M (neighbours), "
          f"{baseline / 1e6:.1f}M (baseline months)")  # fmt: skip
    assert abs(revenue[str(mix_month)] / neighbours - 1) < 0.1 and abs(revenue[str(mix_month)] / baseline - 1) < 0.1
    assert truth["neighbour_months"] == [str(mix_month - 1), str(mix_month + 1)]
    assert truth["company_revenue_during"] == pytest.approx(revenue[str(mix_month)], rel=1e-6)
    assert truth["company_revenue_neighbours"] == pytest.approx(neighbours, rel=1e-6)
    assert truth["company_revenue_before"] == pytest.approx(baseline, rel=1e-6)
    # volume moved from the higher-margin channels to 经销商
    by_channel = {n: f.groupby("渠道")["revenue"].sum() for n, f in (("before", before), ("during", during))}
    moved = by_channel["during"] / (by_channel["before"] / len(truth["baseline_months"])) - 1
    assert moved["经销商"] > 0.5 and (moved.drop("经销商") < -0.1).all(), moved
    assert truth["channel_revenue_change"] == pytest.approx(moved.to_dict(), abs=1e-5)
    extra = during[(during["渠道"] == "经销商") & (during["单据类型"] == "销售")]
    assert extra.groupby("产品编号")["revenue"].sum().idxmax() in {f"P{i:03d}" for i in range(11, 21)}  # 电脑整机


def test_erp_stale_day(data: dict) -> None:
    truth = next(a for a in data["truth"]["anomalies"] if a["id"] == "erp-stale-day")
    day = truth["start"]
    counts = data["erp"]["day"].value_counts()
    assert day not in counts.index
    neighbours = (pd.Timestamp(day) + pd.to_timedelta([-1, 1], unit="D")).strftime("%Y-%m-%d")
    assert all(counts.get(d, 0) > 50 for d in neighbours)
    assert (data["invoices"]["开票日期"] == day).sum() > 0  # other exports still have the day
    assert (data["activities"]["跟进时间"].str.slice(0, 10) == day).sum() > 0


def test_ground_truth_file(data: dict) -> None:
    truth = data["truth"]
    assert truth["company"] == "华信科技" and truth["seed"] == 20261130
    assert (truth["start_date"], truth["end_date"]) == ("2024-01-01", END)
    assert [a["id"] for a in truth["anomalies"]] == ["south-online-drop", "distributor-mix-margin", "erp-stale-day"]
    assert [a["kind"] for a in truth["anomalies"]] == ["segment_drop", "mix_shift", "stale_source"]
    assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", a["start"]) and a["description"] for a in truth["anomalies"])


# Manifest and command line --------------------------------------------------------------------------
def test_manifest_skips_a_complete_generation_and_redoes_a_broken_one(tmp_path: Path, capsys) -> None:
    from demo.__main__ import main

    assert main(["generate", "--out", str(tmp_path), "--scale", "0.05"]) == 0
    assert "erp_orders.csv" in capsys.readouterr().out and is_current(tmp_path, 0.05)
    assert not is_current(tmp_path, 1.0)
    stamp = (tmp_path / "erp_orders.csv").stat().st_mtime_ns
    assert main(["generate", "--out", str(tmp_path), "--scale", "0.05"]) == 0
    assert "nothing to do" in capsys.readouterr().out
    assert (tmp_path / "erp_orders.csv").stat().st_mtime_ns == stamp
    original = (tmp_path / "payments.csv").read_bytes()
    (tmp_path / "payments.csv").write_bytes(original[: len(original) // 2])  # a crash mid-write
    assert not is_current(tmp_path, 0.05)
    rows = generate(tmp_path, scale=0.05)
    assert (tmp_path / "payments.csv").read_bytes() == original and rows["payments.csv"] > 0
    manifest = json.loads((tmp_path / MANIFEST).read_text(encoding="utf-8"))
    assert manifest["scale"] == 0.05 and sorted(manifest["files"]) == sorted((*EXPORTS, GROUND_TRUTH))
