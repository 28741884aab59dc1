from cockpit_ui.guard import require

principal = require("data_health")

# 数据健康 Data health — is every source current, complete and readable? Per source: last success and lag
# against its schedule (late sources marked), rows read / loaded / rejected / superseded over time, schema drift,
# what the loader noticed, the rejected rows (browsable, downloadable — audited) and join keys that match
# nothing. Admins upload a file here, read its check report, confirm, and watch the worker load it.

from functools import partial

import pandas as pd
import streamlit as st

from cockpit_ui import health
from cockpit_ui.data import app_settings, day_gaps, live_snapshot
from cockpit_ui.i18n import lang
from cockpit_ui.vocabulary import ENTITY, STATUS, word
from core.appstate import AppState
from core.config import ENTITIES
from sources.drift import schema_drift, schema_of_run
from sources.inbox import InboxError, check_staged, confirm, discard, stage_upload, staged_file, validate_target
from sources.sync import all_sources

UPLOAD_TYPES = ["csv", "tsv", "txt", "xlsx", "xlsm", "xls"]

cfg = app_settings()
zh = lang() == "zh"
state = AppState(cfg.data_dir)
snapshot = live_snapshot(cfg)
sources = all_sources(cfg)


def words(zh_text: str, en_text: str) -> str:
    return zh_text if zh else en_text


st.title(words("数据健康", "Data health"))

# ---- every source at a glance -------------------------------------------------------------------------------
summary = health.source_summary(cfg, state, sources, snapshot)
if not summary.empty:
    late, stale = summary[summary["late"]]["source"].tolist(), summary[summary["stale"]]["source"].tolist()
    if late:
        st.warning(words("未按计划同步（同步逾期）：", "Late against their schedule: ") + ", ".join(late))
    if stale:
        st.warning(
            words(
                "最近一次同步未成功，显示的是上次成功的数据：",
                "Their last sync did not succeed; showing their last good data: ",
            )
            + ", ".join(stale)
        )
    gaps = day_gaps(snapshot.id, str(cfg.config_path), cfg.today) if snapshot is not None else []
    if gaps:
        st.warning(
            words(
                "近 90 天内没有任何记录的日期（按该数据源的日常节奏判断）：",
                "Days without any rows in the last 90 (against each source's usual days): ",
            )
            + "; ".join(f"{g.source} ({word(ENTITY, g.entity, lang())}) {g.day.isoformat()}" for g in gaps)
        )
    st.dataframe(
        health.summary_for_display(summary, lang()),
        hide_index=True,
        width="stretch",
        height="content",
        key="sources_table",
        column_config=health.summary_columns(lang()),
    )
else:
    st.info(words("尚未配置数据源。", "No sources are configured yet."))

# ---- one source in depth ------------------------------------------------------------------------------------
if sources:
    name = st.selectbox(words("数据源", "Source"), [s.name for s in sources], key="health_source")
    rows_tab, drift_tab, rejects_tab, keys_tab = st.tabs(
        [
            words("行数变化", "Rows over time"),
            words("结构变化与问题", "Drift and issues"),
            words("被拒绝的行", "Rejected rows"),
            words("未匹配的键", "Keys that match nothing"),
        ]
    )
    with rows_tab:
        runs = health.runs_over_time(cfg, state, name)
        if runs.empty:
            st.caption(words("还没有载入记录。", "No loads recorded yet."))
        else:
            st.altair_chart(health.rows_chart(runs, lang()), key="rows_chart")
            st.caption(words("每次载入（已发布或被拦截）一个点。", "One point per load (published or blocked)."))
    with drift_tab:
        st.subheader(words("结构变化（与上次成功载入相比）", "Schema drift (against the last good load)"))
        drift = health.drift_frame(state, name)
        if drift.empty:
            st.caption(words("无", "None"))
        else:
            st.dataframe(drift, hide_index=True, width="stretch", key="drift_table")
        st.subheader(words("载入时发现的问题", "What the loader noticed"))
        issues = health.issues_frame(state, name)
        if issues.empty:
            st.caption(words("无", "Nothing"))
        else:
            st.dataframe(issues, hide_index=True, width="stretch", key="issues_table")
    with rejects_tab:
        load = state.latest_load(name)
        total = state.count_rejects(load["id"]) if load else 0
        if not total:
            st.caption(words("最近一次载入没有被拒绝的行。", "The latest load rejected no rows."))
        else:
            st.caption(
                words(
                    f"第 {load['id']} 次运行（{word(STATUS, load['status'], 'zh')}）拒绝 {load['rows_rejected']:,} 行，保留 {total:,} 行。",
                    f"Run {load['id']} ({word(STATUS, load['status'], 'en')}) rejected {load['rows_rejected']:,} rows; {total:,} are kept.",
                )
            )
            pages = (total - 1) // health.REJECTS_PAGE + 1
            page = st.number_input(
                words(f"页（共 {pages} 页）", f"Page (of {pages})"), 1, pages, 1, key=f"rejects_page_{name}"
            )
            st.dataframe(health.rejects_page(state, load["id"], int(page)), hide_index=True, key="rejects_table")
            st.download_button(
                words("下载全部被拒绝的行（CSV）", "Download all rejected rows (CSV)"),
                data=partial(health.rejects_csv, str(cfg.data_dir), load["id"]),
                file_name=f"rejected-{name}-run{load['id']}.csv",
                mime="text/csv",
                key="rejects_download",
                on_click=health.audit_rejects_export,
                args=(str(cfg.data_dir), principal, name, load["id"], total),
                icon=":material/download:",
            )
    with keys_tab:
        keys = health.unmatched_keys(cfg, state, snapshot, name)
        if keys.empty:
            st.caption(words("所有键都找到了对应的成员。", "Every key found its member."))
        else:
            st.dataframe(keys, hide_index=True, width="stretch", key="keys_table")


