"""Shelf labels (价签): product data from the catalog (or given directly) -> PDF or ESC/POS."""

from __future__ import annotations

from sqlalchemy.orm import Session

from cloudpos.context import Actor
from cloudpos.errors import FieldError, Invalid, NotFound
from cloudpos.i18n import N_, current_locale, gettext
from cloudpos.printing.domain.receipt import LabelData
from cloudpos.printing.renderers import escpos, labels_pdf
from cloudpos.printing.schemas import LabelRequest
from cloudpos.printing.service import Rendered

MAX_LABELS = 2000


def _from_catalog(db: Session, actor: Actor, req: LabelRequest) -> list[LabelData]:
    from cloudpos.catalog import service as catalog

    products = []
    if req.product_ids:
        for pid in dict.fromkeys(req.product_ids):
            products.append(catalog.get_product(db, actor, pid))
    elif req.changed_since is not None:
        changed = getattr(catalog, "products_changed_since", None)
        if changed is None:
            raise Invalid(errors=[FieldError("changed_since", N_(
                "Selecting products by price change is not available yet; pass product_ids."), {}, "unsupported")])
        products = list(changed(db, actor, req.changed_since, req.store_id))
    out = []
    for p in products:
        price = p.price
        if req.store_id is not None:
            price = next((sp.price for sp in p.store_prices if sp.store_id == req.store_id), price)
        qr = f"{req.qr_base_url.rstrip('/')}/p/{p.sku}" if req.qr_base_url else ""
        out.append(LabelData(name=p.name, price=price, unit=p.unit, spec=p.spec,
                             member_price=getattr(p, "member_price", None),
                             barcode=(p.barcodes[0] if p.barcodes else p.sku), sku=p.sku, qr_payload=qr))
    return out


def label_data(db: Session, actor: Actor, req: LabelRequest) -> list[LabelData]:
    actor.require("catalog.view")
    if req.store_id is not None and not actor.sees_store(req.store_id):
        raise NotFound(N_("Store not found."))
    if req.items:
        return [LabelData(name=i.name, price=i.price, member_price=i.member_price, unit=i.unit, spec=i.spec,
                          barcode=i.barcode, sku=i.sku,
                          qr_payload=f"{req.qr_base_url.rstrip('/')}/p/{i.sku}" if req.qr_base_url and i.sku else "")
                for i in req.items]
    if not req.product_ids and req.changed_since is None:
        raise Invalid(errors=[FieldError("product_ids", N_("Choose products, a date of price changes, or items."),
                                         {}, "required")])
    return _from_catalog(db, actor, req)


def render_labels(db: Session, actor: Actor, req: LabelRequest) -> Rendered:
    labels = label_data(db, actor, req)
    if len(labels) > MAX_LABELS:
        raise Invalid(errors=[FieldError("product_ids", N_("At most %(n)s labels at a time."), {"n": MAX_LABELS})])
    member = gettext("Member price", current_locale.get())
    if req.format == "escpos":
        return Rendered(escpos.label_bytes(labels, escpos.EscposOptions(), req.barcode), "application/octet-stream")
    return Rendered(labels_pdf.render(labels, req.layout, req.barcode, member, gettext("Shelf labels")),
                    "application/pdf")



