"""The owner edits a member tier, a segment and a campaign in the back office (each change lands, audited),
and issues then voids a coupon from a member's page."""

from __future__ import annotations

import re

import pytest
from browser import log_in

pytestmark = pytest.mark.e2e
OWNER_PASSWORD = "Owner-pass-1"  # tests/conftest.py signs the merchant up with it


def _audit(m, action: str) -> list[dict]:
    r = m.client.get("/api/v1/audit-events", headers=m.owner, params={"action": action, "page_size": 50})
    assert r.status_code == 200, r.text
    return r.json()["items"]


def test_owner_edits_tier_segment_campaign_and_member_coupons(browser, live_server, merchant, artifacts):
    m = merchant
    member = m.client.post("/api/v1/members", headers=m.owner, json={"phone": "13911112222", "name": "周先生",
                                                                      "marketing_consent": True}).json()
    template = m.client.post("/api/v1/coupon-templates", headers=m.owner, json={
        "name": "满50减8", "kind": "amount_off", "value": 800, "threshold": 5000, "valid_days": 15}).json()
    seg = m.client.post("/api/v1/segments", headers=m.owner, json={"name": "老客", "filters": {"min_visits": 2}}).json()
    camp = m.client.post("/api/v1/campaigns", headers=m.owner, json={
        "name": "周末短信", "segment_id": seg["id"], "action": "message", "body": "{name}您好"}).json()

    desk = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    desk.set_default_timeout(10_000)
    page = desk.new_page()
    try:
        log_in(page, live_server.url, m.code, "owner", OWNER_PASSWORD)

        # tier: the silver tier gets a new name, a 6 % discount and a birthday coupon
        page.goto(f"{live_server.url}/member-tiers")
        page.click("[data-testid=edit-tier-silver]")
        assert page.input_value("#f-tier-code") == "silver" and page.is_disabled("#f-tier-code")
        page.fill("#f-tier-name", "白银会员")
        page.fill("#f-tier-discount", "6")
        page.select_option("#f-tier-bday-coupon", template["id"])
        page.click("[data-testid=tier-submit]")
        page.wait_for_selector("[data-testid=tier-table] >> text=白银会员")
        page.screenshot(path=str(artifacts / "member-tier-edited.png"), full_page=True)
        silver = next(t for t in m.client.get("/api/v1/member-tiers", headers=m.owner).json() if t["code"] == "silver")
        assert (silver["name"], silver["discount_bp"], silver["birthday_coupon_template_id"]) == (
            "白银会员", 600, template["id"])
        assert silver["threshold_spend_fen"] > 0  # untouched fields keep their values
        [event] = _audit(m, "member.tier.update")
        assert event["summary"]["before"]["name"] != "白银会员" and event["summary"]["after"]["name"] == "白银会员"

        # segment: renamed, and a minimum spend added to its filters
        page.goto(f"{live_server.url}/member-segments")
        page.click("[data-testid=edit-segment]")
        assert page.input_value("#f-segment-name") == "老客"
        page.fill("#f-segment-name", "高消费老客")
        page.fill("#f-min-spend", "300")
        page.click("[data-testid=segment-submit]")
        page.wait_for_selector("text=高消费老客")
        got = m.client.get(f"/api/v1/segments/{seg['id']}", headers=m.owner).json()
        assert got["name"] == "高消费老客" and got["filters"]["min_spend_fen"] == 30_000
        assert got["filters"]["min_visits"] == 2
        assert _audit(m, "member.segment.save")[0]["summary"]["before"]["name"] == "老客"

        # campaign (a draft): renamed, the rest kept
        page.goto(f"{live_server.url}/member-campaigns")
        page.click("[data-testid=edit-campaign]")
        assert page.input_value("#f-campaign-name") == "周末短信"
        page.fill("#f-campaign-name", "周末回访短信")
        page.click("[data-testid=campaign-submit]")
        page.wait_for_url(re.compile(rf"/member-campaigns/{camp['id']}"))
        got = m.client.get(f"/api/v1/campaigns/{camp['id']}", headers=m.owner).json()
        assert got["name"] == "周末回访短信" and got["params"]["body"] == "{name}您好"
        assert _audit(m, "member.campaign.save")[0]["summary"]["before"]["name"] == "周末短信"

        # the member page: issue the coupon from the list of templates, then void it
        page.goto(f"{live_server.url}/members/{member['id']}")
        page.select_option("[data-testid=issue-coupon] select", template["id"])
        page.click("[data-testid=issue-coupon] button[type=submit]")
        page.wait_for_selector("[data-testid=member-coupon]", state="attached")
        [coupon] = m.client.get(f"/api/v1/members/{member['id']}/coupons", headers=m.owner).json()
        assert coupon["status"] == "issued" and coupon["template_id"] == template["id"]
        page.click("[data-bs-target='#t-coupons']")
        assert page.inner_text("[data-testid=member-coupon]").count(coupon["code"]) == 1
        page.once("dialog", lambda d: d.accept())
        page.click("[data-testid=member-coupon] button")
        page.wait_for_function("""() => !document.querySelector('[data-testid=member-coupon] button')""")
        [coupon] = m.client.get(f"/api/v1/members/{member['id']}/coupons", headers=m.owner).json()
        assert coupon["status"] == "void"
    finally:
        desk.close()
