"""华信科技 (Huaxin Tech): the fixed organisation of the demo company.

Everything here is plain, immutable data so that the generator, the demo users file and the tests share one
truth: regions, teams and their managers, the rep roster (with S004's team move), sales channels, the product
catalogue, the geography each region sells into, warehouses and marketing campaigns.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

COMPANY = "华信科技"
SEED = 20261130
START_DATE = dt.date(2024, 1, 1)
END_DATE = dt.date(2026, 11, 30)
TARGETS_END = dt.date(2026, 12, 31)  # targets are published for the whole of the last year
CURRENCY = "CNY"
EXPORT_CURRENCY = "USD"

REGIONS: tuple[str, ...] = ("华东", "华北", "华南", "西南")
CHANNELS: tuple[str, ...] = ("直销", "经销商", "电商", "电话销售")
B2B_CHANNELS: tuple[str, ...] = ("直销", "经销商")
SEGMENTS: tuple[str, ...] = ("企业", "政府", "教育", "个人")


@dataclass(frozen=True)
class Team:
    """A sales team inside one region, led by one manager."""

    id: str
    label: str
    region: str
    manager: str


TEAMS: tuple[Team, ...] = (
    Team("T-E1", "华东一组", "华东", "王建国"),
    Team("T-E2", "华东二组", "华东", "李秀英"),
    Team("T-N1", "华北一组", "华北", "张伟"),
    Team("T-N2", "华北二组", "华北", "刘洋"),
    Team("T-S1", "华南一组", "华南", "陈静"),
    Team("T-S2", "华南二组", "华南", "杨帆"),
    Team("T-W1", "西南一组", "西南", "赵磊"),
)
TEAM_BY_ID: dict[str, Team] = {t.id: t for t in TEAMS}


@dataclass(frozen=True)
class Rep:
    """A sales rep (业务员) with the team they joined on START_DATE."""

    id: str
    name: str
    email: str
    first_team: str

    @property
    def region(self) -> str:
        """The rep's region; S004's move stays inside 华东, so it never changes."""
        return TEAM_BY_ID[self.first_team].region


_REP_NAMES = (
    "孙浩然", "周婷", "吴志强", "郑晓东",  # T-E1
    "冯丽娟", "何俊", "许文博", "高雅琴",  # T-E2
    "马超群", "胡晓梅", "郭宏伟", "林佳怡",  # T-N1
    "罗志刚", "梁思琪", "宋建华", "谢宇航",  # T-N2
    "唐嘉欣", "韩冬", "曹丽华", "邓子轩",  # T-S1
    "彭海涛", "曾文静", "肖国栋", "田雨萱",  # T-S2
    "董成", "袁晓燕", "蒋天佑", "潘美玲",  # T-W1
)  # fmt: skip
REPS: tuple[Rep, ...] = tuple(
    Rep(f"S{i + 1:03d}", name, f"s{i + 1:03d}@huaxin.example", TEAMS[i // 4].id) for i, name in enumerate(_REP_NAMES)
)
REP_BY_ID: dict[str, Rep] = {r.id: r for r in REPS}


@dataclass(frozen=True)
class Assignment:
    """One roster row: a rep in a team from `valid_from` to `valid_to` (inclusive; None = still valid)."""

    rep_id: str
    team_id: str
    valid_from: dt.date
    valid_to: dt.date | None


MOVE_REP, MOVE_FROM, MOVE_TO, MOVE_DATE = "S004", "T-E1", "T-E2", dt.date(2025, 7, 1)


def _assignments() -> tuple[Assignment, ...]:
    rows: list[Assignment] = []
    for rep in REPS:
        if rep.id == MOVE_REP:
            rows.append(Assignment(rep.id, MOVE_FROM, START_DATE, MOVE_DATE - dt.timedelta(days=1)))
            rows.append(Assignment(rep.id, MOVE_TO, MOVE_DATE, None))
        else:
            rows.append(Assignment(rep.id, rep.first_team, START_DATE, None))
    return tuple(rows)


ASSIGNMENTS: tuple[Assignment, ...] = _assignments()


def team_of(rep_id: str, day: dt.date) -> str:
    """The id of the team `rep_id` belongs to on `day`."""
    for a in ASSIGNMENTS:
        if a.rep_id == rep_id and a.valid_from <= day and (a.valid_to is None or day <= a.valid_to):
            return a.team_id
    raise ValueError(f"{rep_id} has no team on {day}")


# Products ---------------------------------------------------------------------------------------------
CATEGORIES: dict[str, tuple[str, ...]] = {
    "办公设备": ("打印机", "复印机", "投影仪"),
    "电脑整机": ("笔记本", "台式机", "服务器"),
    "网络设备": ("路由器", "交换机"),
    "耗材": ("墨盒", "纸张", "硒鼓"),
    "软件服务": ("软件许可", "维保服务"),
}
#: Gross margin at list price per category (each product deviates a little, see PRODUCTS).
CATEGORY_MARGIN: dict[str, float] = {
    "办公设备": 0.26,
    "电脑整机": 0.14,
    "网络设备": 0.30,
    "耗材": 0.45,
    "软件服务": 0.40,
}
#: Price level per channel relative to list price: distributors buy cheaper, hence a lower margin.
CHANNEL_PRICE_FACTOR: dict[str, float] = {"直销": 1.00, "经销商": 0.92, "电商": 0.96, "电话销售": 0.98}
STOCKED_CATEGORIES: tuple[str, ...] = ("办公设备", "电脑整机", "网络设备", "耗材")


@dataclass(frozen=True)
class Product:
    """A catalogue item; prices in CNY."""

    id: str
    name: str
    category: str
    subcategory: str
    list_price: float
    margin: float  # margin at list price

    @property
    def unit_cost(self) -> float:
        """Standard unit cost in CNY, rounded to fen."""
        return round(self.list_price * (1.0 - self.margin), 2)


_CATALOGUE = (
    # name, subcategory, list price, margin offset vs category
    ("A4黑白激光打印机 LP-2100", "打印机", 1299, 0.02),
    ("A4彩色激光打印机 LP-3600C", "打印机", 3299, 0.00),
    ("A3彩色多功能打印机 MF-5200", "打印机", 8999, -0.02),
    ("便携式喷墨打印机 IP-110", "打印机", 899, 0.03),
    ("A3黑白数码复印机 DC-2520", "复印机", 12800, -0.01),
    ("A3彩色数码复印机 DC-4550C", "复印机", 26800, 0.00),
    ("高速生产型复印机 DC-7500", "复印机", 35600, -0.03),
    ("商务投影仪 PJ-X300", "投影仪", 2999, 0.01),
    ("高亮工程投影仪 PJ-W8000", "投影仪", 9999, -0.01),
    ("激光会议投影仪 PJ-L5100", "投影仪", 6499, 0.02),
    ("轻薄商务笔记本 NB-14 Pro", "笔记本", 5999, 0.00),
    ("高性能设计笔记本 NB-16 Max", "笔记本", 12999, -0.02),
    ("入门办公笔记本 NB-15 Lite", "笔记本", 3999, 0.02),
    ("二合一平板笔记本 NB-13 Flip", "笔记本", 7499, 0.01),
    ("商用台式机 DT-500", "台式机", 4299, 0.01),
    ("图形工作站 DT-W900", "台式机", 15999, -0.02),
    ("一体机电脑 AIO-24", "台式机", 5499, 0.00),
    ("机架式服务器 SR-2U", "服务器", 38000, -0.02),
    ("塔式服务器 ST-1000", "服务器", 18500, 0.00),
    ("高密度存储服务器 SR-4U", "服务器", 69000, -0.03),
    ("企业级千兆路由器 RT-G800", "路由器", 1899, 0.02),
    ("双频无线路由器 RT-AX30", "路由器", 399, 0.04),
    ("多WAN口负载均衡路由器 RT-M2000", "路由器", 3699, 0.00),
    ("24口千兆交换机 SW-24G", "交换机", 1599, 0.01),
    ("48口万兆核心交换机 SW-48X", "交换机", 18800, -0.03),
    ("8口PoE交换机 SW-8P", "交换机", 699, 0.03),
    ("三层汇聚交换机 SW-L3-24", "交换机", 8800, -0.01),
    ("黑色墨盒 INK-B10", "墨盒", 129, 0.02),
    ("彩色墨盒套装 INK-C30", "墨盒", 299, 0.00),
    ("大容量墨盒 INK-XL", "墨盒", 219, 0.01),
    ("A4复印纸 70g 5包/箱", "纸张", 139, -0.05),
    ("A4复印纸 80g 5包/箱", "纸张", 169, -0.04),
    ("A3复印纸 80g 5包/箱", "纸张", 259, -0.04),
    ("原装硒鼓 TN-210", "硒鼓", 399, 0.02),
    ("高容量硒鼓 TN-360X", "硒鼓", 699, 0.01),
    ("彩色硒鼓套装 TN-C4", "硒鼓", 1599, 0.00),
    ("办公套件企业版 年度许可", "软件许可", 1280, 0.05),
    ("终端安全软件 100用户", "软件许可", 4800, 0.02),
    ("文档管理系统 标准版", "软件许可", 9800, 0.00),
    ("设备延保服务 3年", "维保服务", 1500, -0.05),
    ("驻场维保服务 年度", "维保服务", 12000, -0.08),
)
_CATEGORY_OF = {sub: cat for cat, subs in CATEGORIES.items() for sub in subs}
PRODUCTS: tuple[Product, ...] = tuple(
    Product(f"P{i + 1:03d}", name, _CATEGORY_OF[sub], sub, float(price), CATEGORY_MARGIN[_CATEGORY_OF[sub]] + off)
    for i, (name, sub, price, off) in enumerate(_CATALOGUE)
)

# Geography --------------------------------------------------------------------------------------------
#: region → province → (weight, cities); customers of a rep are located in the rep's region.
GEOGRAPHY: dict[str, dict[str, tuple[float, tuple[str, ...]]]] = {
    "华东": {
        "上海市": (5.0, ("上海市",)),
        "江苏省": (4.5, ("南京市", "苏州市", "无锡市", "常州市")),
        "浙江省": (4.0, ("杭州市", "宁波市", "温州市", "绍兴市")),
        "山东省": (3.0, ("济南市", "青岛市", "烟台市")),
        "安徽省": (1.5, ("合肥市", "芜湖市")),
        "福建省": (1.5, ("福州市", "厦门市")),
        "江西省": (1.0, ("南昌市",)),
    },
    "华北": {
        "北京市": (5.0, ("北京市",)),
        "天津市": (2.5, ("天津市",)),
        "河北省": (2.5, ("石家庄市", "唐山市", "保定市")),
        "山西省": (1.2, ("太原市", "大同市")),
        "内蒙古自治区": (0.8, ("呼和浩特市", "包头市")),
    },
    "华南": {
        "广东省": (7.0, ("广州市", "深圳市", "东莞市", "佛山市", "珠海市")),
        "广西壮族自治区": (1.5, ("南宁市", "柳州市", "桂林市")),
        "海南省": (0.8, ("海口市", "三亚市")),
    },
    "西南": {
        "四川省": (4.0, ("成都市", "绵阳市")),
        "重庆市": (3.0, ("重庆市",)),
        "云南省": (1.5, ("昆明市",)),
        "贵州省": (1.2, ("贵阳市",)),
        "西藏自治区": (0.3, ("拉萨市",)),
    },
}
WAREHOUSES: tuple[str, ...] = ("上海仓", "北京仓", "广州仓")
WAREHOUSE_OF_REGION: dict[str, str] = {"华东": "上海仓", "华北": "北京仓", "华南": "广州仓", "西南": "广州仓"}

# Calendar ---------------------------------------------------------------------------------------------
#: 春节 (Spring Festival day) per year; the week around it is a near standstill for B2B sales.
SPRING_FESTIVALS: tuple[dt.date, ...] = (dt.date(2024, 2, 10), dt.date(2025, 1, 29), dt.date(2026, 2, 17))

# Marketing --------------------------------------------------------------------------------------------
MARKETING_CHANNELS: tuple[str, ...] = ("搜索广告", "展会", "社交媒体", "邮件营销", "官网")


@dataclass(frozen=True)
class Campaign:
    """A marketing campaign (活动) with its marketing channel and running dates (inclusive)."""

    id: str
    name: str
    channel: str
    start: dt.date
    end: dt.date


def _d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


CAMPAIGNS: tuple[Campaign, ...] = tuple(
    Campaign(f"CMP{i + 1:02d}", name, channel, _d(start), _d(end))
    for i, (name, channel, start, end) in enumerate(
        (
            ("2024官网全年引流", "官网", "2024-01-01", "2024-12-31"),
            ("办公设备春季搜索推广", "搜索广告", "2024-02-26", "2024-05-31"),
            ("上海国际办公设备展", "展会", "2024-04-10", "2024-04-30"),
            ("老客户回购邮件", "邮件营销", "2024-06-01", "2024-07-15"),
            ("开学季社交媒体推广", "社交媒体", "2024-08-01", "2024-09-30"),
            ("服务器专场搜索推广", "搜索广告", "2024-09-01", "2024-12-15"),
            ("深圳高交会", "展会", "2024-11-10", "2024-11-30"),
            ("2025官网全年引流", "官网", "2025-01-01", "2025-12-31"),
            ("新春复工采购搜索推广", "搜索广告", "2025-02-05", "2025-04-30"),
            ("北京教育装备展", "展会", "2025-04-15", "2025-05-10"),
            ("企业数字化社交媒体推广", "社交媒体", "2025-05-01", "2025-07-31"),
            ("年中促销邮件", "邮件营销", "2025-06-01", "2025-06-30"),
            ("网络设备搜索推广", "搜索广告", "2025-08-15", "2025-11-30"),
            ("成都西部IT博览会", "展会", "2025-10-20", "2025-11-10"),
            ("2026官网全年引流", "官网", "2026-01-01", "2026-12-31"),
            ("春季采购节搜索推广", "搜索广告", "2026-02-25", "2026-05-31"),
            ("广州办公科技展", "展会", "2026-03-18", "2026-04-10"),
            ("维保续约邮件", "邮件营销", "2026-05-01", "2026-10-31"),
            ("开学季社交媒体推广2026", "社交媒体", "2026-07-15", "2026-09-15"),
            ("年末冲刺搜索推广", "搜索广告", "2026-10-01", "2026-12-31"),
        )
    )
)
