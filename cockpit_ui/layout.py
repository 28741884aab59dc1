"""Page furniture shared by all pages: the as-of stamp with stale sources marked, and the sidebar."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from zoneinfo import ZoneInfo

import streamlit as st

from auth.principal import Principal
from cockpit_ui.data import day_gaps, sources_status
from cockpit_ui.i18n import lang, t
from cockpit_ui.vocabulary import ROLE, scope_words, word
from core.appstate import AppState
from core.config import Settings
from core.warehouse import Snapshot


def as_of_stamp(cfg: Settings, snapshot: Snapshot) -> None:
    """'Data as of <business today> · synced <time>' and, when a source failed, which ones are stale."""
    synced = snapshot.published_at.astimezone(ZoneInfo(cfg.business.timezone))
    status = sources_status(snapshot.id, str(cfg.config_path))
    stale = status[status["stale"]]["name"].tolist() if not status.empty else []
    text = f"{t('as_of')} {cfg.today.isoformat()} · {t('synced')} {synced:%Y-%m-%d %H:%M}"
    if stale:
        st.warning(f"{text} · {t('stale')}: {', '.join(stale)}", icon=":material/warning:")
    else:
        st.caption(text)


def day_gap_notice(cfg: Settings, snapshot: Snapshot, start: dt.date, end: dt.date) -> None:
    """Name the days between `start` and `end` on which a daily feed has no rows (an export that did not run)."""
    gaps = [g for g in day_gaps(snapshot.id, str(cfg.config_path), cfg.today) if start <= g.day <= end]
    if gaps:
        listed = "; ".join(f"{g.source} {g.day.isoformat()}" for g in gaps[-5:])
        st.warning(f"{t('day_gaps')}: {plain(listed)}", icon=":material/event_busy:")


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~&:$])")


def plain(text: str) -> str:
    """`text` escaped for st.markdown/st.caption: shown as written, never as markup, HTML, a link or math."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def sidebar(cfg: Settings, principal: Principal) -> bool:
    """User, scope and language in the sidebar; returns True when the user pressed sign-out."""
    with st.sidebar:
        # Names and scope values come from the users file and the data: shown as text, never as markup.
        roles = ", ".join(word(ROLE, r, lang()) for r in principal.roles)
        st.markdown(f"**{plain(principal.name)}** · {plain(roles)}")
        st.caption(f"{t('scope')}: {plain(scope_words(principal.scope, lang()))}")
        language_picker(
            "lang_pick", remember=lambda choice: AppState(cfg.data_dir).save_language(principal.username, choice)
        )
        return st.button(t("logout"), key="logout_button", icon=":material/logout:")


def language_picker(key: str, remember: Callable[[str], None] | None = None) -> None:
    """中文 / English, kept in the URL (`?lang=en`); a change reruns the page in the chosen language.

    `remember` (signed in) is told the choice, so that the user's next visit opens in it."""
    choice = st.segmented_control(
        t("language"),
        ["zh", "en"],
        default=lang(),
        format_func=lambda v: "中文" if v == "zh" else "English",
        key=key,
    )
    if choice and choice != lang():
        st.query_params["lang"] = choice
        if remember:
            remember(choice)
        st.rerun()