# ---- uploads ------------------------------------------------------------------------------------------------
@st.fragment(run_every="3s")
def inbox_progress() -> None:
    """Where each uploaded file is; refreshes itself while the worker loads."""
    frame = health.inbox_frame(cfg, state)
    if frame.empty:
        st.caption(words("还没有确认导入的文件。", "No upload has been confirmed yet."))
    else:
        st.dataframe(
            health.inbox_for_display(frame, lang()),
            hide_index=True,
            width="stretch",
            key="inbox_table",
            column_config=health.inbox_columns(lang()),
        )


def check_report(report: dict, target: str) -> None:
    """The check of an upload: what it is, how it maps, how its rows would be accounted for."""
    if report.get("status") == "checked":
        st.success(words("检查通过，可以导入。", "The check passed; the file can be imported."))
    elif report.get("status") == "blocked":
        st.error(f"{words('导入会被拦截', 'An import would be blocked')}: {health.plain(report.get('error'))}")
    else:
        why = health.plain(report.get("error") or report.get("status"))
        st.error(f"{words('检查未通过', 'The check did not pass')}: {why}")
    if report.get("rows_read") is None:
        return
    with st.container(horizontal=True):
        for key, zh_label, en_label in (
            ("rows_read", "读取", "read"),
            ("rows_loaded", "载入", "loaded"),
            ("rows_rejected", "拒绝", "rejected"),
            ("rows_superseded", "被替代", "superseded"),
            ("rows_skipped", "跳过", "skipped"),
        ):
            st.metric(words(zh_label, en_label), f"{report.get(key) or 0:,}", border=True)
    where = (
        f"{words('工作表', 'sheet')} {report.get('details', {}).get('sheet')}"
        if report.get("details", {}).get("sheet")
        else f"{words('编码', 'encoding')} {report.get('encoding')} · {words('分隔符', 'delimiter')} "
        f"{report.get('delimiter')!r}"
    )
    st.caption(
        health.plain(
            f"{words('实体', 'entity')} {word(ENTITY, report.get('entity'), lang())} · {where} · "
            f"{words('表头在第', 'header on line')} {report.get('header_row')}"
        )
    )
    mapping = report.get("mapping") or {}
    st.markdown(words("**列映射**（字段 ← 文件中的列）", "**Mapping** (field ← the file's column)"))
    st.dataframe(
        pd.DataFrame({"field": list(mapping), "column": list(mapping.values())}), hide_index=True, key="check_mapping"
    )
    if report.get("issues"):
        st.markdown(words("**发现的问题**", "**What the check noticed**"))
        st.dataframe(pd.DataFrame(report["issues"]), hide_index=True, key="check_issues")
    if report.get("rejected_sample"):
        st.markdown(words("**被拒绝的行（样例）**", "**Rejected rows (sample)**"))
        sample = pd.DataFrame(
            [{"line": r["line"], "reason": r["reason"], "raw": str(r["raw"])} for r in report["rejected_sample"]]
        )
        st.dataframe(sample, hide_index=True, key="check_rejects")
    previous = state.last_published(target)
    changes = (
        schema_drift(schema_of_run(previous), (report.get("details") or {}).get("schema") or {}) if previous else []
    )
    if changes:
        st.warning(words("与该数据源上次成功载入相比的结构变化：", "Changes against this source's last good load:"))
        st.dataframe(pd.DataFrame(changes), hide_index=True, key="check_drift")


