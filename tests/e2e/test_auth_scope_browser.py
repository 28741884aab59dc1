"""What reaches the browser, read off the wire: the websocket frames of a page load carry no region, team, rep
or customer outside the signed-in user's scope — in any encoding the page uses (UTF-8 in protobuf and Arrow tables,
\\uXXXX escapes in chart specs)."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from core.warehouse import current_snapshot
from tests.e2e.conftest import settled, sign_in
from tests.e2e.test_auth_logout import wait_for_cookie

pytestmark = pytest.mark.e2e

SCOPES = {
    "rep": ("rep_id = 'S001'", "孙浩然"),  # a rep's attainment line carries their own name
    "regional": ("region = '华东'", "华东二组"),
    "manager": ("team = '华东一组'", "华东一组"),
}


def hidden_members(data_dir, inside: str) -> set[str]:
    """Regions, teams, reps and customers that occur only on rows outside `inside` (read from the snapshot)."""
    cur = current_snapshot(data_dir).cursor()
    try:
        rows = cur.execute(
            """
            SELECT DISTINCT region, team, rep_id, rep, customer, {inside} AS inside FROM (
                SELECT region, team, rep_id, rep, customer FROM orders
                UNION ALL SELECT region, team, rep_id, rep, customer FROM opportunities
                UNION ALL SELECT region, team, rep_id, rep, NULL FROM targets WHERE is_leaf
            ) WHERE rep_id IS NOT NULL
            """.format(inside=inside)  # noqa: UP032 - a constant of this test, not user input
        ).fetchall()
    finally:
        cur.close()
    seen = {v for row in rows if row[5] for v in row[:5]}
    return {v for row in rows if not row[5] for v in row[:5] if v} - seen


def encodings(text: str) -> list[bytes]:
    return [text.encode("utf-8"), json.dumps(text)[1:-1].encode("ascii")]


@pytest.mark.parametrize("user", sorted(SCOPES))
def test_page_load_frames_carry_nothing_outside_the_scope(page, app_server, demo_data_dir, user):
    inside, own_member = SCOPES[user]
    hidden = hidden_members(demo_data_dir, inside)
    assert len(hidden) > 5
    sign_in(page, app_server, user)
    expect(page.get_by_role("heading", name="经营总览")).to_be_visible(timeout=60_000)
    wait_for_cookie(page)

    frames: list[bytes] = []
    tab = page.context.new_page()
    tab.on(
        "websocket",
        lambda ws: ws.on("framereceived", lambda p: frames.append(p if isinstance(p, bytes) else p.encode())),
    )
    tab.goto(app_server)  # signed in from the cookie
    expect(tab.locator('[data-testid="stMetric"]')).to_have_count(8, timeout=60_000)
    settled(tab)
    tab.get_by_text("本年至今").click()  # a longer period: more rows, same scope
    expect(tab.get_by_text("2026-01-01 — 2026-11-30")).to_be_visible(timeout=60_000)
    settled(tab)
    wire = b"".join(frames)
    assert own_member.encode() in wire  # the frames do carry the page's data
    leaked = sorted(m for m in hidden if any(form in wire for form in encodings(m)))
    assert not leaked, (user, leaked)
