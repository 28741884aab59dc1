"""Comparison columns: previous period, same period last year, to-date against last year, and target pace.

- `previous` → `M__previous`, `M__delta`, `M__delta_pct` (CONTRACTS.md). Previous of whole months is the same
  number of whole months before; of any other range, the same number of days before.
- `last_year` → `M__last_year`, `M__delta_last_year`, `M__delta_pct_last_year`; day and week grains align
  weekdays (364 days back), other grains shift by a calendar year.
- `mtd_last_year`, `qtd_last_year`, `ytd_last_year` → `M__mtd` (month, fiscal quarter or fiscal year to date,
  up to `--to` or the business today), `M__mtd_last_year` (the same span one year earlier),
  `M__delta_mtd_last_year`, `M__delta_pct_mtd_last_year` (and so for qtd, ytd). Totals only: no grain.
- `target_pace` → `M__target_pace`, `M__delta_target_pace`, `M__delta_pct_target_pace` for metrics that name
  a `target`: each month's target prorated to the part of the month inside the range (and the period) by
  working days — Chinese working days with 调休 when `holidays: cn`, else Monday to Friday.
A snapshot metric (a level as of the data) has no history: its comparison columns have no value.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pandas as pd

from core.calendar import BusinessCalendar
from metrics.compiler import Ask, QueryError
from metrics.query import Runner, data_range

TO_DATE = {
    "mtd_last_year": ("mtd", "month"),
    "qtd_last_year": ("qtd", "fiscal_quarter"),
    "ytd_last_year": ("ytd", "fiscal_year"),
}


def add_comparison(frame: pd.DataFrame, kind: str, runner: Runner, ask: Ask, *, today: dt.date) -> pd.DataFrame:
    """`frame` with the columns of one comparison kind added."""
    if kind in TO_DATE:
        return _to_date(frame, kind, runner, ask, today)
    if kind == "target_pace":
        return _target_pace(frame, runner, ask)
    start, end = ask.start, ask.end
    if start is None or end is None:
        lo, hi = data_range(runner, runner.specs[0])
        start, end = start or lo, end or hi
        if start is None or end is None:
            return frame
    cal = ask.calendar
    if kind == "previous":
        if ask.grain:
            c_start = cal.period_start(cal.period_start(start, ask.grain) - dt.timedelta(days=1), ask.grain)
            c_end = cal.period_start(end, ask.grain) - dt.timedelta(days=1)
        else:
            c_start, c_end = cal.previous_range(start, end)
    else:
        c_start, c_end = cal.last_year_range(start, end, ask.grain)
    other = runner.frame(replace(ask, start=c_start, end=c_end))
    if ask.grain:
        if kind == "previous":
            other["period"] = [cal.next_period(p, ask.grain) for p in other["period"]]
        elif ask.grain in ("day", "week"):
            other["period"] = [p + dt.timedelta(days=364) for p in other["period"]]
        else:
            other["period"] = [cal.period_start(_shift_year(p, 1), ask.grain) for p in other["period"]]
    suffix = "previous" if kind == "previous" else "last_year"
    tail = "" if kind == "previous" else "_last_year"
    return _merge(frame, other, runner, runner.keys(ask), suffix, f"__delta{tail}", f"__delta_pct{tail}")


def _merge(frame, other, runner: Runner, keys, suffix, delta, delta_pct) -> pd.DataFrame:  # noqa: ANN001
    rename = {m.name: f"{m.name}__{suffix}" for m in runner.specs}
    other = other.rename(columns=rename)[keys + list(rename.values())]
    merged = frame.merge(other, on=keys, how="left") if keys else pd.concat([frame, other], axis=1)
    for metric in runner.specs:
        _deltas(merged, runner, metric.name, metric.name, f"{metric.name}__{suffix}", delta, delta_pct)
    return merged


def _deltas(merged: pd.DataFrame, runner: Runner, name: str, cur_col: str, prev_col: str, delta: str, pct: str) -> None:
    """Fill the comparison value by the empty-bucket rule and add its delta and relative delta columns."""
    metric = runner.catalog.metric(name)
    cur = merged[cur_col].astype("float64")
    prev = merged[prev_col].astype("float64")
    if metric.format in ("money", "count") and metric.type == "simple":
        cur, prev = cur.fillna(0), prev.fillna(0)
    if any(b.snapshot for b in runner.catalog.base_metrics(name)):
        prev = prev.where(pd.Series(False, index=prev.index))  # a level as of now has no past value here
    merged[cur_col] = cur if cur_col != name else merged[cur_col]
    merged[prev_col] = prev
    merged[f"{name}{delta}"] = cur - prev
    merged[f"{name}{pct}"] = (cur - prev) / prev.abs().where(prev != 0)


def _to_date(frame: pd.DataFrame, kind: str, runner: Runner, ask: Ask, today: dt.date) -> pd.DataFrame:
    tag, unit = TO_DATE[kind]
    if ask.grain:
        raise QueryError(
            f"--compare {kind} gives one to-date value per row; ask without --grain "
            "(a cumulative metric such as revenue_ytd gives running totals by period)"
        )
    cal = ask.calendar
    anchor = ask.end or today
    last = _shift_year(anchor, -1)
    current = runner.frame(replace(ask, start=cal.period_start(anchor, unit), end=anchor))
    before = runner.frame(replace(ask, start=cal.period_start(last, unit), end=last))
    keys = runner.keys(ask)
    names = [m.name for m in runner.specs]
    merged = frame
    for part, suffix in ((current, tag), (before, f"{tag}_last_year")):
        part = part.rename(columns={n: f"{n}__{suffix}" for n in names})[keys + [f"{n}__{suffix}" for n in names]]
        merged = merged.merge(part, on=keys, how="left") if keys else pd.concat([merged, part], axis=1)
    for name in names:
        _deltas(
            merged,
            runner,
            name,
            f"{name}__{tag}",
            f"{name}__{tag}_last_year",
            f"__delta_{tag}_last_year",
            f"__delta_pct_{tag}_last_year",
        )
    return merged


def _target_pace(frame: pd.DataFrame, runner: Runner, ask: Ask) -> pd.DataFrame:
    catalog = runner.catalog
    paced = [m for m in runner.specs if m.target]
    if not paced:
        with_target = sorted(n for n, m in catalog.metrics.items() if m.target)
        raise QueryError(
            f"--compare target_pace needs a metric with a target; metrics with targets: {', '.join(with_target) or 'none'}"
        )
    start, end = ask.start, ask.end
    if start is None or end is None:
        lo, hi = data_range(runner, paced[0])
        start, end = start or lo, end or hi
    if start is None or end is None:
        return frame
    out = frame.copy()
    keys = runner.keys(ask)
    dims = [k for k in keys if k != "period"]
    cal = ask.calendar
    for metric in paced:
        allowed = catalog.allowed_dimensions(metric.target)
        for dim in [*ask.by, *ask.where]:
            if dim not in allowed:
                raise QueryError(
                    f"--compare target_pace: dimension {dim!r} is not allowed for {metric.target}; allowed: {', '.join(allowed)}"
                )
        target_params = {**runner.params, metric.target: runner.params.get(metric.target, {})}
        target_runner = Runner(
            runner.backend, catalog, (catalog.metric(metric.target),), target_params, runner.table_cache
        )
        monthly = target_runner.frame(
            replace(ask, grain="month", start=start.replace(day=1), end=cal.period_end(end.replace(day=1), "month"))
        )
        rows = []
        for rec in monthly.to_dict(orient="records"):
            month = rec["period"]
            for period, share in _shares(month, start, end, ask.grain, cal):
                rows.append({**{d: rec[d] for d in dims}, "period": period, "_pace": rec[metric.target] * share})
        pace = pd.DataFrame(rows, columns=[*dims, "period", "_pace"])
        pace_col = f"{metric.name}__target_pace"
        if keys:
            pace = pace.groupby(keys, dropna=False)["_pace"].sum().reset_index().rename(columns={"_pace": pace_col})
            out = out.merge(pace[keys + [pace_col]], on=keys, how="left")
        else:
            out[pace_col] = pace["_pace"].sum() if len(pace) else None
        cur, target = out[metric.name].astype("float64"), out[pace_col].astype("float64")
        out[f"{metric.name}__delta_target_pace"] = cur - target
        out[f"{metric.name}__delta_pct_target_pace"] = (cur - target) / target.abs().where(target != 0)
    return out


def _shares(month: dt.date, start: dt.date, end: dt.date, grain: str | None, cal: BusinessCalendar):  # noqa: ANN202
    """(output period, share of the month's target) for each output period overlapping the month inside the range."""
    m_end = cal.period_end(month, "month")
    lo, hi = max(month, start), min(m_end, end)
    if lo > hi:
        return []
    whole = cal.workdays(month, m_end) or (m_end - month).days + 1
    count = cal.workdays if cal.workdays(month, m_end) else (lambda a, b: (b - a).days + 1)
    if grain is None:
        return [(None, count(lo, hi) / whole)]
    out, period = [], cal.period_start(lo, grain)
    while period <= hi:
        p_lo, p_hi = max(period, lo), min(cal.period_end(period, grain), hi)
        if p_lo <= p_hi:
            out.append((period, count(p_lo, p_hi) / whole))
        period = cal.next_period(period, grain)
    return out


def _shift_year(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)