def review_upload(item: dict) -> None:
    """Choose entity, sheet and source name; read the check; confirm to queue the file for the worker."""
    from sources.__main__ import _slug  # the name `sources import` would give the file

    item_id = item["id"]
    path = staged_file(cfg.data_dir, item_id)
    st.markdown(f"**{health.plain(item['file_name'])}** · {item['size']:,} bytes · sha256 `{item['sha256'][:12]}`")
    with st.container(horizontal=True):
        entity = st.selectbox(
            words("实体", "Entity"),
            ["", *ENTITIES],
            key=f"upload_entity_{item_id}",
            format_func=lambda e: word(ENTITY, e, lang()) if e else words("自动识别", "auto"),
        )
        sheet = ""
        if path.suffix.lower() in (".xlsx", ".xlsm", ".xls"):
            from sources.files.raw import excel_sheets

            sheet = st.selectbox(words("工作表", "Sheet"), ["", *excel_sheets(path)], key=f"upload_sheet_{item_id}")
        target = st.text_input(words("数据源名称", "Source name"), _slug(path.stem), key=f"upload_source_{item_id}")
    # Keyed by the upload (its time-stamped id) and its content hash: a re-upload is always checked anew.
    checks = st.session_state.setdefault("health_checks", {})
    check_key = (item_id, item["sha256"], entity, sheet, target)
    if check_key not in checks:
        with st.spinner(words("正在检查…", "Checking…")):
            checks[check_key] = check_staged(cfg, item_id, entity=entity, sheet=sheet, source=target)
    report = checks[check_key]
    check_report(report, target)
    try:
        validate_target(cfg, target)
        problem = None
    except InboxError as exc:
        problem = str(exc)
        st.error(health.plain(problem))
    with st.container(horizontal=True):
        confirmed = st.button(
            words("确认导入", "Confirm import"),
            key=f"upload_confirm_{item_id}",
            type="primary",
            disabled=problem is not None or report.get("status") != "checked",
        )
        dropped = st.button(words("放弃", "Discard"), key=f"upload_discard_{item_id}")
    if confirmed:
        confirm(cfg, item_id, source=target, entity=report["entity"], sheet=sheet or None, user=principal.username)
        st.session_state["health_upload_note"] = words(
            f"{item['file_name']} 已排队，后台任务将载入它。",
            f"{item['file_name']} is queued; the worker will load it.",
        )
    if dropped:
        discard(cfg, item_id, user=principal.username)
        st.session_state["health_upload_note"] = words(
            f"已放弃 {item['file_name']}。", f"{item['file_name']} discarded."
        )
    if confirmed or dropped:
        st.session_state.pop("health_upload_item", None)
        st.rerun()


st.divider()
st.subheader(words("文件上传", "Uploads"))
inbox_progress()
if principal.is_admin:
    note = st.session_state.pop("health_upload_note", None)
    if note:
        st.success(health.plain(note))
    uploaded = st.file_uploader(
        words("上传导出文件（CSV / Excel）", "Upload an export (CSV / Excel)"), type=UPLOAD_TYPES, key="health_uploader"
    )
    if uploaded is not None and st.session_state.get("health_upload_file") != uploaded.file_id:
        try:
            staged = stage_upload(cfg.data_dir, uploaded.name, uploaded.getvalue(), principal.username)
            st.session_state["health_upload_file"] = uploaded.file_id
            st.session_state["health_upload_item"] = staged.id
        except InboxError as exc:
            st.error(health.plain(exc))
    item_id = st.session_state.get("health_upload_item")
    item = state.inbox_item(item_id) if item_id else None
    if item is not None and item["status"] == "staged":
        review_upload(item)
    st.caption(
        words(
            "上传的文件先检查，确认后进入收件箱，由后台任务（每 10 秒）载入；上面的表格显示进度。",
            "An upload is checked first; once confirmed it goes to the inbox and the worker loads it (every 10 s); "
            "the table above shows its progress.",
        )
    )
