"""The members module's public interface. Other modules (checkout, pricing, reports) use only this.

Checkout, INSIDE its own transaction (these functions never commit):
  record_purchase(db, actor, member_id, sale_id, paid_fen, eligible_fen_by_category, *, points_paid_fen=0,
                  stored_value_paid_fen=0, store_id=None) -> PurchaseOut
  points_quote(db, actor, member_id, order_fen) -> PointsQuoteOut
  redeem_points(db, actor, member_id, points, sale_id, order_fen=None) -> RedeemOut   (value_fen = money off)
  pay_with_stored_value(db, actor, member_id, amount_fen, sale_id, pin=None) -> StoredValuePayOut
      (raises WrongPin: after rolling back, call note_pin_failure(db, actor, member_id))
  refund_stored_value(db, actor, member_id, amount_fen, sale_id, refund_id=None)
  reverse_for_refund(db, actor, member_id, sale_id, refunded_paid_fen, refunded_eligible_fen_by_category=None,
                     refund_id=None) -> RefundOut
Pricing: pricing_context(db, actor, member_id) -> PricingContext (tier discount bp, member prices, birthday).
Sales hooks: segments.register_category_hook(fn), analytics.register_favorites_hook(fn).
Every sales document that names a member (sale, refund, void) updates the member's rollup in its transaction:
this module registers stats.on_sales_document with the sales module's in-transaction hooks (below).
"""

from __future__ import annotations

from cloudpos.db import use_case
from cloudpos.members import (
    analytics,
    campaigns,
    channels,
    coupons,
    points,
    program,
    registration,
    segments,
    stats,
    stored_value,
    tiers,
)
from cloudpos.members.coupons import issue_coupon, list_coupons
from cloudpos.members.points import (
    points_quote,
    record_purchase,
    redeem_points,
    reverse_for_refund,
)
from cloudpos.members.program import get_member, settings, update_settings
from cloudpos.members.registration import erase, export, join, list_members, register, update, view
from cloudpos.members.stored_value import (
    WrongPin,
    note_pin_failure,
    pay_with_stored_value,
    refund_stored_value,
    top_up,
)
from cloudpos.members.tiers import PricingContext, pricing_context
from cloudpos.sales import hooks as sales_hooks

sales_hooks.on_document(stats.on_sales_document)

# The checkout functions as one-transaction use cases (for the API, the till pages and tests).
record_purchase_now = use_case(record_purchase)
redeem_points_now = use_case(redeem_points)
pay_with_stored_value_now = use_case(pay_with_stored_value)
refund_stored_value_now = use_case(refund_stored_value)
reverse_for_refund_now = use_case(reverse_for_refund)


def pay_with_stored_value_checked(db, actor, member_id, amount_fen, sale_id, pin=None):  # noqa: ANN001, ANN201
    """pay_with_stored_value as its own transaction; a wrong PIN is counted (and may lock the PIN)."""
    try:
        return pay_with_stored_value_now(db, actor, member_id, amount_fen, sale_id, pin)
    except WrongPin:
        note_pin_failure(db, actor, member_id)
        raise


def verify_balances(db, tenant_id):  # noqa: ANN001, ANN201
    """Members whose cached balances differ from their ledgers: {"points": [...], "stored_value": [...]}."""
    return {"points": points.verify_balances(db, tenant_id),
            "stored_value": stored_value.verify_balances(db, tenant_id)}


adjust_points = points.adjust
expire_points = points.expire_points
evaluate_tiers = tiers.evaluate_all
run_campaign = campaigns.run
birthday_run = campaigns.birthday_run
rebuild_stats = stats.rebuild

__all__ = [
    "PricingContext", "WrongPin", "adjust_points", "analytics", "birthday_run", "campaigns", "channels", "coupons",
    "erase", "evaluate_tiers", "expire_points", "export", "get_member", "issue_coupon", "join", "list_coupons",
    "list_members", "note_pin_failure", "pay_with_stored_value", "pay_with_stored_value_checked",
    "points", "points_quote", "pricing_context", "program", "record_purchase", "record_purchase_now",
    "redeem_points", "redeem_points_now", "refund_stored_value", "refund_stored_value_now", "register",
    "rebuild_stats", "registration", "reverse_for_refund", "reverse_for_refund_now", "run_campaign", "segments",
    "settings", "stats", "stored_value", "tiers", "top_up", "update", "update_settings", "verify_balances", "view",
    "pay_with_stored_value_now",
]
