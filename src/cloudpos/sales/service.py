"""The sales module's interface: checkout, refunds and voids, sales queries, shifts, held carts."""

from __future__ import annotations

from cloudpos.sales import checkout, held, member_history, queries, receipts, refunds, shifts
from cloudpos.sales.hooks import on_committed, on_document

create_sale = checkout.create_sale
create_refund = refunds.create_refund
void_sale = refunds.void_sale

get_sale_row = queries.get_row
sale_by_receipt_no = queries.by_receipt_no
sale_out = queries.sale_out
list_sales = queries.list_sales
lines_of = queries.lines_of
payments_of = queries.payments_of
SaleFilter = queries.SaleFilter
member_totals = member_history.member_totals  # members: rebuilding their rollup

open_shift = shifts.open_shift
close_shift = shifts.close_shift
move_cash = shifts.move_cash
shift_report = shifts.report
list_shifts = shifts.list_shifts
current_shift = shifts.open_shift_for
shift_out = shifts.to_out

render_receipt = receipts.render
reprint_receipt = receipts.reprint
sale_from_receipt_token = receipts.sale_from_token
receipt_data = receipts.receipt_data

hold_cart = held.hold
list_held = held.list_held
recall_cart = held.recall

__all__ = [
    "create_sale", "create_refund", "void_sale", "get_sale_row", "sale_by_receipt_no", "sale_out", "list_sales",
    "lines_of", "payments_of", "SaleFilter", "open_shift", "close_shift", "move_cash", "shift_report",
    "list_shifts", "current_shift", "shift_out", "render_receipt", "reprint_receipt", "sale_from_receipt_token",
    "receipt_data", "hold_cart", "list_held", "recall_cart", "on_document",
    "on_committed", "member_totals",
]
