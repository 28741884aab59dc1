"""The customer base: ~2,000 accounts, each owned by one rep and located in that rep's region.

Every customer buys through one sales channel that fits its segment (a 个人 buys on 电商 or by 电话销售; 政府
buys 直销 or through 经销商). Some persons hold several customer ids (会员编号 shared), typically one 电商 and one
电话销售 account, so a repeat rate on person id differs from the per-customer-id rate. A few 直销 企业 accounts
are exporters billed in USD.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from demo.company import CHANNELS, GEOGRAPHY, REPS, SEGMENTS

N_BASE_CUSTOMERS = 1_860
N_SECOND_ACCOUNTS = 140
EXISTING_SHARE = 0.45  # customers already buying on START_DATE
EXPORT_SHARE_OF_DIRECT_WEIGHT = 0.13  # tunes USD revenue to ~8% of the total

_SEGMENT_P = (0.52, 0.08, 0.10, 0.30)
#: P(channel | segment), channels in CHANNELS order (直销, 经销商, 电商, 电话销售).
_CHANNEL_P = {
    "企业": (0.38, 0.26, 0.08, 0.28),
    "政府": (0.60, 0.40, 0.0, 0.0),
    "教育": (0.50, 0.40, 0.0, 0.10),
    "个人": (0.0, 0.0, 0.80, 0.20),
}
_INDUSTRY_WORDS = {
    "制造业": ("精密制造", "机械", "电子", "新材料"),
    "金融": ("投资", "资产管理", "金融服务"),
    "互联网": ("网络科技", "信息技术", "软件"),
    "零售": ("商贸", "百货", "连锁"),
    "物流": ("物流", "供应链管理", "运输"),
    "医疗": ("医疗器械", "医药", "健康科技"),
    "能源": ("能源", "电力科技", "新能源"),
    "房地产": ("置业", "房地产开发", "物业服务"),
    "咨询": ("咨询", "管理顾问", "企业服务"),
}
_CORES = (
    "恒达 华瑞 鼎盛 中科 金源 宏远 天成 博雅 东方 瑞丰 安泰 汇通 德信 盛世 永新 启明 新锐 卓越 万通 国信 嘉禾 凯旋 "
    "联创 明辉 润泽 正和 智航 云图 海润 金桥 锦程 信达 腾飞 同创 华兴 远景 力诚 辰光 泰和 中润 世纪 亿丰 海川 鸿运 "
    "创新 光华 星河 蓝海 鑫源 长青 天元 恒信 聚能 宇通 华腾 百川 和泰 致远 睿思 融通"
).split()
_GOV_DEPTS = (
    "人民政府办公室", "税务局", "公安局", "自然资源局", "交通运输局", "市场监督管理局", "财政局", "教育局",
    "卫生健康委员会", "统计局", "住房和城乡建设局", "生态环境局", "人力资源和社会保障局", "人民医院", "档案馆",
)  # fmt: skip
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏辉飞鑫宇浩凯婷雪琳晨阳欣怡子涵梓睿博文佳思雨"


def _company_name(rng: np.random.Generator, city: str, industry: str, export: bool) -> str:
    place = city.removesuffix("市")
    core = _CORES[rng.integers(len(_CORES))]
    if export:
        word = ("进出口", "国际贸易")[rng.integers(2)]
        return f"{place}{core}{word}有限公司"
    words = _INDUSTRY_WORDS[industry]
    word = words[rng.integers(len(words))]
    suffix = "股份有限公司" if rng.random() < 0.2 else "有限公司"
    return f"{place}{core}{word}{suffix}"


def _school_name(rng: np.random.Generator, city: str) -> str:
    place = city.removesuffix("市")
    kind = rng.integers(5)
    if kind == 0:
        return f"{city}第{rng.integers(1, 41)}中学"
    if kind == 1:
        return f"{place}职业技术学院"
    if kind == 2:
        return f"{place}实验小学"
    if kind == 3:
        return f"{place}外国语学校"
    return f"{place}理工学院"


def _person_name(rng: np.random.Generator) -> str:
    surname = _SURNAMES[rng.integers(len(_SURNAMES))]
    size = 1 if rng.random() < 0.3 else 2
    return surname + "".join(_GIVEN[i] for i in rng.integers(len(_GIVEN), size=size))


def _names(rng: np.random.Generator, segment: np.ndarray, city: np.ndarray, industry: np.ndarray, export: np.ndarray):
    seen: set[str] = set()
    names: list[str] = []
    for seg, c, ind, exp in zip(segment, city, industry, export, strict=True):
        for _attempt in range(200):
            if seg == "个人":
                name = _person_name(rng)
                break  # persons may share a name
            if seg == "企业":
                name = _company_name(rng, c, ind, bool(exp))
            elif seg == "政府":
                name = f"{c}{_GOV_DEPTS[rng.integers(len(_GOV_DEPTS))]}"
            else:
                name = _school_name(rng, c)
            if name not in seen:
                break
        seen.add(name)
        names.append(name)
    return names


def _locate(rng: np.random.Generator, regions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    province = np.empty(len(regions), dtype=object)
    city = np.empty(len(regions), dtype=object)
    u_prov, u_city = rng.random(len(regions)), rng.random(len(regions))
    for region, provinces in GEOGRAPHY.items():
        rows = np.flatnonzero(regions == region)
        names = list(provinces)
        weights = np.array([provinces[p][0] for p in names])
        pick = np.searchsorted(np.cumsum(weights) / weights.sum(), u_prov[rows], side="right")
        for i, p in zip(rows, pick, strict=True):
            cities = provinces[names[p]][1]
            province[i] = names[p]
            city[i] = cities[min(int(u_city[i] * len(cities)), len(cities) - 1)]
    return province, city


def make_customers(rng: np.random.Generator, n_days: int) -> pd.DataFrame:
    """The customer table (one row per customer id, internal integer index, not yet sorted or numbered).

    Columns: rep, region, segment, channel, industry, province, city, name, export, person, weight,
    active_from (day index of the first possible order) and created (datetime64[D] account creation date).
    """
    n = N_BASE_CUSTOMERS
    rep_size = rng.lognormal(0.0, 0.25, len(REPS))
    rep = np.searchsorted(np.cumsum(rep_size) / rep_size.sum(), rng.random(n), side="right")
    region = np.array([REPS[r].region for r in rep], dtype=object)
    segment = np.array(SEGMENTS, dtype=object)[np.searchsorted(np.cumsum(_SEGMENT_P), rng.random(n), side="right")]
    u = rng.random(n)
    channel = np.empty(n, dtype=np.int64)
    for seg in SEGMENTS:
        rows = segment == seg
        channel[rows] = np.searchsorted(np.cumsum(_CHANNEL_P[seg]), u[rows], side="right")
    industries = np.array(list(_INDUSTRY_WORDS), dtype=object)
    industry = np.where(segment == "企业", industries[rng.integers(len(industries), size=n)], "")
    industry = np.where(segment == "政府", "政府机构", np.where(segment == "教育", "教育", industry))
    direct_company = (segment == "企业") & (channel == CHANNELS.index("直销"))
    export = direct_company & (rng.random(n) < 0.15)
    industry = np.where(export, "外贸", industry)
    province, city = _locate(rng, region)
    weight = rng.lognormal(0.0, 0.7, n)
    existing = (rng.random(n) < EXISTING_SHARE) | export
    active_from = np.where(existing, 0, rng.integers(1, n_days - 60, size=n))
    # exporters are long-standing accounts; scale them to a fixed share of the 直销 pool
    direct = channel == CHANNELS.index("直销")
    others = weight[direct & ~export].sum()
    weight[export] *= (
        EXPORT_SHARE_OF_DIRECT_WEIGHT * others / (1 - EXPORT_SHARE_OF_DIRECT_WEIGHT) / weight[export].sum()
    )
    names = np.array(_names(rng, segment, city, industry, export), dtype=object)
    base = pd.DataFrame(
        {
            "rep": rep, "region": region, "segment": segment, "channel": channel, "industry": industry,
            "province": province, "city": city, "name": names, "export": export, "person": np.arange(n),
            "weight": weight, "active_from": active_from,
        }
    )  # fmt: skip
    # second accounts of the same person (会员编号 shared): mostly 个人 with an 电商 and a 电话销售 account
    candidates = np.flatnonzero((segment == "个人") | ((segment == "企业") & ~export))
    pick = np.sort(rng.choice(candidates, size=N_SECOND_ACCOUNTS, replace=False))
    second = base.iloc[pick].copy()
    other = {0: 3, 1: 0, 2: 3, 3: 2}  # 直销→电话销售, 经销商→直销, 电商→电话销售, 电话销售→电商
    second["channel"] = second["channel"].map(other)
    second["weight"] = second["weight"] * rng.uniform(0.005, 0.05, len(second))  # occasional second account
    lag = rng.integers(30, 400, len(second))
    second["active_from"] = np.minimum(second["active_from"].to_numpy() + lag, n_days - 30)
    customers = pd.concat([base, second], ignore_index=True)
    created_lag = rng.integers(0, 45, len(customers))
    first_day = np.datetime64("2024-01-01")
    legacy = first_day - rng.integers(1, 8 * 365, len(customers)).astype("timedelta64[D]")
    created = np.where(
        customers["active_from"].to_numpy() == 0,
        legacy,
        first_day + np.maximum(customers["active_from"].to_numpy() - created_lag, 0).astype("timedelta64[D]"),
    )
    customers["created"] = created.astype("datetime64[D]")
    return customers
