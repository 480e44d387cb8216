"""Demo data: every demo store prints to a file-backed printer under var/printer-out/ (auto-print on,
drawer on cash), with a receipt template that has a footer. Safe to run again (skips stores that
already have a printer)."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from cloudpos.context import Actor
from cloudpos.printing import service
from cloudpos.printing.schemas import PrinterIn, TemplateIn


def seed(db: Session, actor: Actor, store_ids: list[uuid.UUID]) -> list[uuid.UUID]:
    """Creates the printers (each call is its own transaction); returns their ids."""
    created = []
    for store_id in store_ids:
        if service.list_printers(db, actor, store_id):
            continue
        out = service.create_printer(db, actor, PrinterIn(
            store_id=store_id, name="前台小票机（演示文件）", connection="file", paper_mm=80, auto_print=True,
            open_drawer=True, is_default=True))
        created.append(out.id)
        service.put_template(db, actor, store_id, TemplateIn(
            paper_mm=80, language="zh_CN", header_text="欢迎光临",
            footer_text="凭小票 7 日内可退换（生鲜食品除外）。谢谢惠顾！"))
    return created
