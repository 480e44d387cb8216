"""The pricing module's interface: promotions, member prices, coupons, and pricing a cart.

Checkout uses `price(...)` inside its transaction (the server is the source of truth for every
total), then `redeem_coupons(...)` and `record_promotion_uses(...)`; a full refund or void calls
`restore_coupons(...)` and `give_back_promotion_uses(...)`.
"""

from __future__ import annotations

from cloudpos.pricing import coupons, member_prices, promotions, quoting, usage
from cloudpos.pricing.quoting import Priced, ResolvedLine, WantedLine, WantedManual, price, quote, to_quote

list_promotions = promotions.list_promotions
get_promotion = promotions.get
promotion_out = promotions.to_out
create_promotion = promotions.create
update_promotion = promotions.update
set_promotion_status = promotions.set_status
end_promotion = promotions.end_now

list_member_prices = member_prices.list_member_prices
set_member_prices = member_prices.set_member_prices

list_coupon_templates = coupons.list_templates
create_coupon_template = coupons.create_template
update_coupon_template = coupons.update_template
get_coupon_template = coupons.get_template
coupon_template_out = coupons.template_out
issue_coupons = coupons.issue
issue_coupons_in_tx = coupons.issue_in_tx
list_coupons = coupons.list_coupons
void_coupon = coupons.void
redeem_coupons = coupons.redeem
restore_coupons = coupons.restore
record_promotion_uses = usage.record_sale
give_back_promotion_uses = usage.give_back
promotion_use_counts = usage.counts

__all__ = [
    "Priced", "ResolvedLine", "WantedLine", "WantedManual", "price", "quote", "to_quote", "quoting",
    "list_promotions", "get_promotion", "promotion_out", "create_promotion", "update_promotion",
    "set_promotion_status", "end_promotion", "list_member_prices", "set_member_prices",
    "list_coupon_templates", "create_coupon_template", "update_coupon_template", "get_coupon_template",
    "coupon_template_out", "issue_coupons", "issue_coupons_in_tx", "list_coupons", "void_coupon",
    "redeem_coupons", "restore_coupons", "record_promotion_uses", "give_back_promotion_uses",
    "promotion_use_counts",
]
