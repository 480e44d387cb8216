"""Jobs and demo: the members demo (members and top-ups, balances that match their ledgers, no made-up
purchases), the tier re-evaluation job (downgrade), points expiry at the end of the following year, refunds
reversing points, and the price engine's customer context."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from cloudpos import clock
from cloudpos.context import system_actor
from cloudpos.members import demo, jobs, points, program, service, tiers
from cloudpos.members.models import Member, MemberDaily, MemberStats, PointsEntry
from cloudpos.members.schemas import MemberIn, ProgramPatch, TierPatch


@pytest.fixture(params=[pytest.param("sqlite", id="sqlite")])
def backend(request):
    """Job logic is covered on SQLite here; the ledger/concurrency tests run on both databases."""
    return request.param


def _session(app, tenant_id):
    s = app.state.sessionmaker()
    s.info["tenant_id"] = tenant_id
    return s


def _coupon_template(db, actor) -> uuid.UUID:
    """A real pricing coupon template (member coupons are pricing's coupons)."""
    from cloudpos.pricing import coupons as pricing_coupons
    from cloudpos.pricing.schemas import CouponTemplateIn

    return pricing_coupons.create_template(db, actor, CouponTemplateIn(name="¥5", kind="amount_off", value=500)).id


@pytest.fixture
def frozen():
    yield clock.freeze
    clock.freeze(None)


def test_demo_seed(app, merchant):
    """The members demo alone: members, programme and top-ups, but no purchase without a sale behind it (the
    full demo's history comes from checkout: tests/integration/test_demo_seed.py)."""
    actor = system_actor(merchant.tenant_id, "demo")
    with _session(app, merchant.tenant_id) as db:
        assert demo.seed(db, actor, [merchant.store_id]) == 60
        db.commit()
    with _session(app, merchant.tenant_id) as db:
        assert demo.seed(db, actor, [merchant.store_id]) == 0  # idempotent
        assert service.verify_balances(db, merchant.tenant_id) == {"points": [], "stored_value": []}
        members = list(db.scalars(select(Member).where(Member.tenant_id == merchant.tenant_id)))
        assert len({m.phone for m in members}) == 60 and all(m.phone.startswith("+861") for m in members)
        assert sum(m.stored_value_balance > 0 for m in members) == 12  # top-ups when joining
        assert all(m.points_balance == 0 for m in members) and len({m.tier_id for m in members}) == 1
        visits = db.scalar(select(func.sum(MemberStats.visits)).where(MemberStats.tenant_id == merchant.tenant_id))
        assert visits == 0
        new = select(func.sum(MemberDaily.new_members)).where(MemberDaily.tenant_id == merchant.tenant_id)
        assert db.scalar(new) == 60
    assert jobs.rebuild_stats(app.state.sessionmaker, merchant.code)[merchant.code]["repaired"] == 0


def test_tier_upgrade_after_sale_and_downgrade_job(app, merchant):
    tenant = merchant.tenant_id
    actor = system_actor(tenant, "till")
    with _session(app, tenant) as db:
        m = service.register(db, actor, MemberIn(phone="13811112222", name="升级"))
    with _session(app, tenant) as db:
        silver = next(t for t in tiers.ensure_tiers(db, actor) if t.code == "silver")
        tiers.update_tier(db, actor, silver.id, TierPatch(period_days=30))
    with _session(app, tenant) as db:
        out = service.record_purchase_now(db, actor, m.id, uuid.uuid4(), 250_000, {"food": 250_000})
    assert out.tier_changed and out.points_earned == 2500  # earned at the old tier; silver's ×1.2 from the next sale
    with _session(app, tenant) as db:
        assert service.pricing_context(db, actor, m.id).tier_discount_bp == 300
        # the sale falls out of the 30-day window: the nightly job moves the member down (all-time spend is 0:
        # this purchase has no sales document, so it never reached member_stats)
        from cloudpos.members.models import MemberSale

        db.execute(MemberSale.__table__.update().where(MemberSale.member_id == m.id)
                   .values(occurred_at=clock.now() - timedelta(days=40)))
        db.commit()
    assert jobs.evaluate_tiers(app.state.sessionmaker, merchant.code)[merchant.code] == 1
    with _session(app, tenant) as db:
        assert service.pricing_context(db, actor, m.id).tier_code == "normal"


def test_points_expire_at_end_of_following_year(app, merchant, frozen):
    tenant = merchant.tenant_id
    actor = system_actor(tenant, "job")
    frozen(datetime(2025, 3, 1, 4, tzinfo=UTC))
    with _session(app, tenant) as db:
        m = service.register(db, actor, MemberIn(phone="13833334444", name="过期"))
    with _session(app, tenant) as db:
        service.adjust_points(db, actor, m.id, 1_000, "2025 points")
    frozen(datetime(2026, 5, 1, 4, tzinfo=UTC))
    with _session(app, tenant) as db:
        service.adjust_points(db, actor, m.id, 500, "2026 points")
        service.redeem_points_now(db, actor, m.id, 300, uuid.uuid4())
    with _session(app, tenant) as db:  # during 2026 nothing expires yet
        assert points.expire_points(db, actor) == 0
    frozen(datetime(2027, 1, 1, 4, tzinfo=UTC))
    assert jobs.expire_points(app.state.sessionmaker, merchant.code)[merchant.code] == 700
    assert jobs.expire_points(app.state.sessionmaker, merchant.code)[merchant.code] == 0
    with _session(app, tenant) as db:
        assert service.get_member(db, actor, m.id).points_balance == 500
        kinds = [e.kind for e in db.scalars(select(PointsEntry).where(PointsEntry.member_id == m.id)
                                            .order_by(PointsEntry.occurred_at))]
        assert kinds == ["adjust", "adjust", "redeem", "expire"]


def test_refund_reverses_earned_and_returns_redeemed(app, merchant):
    tenant = merchant.tenant_id
    actor = system_actor(tenant, "till")
    with _session(app, tenant) as db:
        program.update_settings(db, actor, ProgramPatch(earn_excluded_category_ids=["tobacco"]))
    with _session(app, tenant) as db:
        m = service.register(db, actor, MemberIn(phone="13855556666", name="退货"))
    with _session(app, tenant) as db:
        service.adjust_points(db, actor, m.id, 1_000, "seed")
    sale = uuid.uuid4()
    with _session(app, tenant) as db:
        r = service.redeem_points(db, actor, m.id, 1_000, sale, order_fen=30_000)
        assert r.value_fen == 1_000
        out = service.record_purchase(db, actor, m.id, sale, 29_000, {"food": 20_000, "tobacco": 9_000},
                                      points_paid_fen=0)
        db.commit()
    assert out.points_earned == 200
    with _session(app, tenant) as db:  # refund the food half
        r1 = service.reverse_for_refund_now(db, actor, m.id, sale, 10_000, {"food": 10_000})
    assert (r1.points_reversed, r1.points_returned) == (100, 344)  # 1000 × 10000/29000
    with _session(app, tenant) as db:  # then the rest
        r2 = service.reverse_for_refund_now(db, actor, m.id, sale, 19_000, {"food": 10_000, "tobacco": 9_000})
    assert (r1.points_reversed + r2.points_reversed, r1.points_returned + r2.points_returned) == (200, 1_000)
    with _session(app, tenant) as db:
        mm = service.get_member(db, actor, m.id)
        assert mm.points_balance == 1_000
        assert service.verify_balances(db, tenant) == {"points": [], "stored_value": []}


def test_stored_value_refund_goes_back_to_the_balance(app, merchant):
    tenant = merchant.tenant_id
    actor = system_actor(tenant, "till")
    with _session(app, tenant) as db:
        m = service.register(db, actor, MemberIn(phone="13877778888", name="储值"))
    with _session(app, tenant) as db:
        service.top_up(db, actor, m.id, 10_000, "cash")
    sale = uuid.uuid4()
    with _session(app, tenant) as db:
        service.pay_with_stored_value_now(db, actor, m.id, 6_000, sale)
    with _session(app, tenant) as db:
        out = service.refund_stored_value_now(db, actor, m.id, 6_000, sale)
    assert out.stored_value_balance == 10_000
    from cloudpos.errors import Conflict

    with _session(app, tenant) as db, pytest.raises(Conflict):
        service.refund_stored_value_now(db, actor, m.id, 1, sale)


def test_double_points_campaign_and_coupon_campaign(app, merchant):
    from cloudpos.members import campaigns, segments
    from cloudpos.members.schemas import CampaignIn, SegmentFilters, SegmentIn

    tenant = merchant.tenant_id
    actor = system_actor(tenant, "marketing")
    with _session(app, tenant) as db:
        a = service.register(db, actor, MemberIn(phone="13866660001", name="加倍", marketing_consent=True))
    with _session(app, tenant) as db:
        b = service.register(db, actor, MemberIn(phone="13866660002", name="不在分群"))
    with _session(app, tenant) as db:
        seg = segments.save(db, actor, SegmentIn(name="同意营销", filters=SegmentFilters(marketing_consent=True)))
        now = clock.now()
        boost = campaigns.save(db, actor, CampaignIn(name="双倍积分周", segment_id=seg.id, action="double_points",
                                                     starts_at=now - timedelta(hours=1),
                                                     ends_at=now + timedelta(days=7)))
        template = _coupon_template(db, actor)
        gift = campaigns.save(db, actor, CampaignIn(name="送券", segment_id=seg.id, action="coupon",
                                                    template_id=template))
    with _session(app, tenant) as db:
        assert campaigns.run(db, actor, boost.id).sent == 1
        assert campaigns.run(db, actor, gift.id).sent == 1
        assert campaigns.run(db, actor, gift.id).sent == 1  # not twice
    with _session(app, tenant) as db:
        assert len(service.list_coupons(db, actor, a.id)) == 1 and not service.list_coupons(db, actor, b.id)
        pa = service.record_purchase_now(db, actor, a.id, uuid.uuid4(), 10_000, {"x": 10_000})
    with _session(app, tenant) as db:
        pb = service.record_purchase_now(db, actor, b.id, uuid.uuid4(), 10_000, {"x": 10_000})
    assert (pa.points_earned, pb.points_earned) == (200, 100)
