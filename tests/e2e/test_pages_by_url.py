"""Every `pages/*.py` opened by URL on a fresh server, without signing in, shows no data.

On a fresh server Streamlit is in its legacy pages/ mode (a folder named pages/ beside app.py) until some
session runs st.navigation: then any pages/*.py is served by URL and app.py never runs. So each page gets a
server of its own, and it is the first thing that server is asked for. The page's guard must send the browser
to the sign-in form before anything is drawn; the websocket frames are read to make sure no data was sent.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ROOT, demo_env, serve_app, settled

pytestmark = pytest.mark.e2e

PAGES = sorted(p.stem for p in (ROOT / "pages").glob("*.py") if p.name != "__init__.py")
# Members that only data would carry: no demo user's scope names them, so the login page never shows them.
DATA_ONLY = ("华北二组", "西南一组", "华南二组", "S017", "唐嘉欣")


@pytest.mark.parametrize("page_key", PAGES)
def test_page_opened_first_on_a_fresh_server_shows_no_data(page, page_key, demo_data_dir, tmp_path):
    frames: list[bytes] = []
    page.on(
        "websocket",
        lambda ws: ws.on("framereceived", lambda p: frames.append(p if isinstance(p, bytes) else p.encode())),
    )
    with serve_app(demo_env(demo_data_dir), Path(tmp_path) / "streamlit.log") as url:
        page.goto(f"{url}/{page_key}")
        expect(page.get_by_label("用户名")).to_have_count(1, timeout=60_000)
        page.wait_for_load_state("networkidle")
        settled(page)
        for testid in ("stMetric", "stDataFrame", "stVegaLiteChart", "stDownloadButton"):
            assert page.get_by_test_id(testid).count() == 0, (page_key, testid)
        assert page.get_by_role("heading", level=1).all_inner_texts() == [], page_key  # no page title drawn
    wire = b"".join(frames)
    assert "登录 销售驾驶舱".encode() in wire  # the frames were captured: the sign-in form is in them
    assert not [m for m in DATA_ONLY if m.encode() in wire], page_key
