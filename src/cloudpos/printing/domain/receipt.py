"""What a receipt says: frozen, database-free data the sales module maps a sale (or refund, void,
shift report, stocktake sheet) into. Money is int fen, quantities int milli-units, times aware."""

from __future__ import annotations

import base64
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from typing import Any, Literal

ReceiptKind = Literal["sale", "refund", "void", "reprint"]
Language = Literal["zh_CN", "en"]
KINDS: tuple[str, ...] = ("sale", "refund", "void", "reprint")


@dataclass(frozen=True)
class ReceiptLine:
    name: str
    qty_milli: int  # 1250 = 1.250 kg; 2000 = 2 pieces
    unit_price: int  # fen
    amount: int  # fen, after the line's discounts
    discount: int = 0  # fen, the line's total discount (positive number)
    discount_names: tuple[str, ...] = ()  # e.g. ("第二件半价",)
    unit: str = ""  # 瓶 / kg (optional, shown after the quantity when set)
    sku: str = ""


@dataclass(frozen=True)
class OrderDiscount:
    name: str  # e.g. 满100减10, 会员95折, 优惠券
    amount: int  # fen, positive = taken off


@dataclass(frozen=True)
class Payment:
    method: str  # label as the customer should read it: 现金, 微信支付, 储值卡…
    amount: int  # fen
    is_cash: bool = False


@dataclass(frozen=True)
class ReceiptData:
    store_name: str
    receipt_no: str
    issued_at: datetime  # aware
    lines: tuple[ReceiptLine, ...]
    total: int  # fen
    timezone: str = "Asia/Shanghai"
    kind: ReceiptKind = "sale"
    language: Language = "zh_CN"
    store_address: str = ""
    store_phone: str = ""
    logo_png: bytes | None = None
    terminal: str = ""
    cashier: str = ""
    salesperson: str = ""
    subtotal: int | None = None  # fen; defaults to the sum of line amounts
    discounts: tuple[OrderDiscount, ...] = ()
    payments: tuple[Payment, ...] = ()
    change: int = 0  # fen
    member_card: str = ""  # masked when printed
    points_earned: int | None = None
    points_balance: int | None = None
    stored_value_balance: int | None = None  # fen
    qr_payload: str = ""  # the e-receipt URL
    header_text: str = ""  # overrides the template's header when set
    footer_text: str = ""  # overrides the template's footer when set
    original_receipt_no: str = ""  # refund / void: the sale it corrects
    reason: str = ""  # refund / void reason
    reprint: bool = False  # a copy of an earlier receipt (also implied by kind="reprint")
    currency: str = "CNY"

    @property
    def is_reprint(self) -> bool:
        return self.reprint or self.kind == "reprint"

    @property
    def has_cash(self) -> bool:
        return any(p.is_cash for p in self.payments)

    @property
    def effective_subtotal(self) -> int:
        return self.subtotal if self.subtotal is not None else sum(line.amount for line in self.lines)

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe dict (stored with a print job so a reprint can render it again)."""
        d = asdict(self)
        d["issued_at"] = self.issued_at.isoformat()
        d["logo_png"] = base64.b64encode(self.logo_png).decode() if self.logo_png else None
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> ReceiptData:
        d = dict(d)
        d["issued_at"] = datetime.fromisoformat(d["issued_at"])
        d["logo_png"] = base64.b64decode(d["logo_png"]) if d.get("logo_png") else None
        d["lines"] = tuple(ReceiptLine(**{**x, "discount_names": tuple(x.get("discount_names", ()))})
                           for x in d.get("lines", ()))
        d["discounts"] = tuple(OrderDiscount(**x) for x in d.get("discounts", ()))
        d["payments"] = tuple(Payment(**x) for x in d.get("payments", ()))
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


@dataclass(frozen=True)
class ReportTable:
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    # "l" or "r" per column; the first left-aligned column takes the spare width and wraps
    aligns: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReportData:
    """A generic printed report: shift X/Z reports, daily closing, stocktake count sheets."""

    title: str
    store_name: str
    issued_at: datetime
    timezone: str = "Asia/Shanghai"
    language: Language = "zh_CN"
    subtitle: str = ""
    meta: tuple[tuple[str, str], ...] = ()  # printed under the title: (label, value)
    rows: tuple[tuple[str, str], ...] = ()  # key / value rows, value right-aligned
    tables: tuple[ReportTable, ...] = ()
    footer_text: str = ""
    signature_lines: tuple[str, ...] = ()  # "收银员签字", "店长签字"…
    reprint: bool = False

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["issued_at"] = self.issued_at.isoformat()
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> ReportData:
        d = dict(d)
        d["issued_at"] = datetime.fromisoformat(d["issued_at"])
        d["meta"] = tuple(tuple(x) for x in d.get("meta", ()))
        d["rows"] = tuple(tuple(x) for x in d.get("rows", ()))
        d["tables"] = tuple(ReportTable(headers=tuple(t["headers"]), rows=tuple(tuple(r) for r in t["rows"]),
                                        aligns=tuple(t.get("aligns", ()))) for t in d.get("tables", ()))
        d["signature_lines"] = tuple(d.get("signature_lines", ()))
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


@dataclass(frozen=True)
class ReceiptTemplate:
    """Per store: which fields a receipt shows, the paper and the language."""

    paper_mm: int = 80  # 58 (32 columns) or 80 (48 columns)
    language: Language = "zh_CN"
    header_text: str = ""
    footer_text: str = ""
    show_logo: bool = True
    show_store_name: bool = True
    show_address: bool = True
    show_phone: bool = True
    show_receipt_no: bool = True
    show_datetime: bool = True
    show_terminal: bool = True
    show_cashier: bool = True
    show_salesperson: bool = True
    show_unit_price: bool = True
    show_line_discounts: bool = True
    show_subtotal: bool = True
    show_discounts: bool = True
    show_payments: bool = True
    show_change: bool = True
    show_member: bool = True
    show_points: bool = True
    show_stored_value: bool = True
    show_qr: bool = True

    @property
    def columns(self) -> int:
        return columns_for(self.paper_mm)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> ReceiptTemplate:
        known = {f.name: f for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


SHOW_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(ReceiptTemplate) if f.name.startswith("show_"))
PAPER_COLUMNS = {58: 32, 80: 48}


def columns_for(paper_mm: int) -> int:
    try:
        return PAPER_COLUMNS[paper_mm]
    except KeyError:
        raise ValueError(f"paper must be 58 or 80 mm, not {paper_mm}") from None


@dataclass(frozen=True)
class LabelData:
    """One shelf label (价签)."""

    name: str
    price: int  # fen
    unit: str = ""
    spec: str = ""
    member_price: int | None = None  # fen
    barcode: str = ""
    sku: str = ""
    qr_payload: str = ""
    origin: str = ""
