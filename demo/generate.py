"""Generate the demo company's exports: `generate(out_dir, scale=1.0)`.

All randomness comes from one `numpy.random.default_rng(SEED)` consumed in a fixed order, there is no clock and
no environment input, so the same version and scale give the same bytes. A MANIFEST.json (version, scale, rows
and sha256 per file) is written last; a folder whose manifest matches is left as it is.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd

from demo import anomalies, crm, finance, ledger, marketing, orders, planning, seasonality
from demo.company import (
    ASSIGNMENTS,
    COMPANY,
    END_DATE,
    PRODUCTS,
    REP_BY_ID,
    REPS,
    SEED,
    START_DATE,
    TARGETS_END,
    TEAM_BY_ID,
)
from demo.customers import make_customers
from demo.export import sha256, write_csv, write_xlsx

GENERATOR_VERSION = "2"  # bump when the output changes on purpose; the code fingerprint catches the rest
MANIFEST = "MANIFEST.json"
GROUND_TRUTH = "ground_truth.json"
EXPORTS = (
    "erp_orders.csv", "products.csv", "customers.csv", "reps.xlsx", "targets.xlsx", "crm_opportunities.csv",
    "crm_stage_history.csv", "crm_leads.csv", "crm_touchpoints.csv", "campaigns.csv", "campaign_spend.csv",
    "invoices.csv", "payments.csv", "activities.csv", "inventory.csv", "fx_rates.csv",
)  # fmt: skip


def code_fingerprint() -> str:
    """SHA-256 over the generator's own source files, so that a changed generator never reuses old exports."""
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def is_current(out_dir: Path, scale: float = 1.0) -> bool:
    """True when `out_dir` holds a complete generation of this generator version, code and scale."""
    try:
        manifest = json.loads((Path(out_dir) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if (manifest.get("version"), manifest.get("code"), manifest.get("scale")) != (
        GENERATOR_VERSION,
        code_fingerprint(),
        float(scale),
    ):
        return False
    files = manifest.get("files", {})
    if sorted(files) != sorted((*EXPORTS, GROUND_TRUTH)):
        return False
    return all(
        (Path(out_dir) / name).is_file() and sha256(Path(out_dir) / name) == f["sha256"] for name, f in files.items()
    )


def generate(out_dir: Path, *, scale: float = 1.0, force: bool = False) -> dict[str, int]:
    """Write the 16 exports and ground_truth.json into `out_dir`; returns rows per file.

    `scale` multiplies the business volume (orders, deals, leads, follow-ups); the organisation, customers and
    calendar stay the same. Unless `force`, a folder that already holds this generation is not rewritten.
    """
    out_dir = Path(out_dir)
    if scale <= 0:
        raise ValueError(f"scale must be positive, got {scale}")
    if not force and is_current(out_dir, scale):
        manifest = json.loads((out_dir / MANIFEST).read_text(encoding="utf-8"))
        return {name: f["rows"] for name, f in manifest["files"].items()}
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / MANIFEST).unlink(missing_ok=True)  # a crash from here on leaves no manifest → regenerated next time
    rows = _write_all(out_dir, scale)
    files = {name: {"rows": rows[name], "sha256": sha256(out_dir / name)} for name in (*EXPORTS, GROUND_TRUTH)}
    manifest = {
        "generator": "demo", "version": GENERATOR_VERSION, "code": code_fingerprint(), "seed": SEED,
        "scale": float(scale), "files": files,
    }  # fmt: skip
    (out_dir / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return {name: rows[name] for name in (*EXPORTS, GROUND_TRUTH)}


def _simulate(rng: np.random.Generator, scale: float) -> dict:
    """The business in internal keys (every random draw happens here, in this order)."""
    n_days = (END_DATE - START_DATE).days + 1
    usd_rate = seasonality.usd_rates(rng, n_days)
    n_months = (TARGETS_END.year - START_DATE.year) * 12 + TARGETS_END.month - START_DATE.month + 1
    intensity = seasonality.order_intensity(
        seasonality.day_range(START_DATE, TARGETS_END), rng.uniform(1.3, 1.5, n_months)
    )
    customers = make_customers(rng, n_days)
    lines = orders.simulate_sales(rng, customers, intensity[:n_days], usd_rate, scale)
    lines = orders.cancel_orders(rng, lines)
    order_value = planning.mean_order_value(lines, customers, usd_rate)
    realised = planning.realised_revenue(lines, usd_rate)
    lines = anomalies.drop_segment(rng, lines, usd_rate)
    lines = anomalies.divert_orders(rng, lines, usd_rate)
    stale_day = (anomalies.STALE_DAY - START_DATE).days
    lines = ledger.make_returns(rng, lines, stale_day)
    lines = orders.calibrate_channel_margins(rng, lines, usd_rate)
    lines = anomalies.add_bulk_orders(rng, lines, customers, usd_rate, scale)
    lines = ledger.number(lines)
    expected = planning.expected_revenue(customers, intensity, scale, order_value)
    targets = planning.targets(rng, expected, realised)
    deals, history = crm.make_deals(rng, lines, customers, usd_rate, scale)
    deals["opportunity_id"] = np.char.add("OPP", np.char.zfill((np.arange(len(deals)) + 1).astype(str), 6))
    deal_campaign, converted = marketing.attach_campaigns(rng, deals)
    leads = marketing.make_leads(rng, converted)
    # customer ids in order of account creation (an account exists at the latest when its first deal opens)
    first_deal = deals.groupby("customer")["created"].min()
    created = customers["created"].to_numpy().copy()
    opened = np.datetime64(START_DATE) + first_deal.to_numpy().astype("timedelta64[D]")
    created[first_deal.index.to_numpy()] = np.minimum(created[first_deal.index.to_numpy()], opened)
    customers["created"] = created
    rank = np.lexsort((np.arange(len(customers)), created))
    customers["customer_id"] = ""
    customers.loc[rank, "customer_id"] = np.char.add("C", np.char.zfill((np.arange(len(customers)) + 1).astype(str), 5))
    person_order = pd.unique(customers["person"].to_numpy()[rank])
    person_no = pd.Series(np.arange(len(person_order)) + 1, index=person_order)
    customers["person_id"] = np.char.add("M", np.char.zfill(person_no[customers["person"]].to_numpy().astype(str), 6))
    activities = crm.activities(rng, deals, customers, scale)
    spend = marketing.campaign_spend(rng)
    touchpoints = marketing.touchpoints_frame(rng, leads, deals["opportunity_id"].to_numpy())
    invoices = finance.make_invoices(rng, lines, customers)
    payments = finance.payments_frame(rng, invoices, customers)
    stock = planning.inventory(rng, lines, customers, n_days - 1)
    return {
        "usd_rate": usd_rate, "customers": customers, "lines": lines, "targets": targets, "deals": deals,
        "history": history, "deal_campaign": deal_campaign, "leads": leads, "stale_day": stale_day,
        "activities": activities, "spend": spend, "touchpoints": touchpoints, "invoices": invoices,
        "payments": payments, "inventory": stock,
    }  # fmt: skip


def _write_all(out: Path, scale: float) -> dict[str, int]:
    world = _simulate(np.random.default_rng(SEED), scale)
    customers, lines, deals, usd_rate = world["customers"], world["lines"], world["deals"], world["usd_rate"]
    rows: dict[str, int] = {}
    erp = ledger.erp_frame(lines, customers, world["stale_day"])
    rows["erp_orders.csv"] = write_csv(erp, out / "erp_orders.csv", encoding="gbk", crlf=True)
    rows["products.csv"] = write_csv(_products(), out / "products.csv")
    rows["customers.csv"] = write_csv(_customers(customers), out / "customers.csv")
    rows["reps.xlsx"] = write_xlsx(_roster(), out / "reps.xlsx", "花名册", date_columns=("生效日期", "失效日期"))
    rows["targets.xlsx"] = write_xlsx(world["targets"], out / "targets.xlsx", "月度目标")
    campaign_ids = np.array([""] + list(marketing.campaigns_frame()["活动编号"]), dtype=object)
    opportunities = crm.opportunities_frame(deals, customers, campaign_ids[world["deal_campaign"] + 1])
    rows["crm_opportunities.csv"] = write_csv(opportunities, out / "crm_opportunities.csv")
    history = crm.stage_history_frame(world["history"], deals)
    rows["crm_stage_history.csv"] = write_csv(history, out / "crm_stage_history.csv")
    leads = marketing.leads_frame(world["leads"], deals["opportunity_id"].to_numpy())
    rows["crm_leads.csv"] = write_csv(leads, out / "crm_leads.csv")
    rows["crm_touchpoints.csv"] = write_csv(world["touchpoints"], out / "crm_touchpoints.csv")
    rows["campaigns.csv"] = write_csv(marketing.campaigns_frame(), out / "campaigns.csv")
    rows["campaign_spend.csv"] = write_csv(world["spend"], out / "campaign_spend.csv")
    rows["invoices.csv"] = write_csv(finance.invoices_frame(world["invoices"], customers), out / "invoices.csv")
    rows["payments.csv"] = write_csv(world["payments"], out / "payments.csv")
    rows["activities.csv"] = write_csv(world["activities"], out / "activities.csv")
    rows["inventory.csv"] = write_csv(world["inventory"], out / "inventory.csv")
    fx = pd.DataFrame(
        {
            "日期": seasonality.day_range(START_DATE, END_DATE).astype(str),
            "币种": "USD",
            "汇率": [f"{r:.4f}" for r in usd_rate],
        }
    )
    rows["fx_rates.csv"] = write_csv(fx, out / "fx_rates.csv")
    rate_by_day = pd.Series(usd_rate, index=fx["日期"].to_numpy())
    measured = anomalies.measure(erp, {r.name: r.region for r in REPS}, rate_by_day)
    truth = ground_truth(measured)
    (out / GROUND_TRUTH).write_text(json.dumps(truth, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    rows[GROUND_TRUTH] = len(truth["anomalies"])
    return rows


def _products() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "产品编号": [p.id for p in PRODUCTS],
            "产品名称": [p.name for p in PRODUCTS],
            "类别": [p.category for p in PRODUCTS],
            "子类别": [p.subcategory for p in PRODUCTS],
            "单位成本": [f"{p.unit_cost:.2f}" for p in PRODUCTS],
            "标准售价": [f"{p.list_price:.2f}" for p in PRODUCTS],
        }
    )


def _customers(customers: pd.DataFrame) -> pd.DataFrame:
    table = customers.sort_values("customer_id", kind="stable")
    return pd.DataFrame(
        {
            "Customer ID": table["customer_id"].to_numpy(),
            "Customer Name": table["name"].to_numpy(),
            "Person ID": table["person_id"].to_numpy(),
            "Segment": table["segment"].to_numpy(),
            "Industry": table["industry"].to_numpy(),
            "Province": table["province"].to_numpy(),
            "City": table["city"].to_numpy(),
            "Owner": np.array([r.id for r in REPS], dtype=object)[table["rep"].to_numpy()],
            "Created Date": table["created"].to_numpy().astype("datetime64[D]").astype(str),
        }
    )


def _roster() -> pd.DataFrame:
    rows = []
    for a in ASSIGNMENTS:
        rep, team = REP_BY_ID[a.rep_id], TEAM_BY_ID[a.team_id]
        valid_to = a.valid_to.isoformat() if a.valid_to else ""
        rows.append(
            (a.rep_id, rep.name, rep.email, team.manager, team.label, team.region, a.valid_from.isoformat(), valid_to)
        )
    return pd.DataFrame(
        rows,
        columns=["工号", "姓名", "邮箱", "经理", "团队", "大区", "生效日期", "失效日期"],
    )


def ground_truth(measured: dict) -> dict:
    """ground_truth.json: the injected anomalies with the figures measured on the written exports."""
    drop, mix = measured["south-online-drop"], measured["distributor-mix-margin"]

    def r(value: float) -> float | None:
        """A measured figure rounded to 6 decimals (never -0.0; None when it cannot be measured)."""
        return None if np.isnan(value) else round(float(value), 6) + 0.0  # + 0.0 turns -0.0 into 0.0

    a = anomalies
    return {
        "company": COMPANY, "seed": SEED, "start_date": START_DATE.isoformat(), "end_date": END_DATE.isoformat(),
        "anomalies": [
            {
                "id": "south-online-drop", "kind": "segment_drop", "metric": "revenue", "grain": "day",
                "start": a.DROP_START.isoformat(), "end": a.DROP_END.isoformat(),
                "dimensions": {"region": a.DROP_REGION, "channel": a.DROP_CHANNEL}, "change": a.DROP_CHANGE,
                "share_of_revenue": r(drop["share_of_revenue"]),
                "baseline_share_of_revenue": r(drop["baseline_share_of_revenue"]),
                "measured_order_change": r(drop["orders_change"]), "measured_revenue_change": r(drop["revenue_change"]),
                "description": "华南大区电商渠道订单量连续7天下降70%（与前4周同星期均值相比）；该细分在公司收入中占比不足5%，"
                "公司总收入几乎不变，只能通过维度下钻/归因发现。",
            },
            {
                "id": "distributor-mix-margin", "kind": "mix_shift", "metric": "gross_margin_rate", "grain": "month",
                "start": a.MIX_MONTH + "-01", "end": str(np.datetime64(a.MIX_MONTH, "M") + 1 - np.timedelta64(1, "D")),
                "dimensions": {"channel": a.MIX_CHANNEL}, "baseline_months": list(a.MIX_BASELINE_MONTHS),
                "company_margin_rate_before": r(mix["company_margin_before"]),
                "company_margin_rate_during": r(mix["company_margin_during"]),
                "channel_share_before": r(mix["channel_share_before"]),
                "channel_share_during": r(mix["channel_share_during"]),
                "channel_margin_rate_change": {k: r(v) for k, v in mix["channel_margin_change"].items()},
                "neighbour_months": list(a.MIX_NEIGHBOUR_MONTHS),
                "company_revenue_before": r(mix["company_revenue_before"]),
                "company_revenue_neighbours": r(mix["company_revenue_neighbours"]),
                "company_revenue_during": r(mix["company_revenue_during"]),
                "company_revenue_change_vs_neighbours": r(mix["company_revenue_during"] / mix["company_revenue_neighbours"] - 1),
                "channel_revenue_change": {k: r(v) for k, v in mix["channel_revenue_change"].items()},
                "description": "经销商 share of revenue jumps while company revenue stays at its usual level: part of the "
                "volume of the higher-margin channels (直销, 电商, 电话销售) moves to 经销商 as bulk low-margin 电脑整机 "
                "orders; each channel's own margin rate unchanged. 当月部分直销、电商、电话销售的采购转由经销商以电脑整机"
                "批量订单承接，经销商收入占比骤升，其他渠道收入相应减少；公司总收入与相邻月份持平，公司毛利率下降约3个百分点，"
                "但各渠道自身毛利率不变（纯结构性变化，不是收入异常）。",
            },
            {
                "id": "erp-stale-day", "kind": "stale_source", "source": "erp_orders",
                "start": a.STALE_DAY.isoformat(), "end": a.STALE_DAY.isoformat(),
                "description": "the ERP export has no rows for this day (the export job did not run); "
                "ERP导出任务当天未运行，erp_orders 中该日无任何记录，其他导出不受影响。",
            },
        ],
    }  # fmt: skip
