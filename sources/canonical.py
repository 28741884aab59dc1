"""The canonical model every source maps into: entities, their fields, types and header synonyms.

A field's synonyms are the column headers real exports use for it, in Chinese and English. Matching is done
on a normalised header (case, spaces, underscores, punctuation and full-width forms ignored), so `Order ID`,
`order_id`, `ORDER-ID` and `订单 ID` are one header. Every canonical row also carries `source`, `source_row`
and `synced_at`, added by the loader.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

TEXT, NUMBER, MONEY, DATE, TIMESTAMP, BOOL = "text", "number", "money", "date", "timestamp", "bool"


@dataclass(frozen=True)
class Field:
    name: str
    type: str = TEXT
    synonyms: tuple[str, ...] = ()
    required: bool = False
    description: str = ""


@dataclass(frozen=True)
class Entity:
    name: str
    fields: tuple[Field, ...]
    primary_key: str | None  # a field name; None means file + line
    description: str = ""
    dimension_keys: tuple[str, ...] = field(default=())

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(f"{self.name} has no field {name!r}; fields: {', '.join(f.name for f in self.fields)}")

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)


def F(name: str, type_: str = TEXT, *synonyms: str, required: bool = False, description: str = "") -> Field:  # noqa: N802
    return Field(name, type_, synonyms, required, description)


# Shared field sets ------------------------------------------------------------------------------------
_REP = F(
    "rep",
    TEXT,
    "sales rep",
    "salesperson",
    "sales person",
    "sales agent",
    "sales_agent",
    "owner",
    "owner name",
    "account owner",
    "销售代表",
    "业务员",
    "销售员",
    "负责人",
    "销售",
    "客户经理",
    "rep name",
    "rep id",
    "销售代表编号",
)
_REGION = F(
    "region", TEXT, "region", "sales region", "regional office", "regional_office", "地区", "区域", "大区", "销售区域"
)
_CHANNEL = F("channel", TEXT, "channel", "sales channel", "渠道", "销售渠道", "来源渠道")
_CURRENCY = F(
    "currency", TEXT, "currency", "currency code", "amount currency", "opportunity currency", "币种", "币别", "货币"
)
_CUSTOMER_ID = F(
    "customer_id", TEXT, "customer id", "customer code", "account id", "客户编号", "客户id", "客户代码", "客户编码"
)
_CUSTOMER_NAME = F(
    "customer_name",
    TEXT,
    "customer name",
    "customer",
    "account",
    "account name",
    "company",
    "客户名称",
    "客户",
    "客户名",
    "公司名称",
)
_PRODUCT_ID = F(
    "product_id",
    TEXT,
    "product id",
    "sku",
    "item code",
    "stockcode",
    "产品编号",
    "产品id",
    "商品编码",
    "商品编号",
    "物料编码",
    "产品编码",
    "product code",
)
_PRODUCT_NAME = F(
    "product_name",
    TEXT,
    "product name",
    "product",
    "item",
    "description",
    "产品名称",
    "商品名称",
    "产品",
    "商品",
    "品名",
)
_COUNTRY = F("country", TEXT, "country", "country/region", "国家", "国家/地区")
_PROVINCE = F("province", TEXT, "province", "state", "state/province", "省", "省份", "省/自治区", "省/市/自治区")
_CITY = F("city", TEXT, "city", "城市", "市")
_SEGMENT = F("segment", TEXT, "segment", "customer segment", "customer type", "细分", "客户类型", "客户分类")
_CATEGORY = F("category", TEXT, "category", "product category", "类别", "品类", "产品类别", "商品类别")
_SUBCATEGORY = F("subcategory", TEXT, "sub-category", "subcategory", "sub category", "子类别", "子类", "二级类目")
_UPDATED = F(
    "updated_at",
    TIMESTAMP,
    "updated at",
    "last modified",
    "last modified date",
    "modified",
    "更新时间",
    "修改时间",
    "最后修改时间",
    "update time",
    "更新日期",
)

ENTITIES: dict[str, Entity] = {}


def _entity(name: str, fields: list[Field], primary_key: str | None, description: str, keys: tuple[str, ...] = ()):
    ENTITIES[name] = Entity(name, tuple(fields), primary_key, description, keys)


_entity(
    "orders",
    [
        F(
            "line_id",
            TEXT,
            "row id",
            "line id",
            "order line id",
            "行 id",
            "行id",
            "行号",
            "明细id",
            "明细编号",
            "订单明细编号",
            "订单行号",
        ),
        F(
            "order_id",
            TEXT,
            "order id",
            "order number",
            "order no",
            "invoice",
            "invoiceno",
            "订单编号",
            "订单号",
            "订单id",
            "单号",
            "销售单号",
            "单据编号",  # Kingdee and Yonyou sales orders
            "单据号",
            required=True,
        ),
        F(
            "order_date",
            TIMESTAMP,
            "order date",
            "date",
            "invoice date",
            "invoicedate",
            "订单日期",
            "下单日期",
            "下单时间",
            "日期",
            "单据日期",
            "销售日期",
            "订单创建时间",
            required=True,
        ),
        F("ship_date", DATE, "ship date", "发货日期"),
        F("status", TEXT, "status", "order status", "订单状态", "状态"),
        F("order_type", TEXT, "order type", "document type", "单据类型", "业务类型"),
        F("returned_line_id", TEXT, "original line id", "return of line", "原行号", "原订单行号", "原明细编号"),
        _CUSTOMER_ID,
        _CUSTOMER_NAME,
        F(
            "person_id",
            TEXT,
            "customer unique id",
            "customer_unique_id",
            "person id",
            "member id",
            "会员id",
            "会员编号",
        ),
        _PRODUCT_ID,
        _PRODUCT_NAME,
        _CATEGORY,
        _SUBCATEGORY,
        F("quantity", NUMBER, "quantity", "qty", "units", "quantity ordered", "units sold", "数量", "销量", "件数"),
        F("unit_price", MONEY, "unit price", "price", "price each", "单价", "销售单价"),
        F(
            "amount",
            MONEY,
            "sales",
            "amount",
            "revenue",
            "sales amount",
            "line total",
            "销售额",
            "金额",
            "销售金额",
            "订单金额",
            "含税金额",
            "价税合计",
            "总金额",
            "订单总额",
            required=True,
        ),
        F("cost", MONEY, "cost", "cogs", "成本", "成本金额", "销售成本"),
        F("profit", MONEY, "profit", "gross profit", "利润", "毛利"),
        F("discount", NUMBER, "discount", "折扣"),
        _CURRENCY,
        _REP,
        _REGION,
        _CHANNEL,
        _SEGMENT,
        _COUNTRY,
        _PROVINCE,
        _CITY,
    ],
    "line_id",
    "One order line. Returns and cancellations are lines with negative quantity and amount (or a return type).",
    ("customer", "product", "rep"),
)
_entity(
    "customers",
    [
        _CUSTOMER_ID,
        _CUSTOMER_NAME,
        F("person_id", TEXT, "customer unique id", "customer_unique_id", "person id", "member id", "会员id"),
        _SEGMENT,
        F("industry", TEXT, "industry", "sector", "行业"),
        _COUNTRY,
        _PROVINCE,
        _CITY,
        _REGION,
        _REP,
        _CHANNEL,
        F(
            "created_date",
            DATE,
            "created date",
            "created",
            "since",
            "customer since",
            "注册日期",
            "创建日期",
            "建档日期",
        ),
    ],
    "customer_id",
    "One customer (an account or a person).",
)
_entity(
    "products",
    [
        _PRODUCT_ID,
        _PRODUCT_NAME,
        _CATEGORY,
        _SUBCATEGORY,
        F("series", TEXT, "series", "product line", "系列", "产品线"),
        F("unit_cost", MONEY, "unit cost", "standard cost", "单位成本", "标准成本"),
        F("list_price", MONEY, "list price", "sales price", "sales_price", "标价", "零售价", "标准售价"),
        _UPDATED,
    ],
    "product_id",
    "One product.",
)
_entity(
    "reps",
    [
        F("rep_id", TEXT, "rep id", "employee id", "salesperson id", "工号", "员工编号", "销售代表编号"),
        F(
            "rep_name",
            TEXT,
            "rep name",
            "rep",
            "sales rep",
            "sales agent",
            "sales_agent",
            "salesperson",
            "name",
            "姓名",
            "销售代表",
            "业务员",
            required=True,
        ),
        F("email", TEXT, "email", "e-mail", "邮箱"),
        F("manager", TEXT, "manager", "sales manager", "经理", "主管", "上级"),
        F("team", TEXT, "team", "sales team", "团队", "小组", "销售团队"),
        _REGION,
        F("valid_from", DATE, "valid from", "effective from", "start date", "生效日期", "起始日期"),
        F("valid_to", DATE, "valid to", "effective to", "end date", "失效日期", "截止日期"),
    ],
    None,
    "The rep roster: one row per assignment (rep → team → region, manager); a team move is a new row.",
)
_entity(
    "opportunities",
    [
        F(
            "opportunity_id",
            TEXT,
            "opportunity id",
            "deal id",
            "opportunity_id",
            "商机编号",
            "机会编号",
            "商机id",
            required=True,
        ),
        F("opportunity_name", TEXT, "opportunity name", "deal name", "商机名称"),
        _CUSTOMER_ID,
        _CUSTOMER_NAME,
        _PRODUCT_ID,
        _PRODUCT_NAME,
        F(
            "stage",
            TEXT,
            "stage",
            "deal stage",
            "deal_stage",
            "stagename",
            "阶段",
            "商机阶段",
            "销售阶段",
            required=True,
        ),
        F(
            "amount",
            MONEY,
            "amount",
            "deal amount",
            "close value",
            "close_value",
            "value",
            "金额",
            "商机金额",
            "预计金额",
            "成交金额",
        ),
        _CURRENCY,
        F("created_date", DATE, "created date", "engage date", "engage_date", "createddate", "创建日期", "立项日期"),
        F("close_date", DATE, "close date", "close_date", "closedate", "关闭日期", "成交日期", "结单日期"),
        F("campaign", TEXT, "campaign", "lead source", "source campaign", "来源活动", "市场活动"),
        _REP,
        _REGION,
        _CHANNEL,
        _UPDATED,
        F("is_deleted", BOOL, "is deleted", "deleted", "isdeleted", "已删除"),
    ],
    "opportunity_id",
    "One deal with its current stage.",
)
_entity(
    "opportunity_stages",
    [
        F("opportunity_id", TEXT, "opportunity id", "deal id", "商机编号", required=True),
        F("stage", TEXT, "stage", "to stage", "new stage", "阶段", "进入阶段", required=True),
        F(
            "entered_at",
            TIMESTAMP,
            "entered at",
            "changed at",
            "date",
            "stage date",
            "进入时间",
            "变更时间",
            required=True,
        ),
    ],
    None,
    "One row per stage a deal entered.",
)
_entity(
    "targets",
    [
        F("period", DATE, "period", "month", "月份", "期间", "年月", required=True),
        F("level", TEXT, "level", "node level", "层级"),
        F("metric", TEXT, "metric", "kpi", "指标"),
        F("team", TEXT, "team", "团队", "销售团队"),
        _REP,
        _REGION,
        _CATEGORY,
        F("amount", MONEY, "target", "amount", "quota", "sales quota", "目标", "目标金额", "指标金额", required=True),
        _CURRENCY,
    ],
    None,
    "A target per period and node (company, region, team or rep).",
)
_entity(
    "campaigns",
    [
        F("campaign_id", TEXT, "campaign id", "活动编号", required=True),
        F("campaign_name", TEXT, "campaign name", "campaign", "活动名称"),
        _CHANNEL,
        F("start_date", DATE, "start date", "开始日期"),
        F("end_date", DATE, "end date", "结束日期"),
    ],
    "campaign_id",
    "Marketing campaigns.",
)
_entity(
    "campaign_spend",
    [
        F("spend_date", DATE, "date", "day", "spend date", "日期", required=True),
        F("campaign", TEXT, "campaign", "campaign id", "活动", "活动编号"),
        _CHANNEL,
        F("amount", MONEY, "spend", "spent", "cost", "amount", "花费", "投放金额", "消耗", required=True),
        _CURRENCY,
        F("impressions", NUMBER, "impressions", "展现量", "曝光量", "展示次数"),
        F("clicks", NUMBER, "clicks", "点击量", "点击次数"),
        F("conversions", NUMBER, "conversions", "total conversion", "total conversions", "转化数", "转化量"),
    ],
    None,
    "Spend per campaign and day, with the impressions, clicks and conversions it bought.",
)
_entity(
    "leads",
    [
        F("lead_id", TEXT, "lead id", "线索编号", required=True),
        F("created_at", TIMESTAMP, "created at", "created date", "创建时间", required=True),
        F("campaign", TEXT, "campaign", "来源活动"),
        _CHANNEL,
        F("status", TEXT, "status", "lead status", "状态"),
        F("opportunity_id", TEXT, "converted opportunity id", "opportunity id", "商机编号"),
        _CUSTOMER_NAME,
        _REP,
        _REGION,
    ],
    "lead_id",
    "Leads by campaign.",
)
_entity(
    "touchpoints",
    [
        F("touchpoint_id", TEXT, "touchpoint id", "触点编号"),
        F("lead_id", TEXT, "lead id", "线索编号"),
        F("opportunity_id", TEXT, "opportunity id", "商机编号"),
        F("campaign", TEXT, "campaign", "活动"),
        _CHANNEL,
        F("occurred_at", TIMESTAMP, "occurred at", "time", "date", "时间", required=True),
    ],
    "touchpoint_id",
    "A lead or deal touched by a campaign.",
)
_entity(
    "activities",
    [
        F("activity_id", TEXT, "activity id", "跟进编号"),
        _REP,
        _CUSTOMER_ID,
        _CUSTOMER_NAME,
        F("opportunity_id", TEXT, "opportunity id", "商机编号"),
        F("activity_type", TEXT, "type", "activity type", "跟进方式", "类型"),
        F("occurred_at", TIMESTAMP, "occurred at", "time", "date", "跟进时间", required=True),
    ],
    "activity_id",
    "Follow-ups: rep × customer or deal × time.",
)
_entity(
    "invoices",
    [
        F("invoice_id", TEXT, "invoice id", "invoice no", "发票号", "发票编号", required=True),
        F("order_id", TEXT, "order id", "订单编号"),
        _CUSTOMER_ID,
        _CUSTOMER_NAME,
        F("invoice_date", DATE, "invoice date", "开票日期", required=True),
        F("due_date", DATE, "due date", "到期日", "应收日期"),
        F("amount", MONEY, "amount", "invoice amount", "开票金额", "金额", required=True),
        _CURRENCY,
        _REP,
    ],
    "invoice_id",
    "Billing with due dates.",
)
_entity(
    "payments",
    [
        F("payment_id", TEXT, "payment id", "回款编号", "收款单号"),
        F("invoice_id", TEXT, "invoice id", "发票号", "发票编号"),
        _CUSTOMER_ID,
        _CUSTOMER_NAME,
        F("payment_date", DATE, "payment date", "date", "回款日期", "收款日期", required=True),
        F("amount", MONEY, "amount", "payment amount", "回款金额", "收款金额", "金额", required=True),
        _CURRENCY,
        _REP,
    ],
    "payment_id",
    "Collections (回款).",
)
_entity(
    "inventory",
    [
        F("snapshot_date", DATE, "date", "snapshot date", "日期", "盘点日期", required=True),
        _PRODUCT_ID,
        _PRODUCT_NAME,
        F("location", TEXT, "location", "warehouse", "仓库", "库位"),
        F(
            "quantity_on_hand",
            NUMBER,
            "on hand",
            "quantity on hand",
            "stock",
            "库存",
            "库存数量",
            "在库数量",
            required=True,
        ),
    ],
    None,
    "Stock level per product × location × day: a level, never summed over days.",
)
_entity(
    "fx_rates",
    [
        F("rate_date", DATE, "date", "rate date", "日期", required=True),
        F("currency", TEXT, "currency", "币种", "货币", required=True),
        F("rate", NUMBER, "rate", "fx rate", "exchange rate", "rate to reporting", "汇率", "折算汇率", required=True),
    ],
    None,
    "Units of the reporting currency per one unit of `currency`, per day.",
)


def normalise_header(text: str) -> str:
    """Header key: NFKC, case-folded, with spaces, underscores, hyphens and punctuation removed."""
    folded = unicodedata.normalize("NFKC", str(text)).casefold()
    return re.sub(r"[\s_\-./\\()（）:：#'\"]+", "", folded)


def header_index(entity: str) -> dict[str, str]:
    """Normalised synonym → canonical field name for one entity (field names themselves included)."""
    out: dict[str, str] = {}
    for f in ENTITIES[entity].fields:
        for word in (f.name, *f.synonyms):
            out.setdefault(normalise_header(word), f.name)
    return out
