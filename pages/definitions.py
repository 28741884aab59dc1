from cockpit_ui.guard import require

principal = require("definitions")

# 指标口径 Definitions — every metric's governed definition, as the metric files state it: label, 口径, type,
# format, direction, owner and the dimensions it can be broken down by. The same text shows on KPI hovers.

import pandas as pd
import streamlit as st

from cockpit_ui.i18n import lang
from metrics.spec import load_catalog

catalog = load_catalog()
zh = lang() == "zh"
st.title("指标口径" if zh else "Metric definitions")
st.caption(
    "每个指标只有一个定义，页面、导出与告警都用它。"
    if zh
    else "One definition per metric, used by every page, export and alert."
)
rows = []
for name in sorted(catalog.metrics):
    metric = catalog.metrics[name]
    label, description = metric.text(lang())
    rows.append(
        {
            "metric": name,
            "名称 / label": label,
            "口径 / definition": description,
            "type": metric.type,
            "format": metric.format,
            "↑ good" if not zh else "方向": "↑" if metric.direction == "up" else "↓",
            "owner": metric.owner,
            "dimensions": ", ".join(catalog.allowed_dimensions(name)),
        }
    )
st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
