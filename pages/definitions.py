from cockpit_ui.guard import require

principal = require("definitions")

# 指标口径 Definitions — every metric's governed definition, as the metric files state it: label, 口径, type,
# format, direction, owner and the dimensions it can be broken down by. The same text shows on KPI hovers.

import pandas as pd
import streamlit as st

from cockpit_ui.i18n import lang
from cockpit_ui.vocabulary import DIMENSION, word
from metrics.spec import load_catalog

catalog = load_catalog()
zh = lang() == "zh"
st.title("指标口径" if zh else "Metric definitions")
st.caption(
    "每个指标只有一个定义，页面、导出与告警都用它。"
    if zh
    else "One definition per metric, used by every page, export and alert."
)
KINDS = {
    "simple": ("求和/计数", "simple"),
    "ratio": ("比率", "ratio"),
    "derived": ("派生", "derived"),
    "cumulative": ("累计", "cumulative"),
    "conversion": ("转化", "conversion"),
}
rows = []
for name in sorted(catalog.metrics):
    metric = catalog.metrics[name]
    label, description = metric.text(lang())
    rows.append(
        {
            "metric": name,
            "label": label,
            "definition": description,
            "type": KINDS[metric.type][0 if zh else 1],
            "direction": "↑" if metric.direction == "up" else "↓",
            "owner": metric.owner,
            "dimensions": ", ".join(word(DIMENSION, d, lang()) for d in catalog.allowed_dimensions(name)),
        }
    )
frame = pd.DataFrame(rows)
chosen = st.dataframe(
    frame,
    hide_index=True,
    width="stretch",
    key="definitions_table",
    height="content",
    on_select="rerun",
    selection_mode="single-row",
    column_config={
        "metric": st.column_config.TextColumn("指标" if zh else "Metric"),
        "label": st.column_config.TextColumn("名称" if zh else "Label"),
        "definition": st.column_config.TextColumn("口径" if zh else "Definition", width="large"),
        "type": st.column_config.TextColumn("类型" if zh else "Type"),
        "direction": st.column_config.TextColumn(
            "向好方向" if zh else "Good when",
            help="↑ 越高越好 · ↓ 越低越好" if zh else "↑ higher is better · ↓ lower is better",
        ),
        "owner": st.column_config.TextColumn("负责人" if zh else "Owner"),
        "dimensions": st.column_config.TextColumn("可拆分维度" if zh else "Dimensions"),
    },
)
# The whole 口径 of the chosen metric (a table cell shows only its start).
picked = chosen.selection.rows if chosen else []
row = frame.iloc[picked[0]] if picked else None
if row is None:
    st.caption("选中一行查看完整口径。" if zh else "Select a row to read its whole definition.")
else:
    with st.container(border=True, key="definition_detail"):
        st.subheader(f"{row['label']} · {row['metric']}", anchor=False)
        st.text(row["definition"])
        st.caption(f"{'可拆分维度' if zh else 'Dimensions'}: {row['dimensions']}")
