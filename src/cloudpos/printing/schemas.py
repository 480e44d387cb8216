"""Request and response shapes of the printing API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from cloudpos.schemas import StrictModel, Text

Connection = Literal["network", "usb", "device", "file", "browser"]
Paper = Literal[58, 80]
LanguageCode = Literal["zh_CN", "en"]


class PrinterIn(StrictModel):
    store_id: uuid.UUID
    terminal_id: uuid.UUID | None = Field(default=None, description="Only this terminal prints here; empty = any")
    name: Text(60, 1)
    profile: Text(40, 1) = Field(default="default", description="A key from GET /api/v1/printer-profiles")
    connection: Connection
    host: Text(253) = ""
    port: int = Field(default=9100, ge=1, le=65535)
    usb_vendor_id: int | None = Field(default=None, ge=0, le=0xFFFF)
    usb_product_id: int | None = Field(default=None, ge=0, le=0xFFFF)
    device_path: Text(200) = ""
    paper_mm: Paper = 80
    copies: int = Field(default=1, ge=1, le=5)
    auto_print: bool = True
    open_drawer: bool = False
    drawer_pin: Literal[2, 5] = 2
    is_default: bool = False
    active: bool = True


class PrinterPatch(StrictModel):
    terminal_id: uuid.UUID | None = None
    clear_terminal: bool = Field(default=False, description="Set true to make the printer serve every terminal")
    name: Text(60, 1) | None = None
    profile: Text(40, 1) | None = None
    connection: Connection | None = None
    host: Text(253) | None = None
    port: int | None = Field(default=None, ge=1, le=65535)
    usb_vendor_id: int | None = Field(default=None, ge=0, le=0xFFFF)
    usb_product_id: int | None = Field(default=None, ge=0, le=0xFFFF)
    device_path: Text(200) | None = None
    paper_mm: Paper | None = None
    copies: int | None = Field(default=None, ge=1, le=5)
    auto_print: bool | None = None
    open_drawer: bool | None = None
    drawer_pin: Literal[2, 5] | None = None
    is_default: bool | None = None
    active: bool | None = None


class PrinterOut(BaseModel):
    id: uuid.UUID
    store_id: uuid.UUID
    terminal_id: uuid.UUID | None
    name: str
    profile: str
    connection: Connection
    host: str
    port: int
    usb_vendor_id: int | None
    usb_product_id: int | None
    device_path: str
    paper_mm: int
    copies: int
    auto_print: bool
    open_drawer: bool
    drawer_pin: int
    is_default: bool
    active: bool
    sending_supported: bool = Field(description="False for USB: settings are kept but the server cannot send")


class ProfileOut(BaseModel):
    key: str
    name: str


class TemplateIn(StrictModel):
    paper_mm: Paper = 80
    language: LanguageCode = "zh_CN"
    header_text: Text(200) = ""
    footer_text: Text(300) = ""
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
    logo_png_base64: str | None = Field(default=None, max_length=200_000,
                                        description="PNG logo (base64, at most 128 KiB); empty string removes it")


class TemplateOut(TemplateIn):
    model_config = {"extra": "ignore"}
    store_id: uuid.UUID
    has_logo: bool = False
    updated_at: datetime | None = None
    updated_by: str = ""


class PreviewIn(StrictModel):
    template: TemplateIn | None = Field(default=None, description="Unsaved settings to preview; default: the saved")
    format: Literal["text", "html", "escpos", "pdf"] = "text"
    kind: Literal["sale", "refund", "void", "reprint"] = "sale"


class PrintJobOut(BaseModel):
    id: uuid.UUID
    store_id: uuid.UUID
    terminal_id: uuid.UUID | None
    printer_id: uuid.UUID
    printer_name: str = ""
    document_kind: str
    document_ref: str
    status: Literal["queued", "sending", "done", "failed"]
    attempts: int
    max_attempts: int
    error_code: str
    error: str = Field(description="The last failure, in the caller's language")
    will_retry: bool
    next_attempt_at: datetime | None
    created_at: datetime
    sent_at: datetime | None
    created_by: str


class LabelItem(StrictModel):
    name: Text(120, 1)
    price: int = Field(ge=0, le=10**11, description="fen")
    member_price: int | None = Field(default=None, ge=0, le=10**11)
    unit: Text(16) = ""
    spec: Text(60) = ""
    barcode: Text(40) = ""
    sku: Text(40) = ""


class LabelRequest(StrictModel):
    product_ids: list[uuid.UUID] | None = Field(default=None, max_length=2000)
    changed_since: datetime | None = None
    items: list[LabelItem] | None = Field(default=None, max_length=2000,
                                          description="Label data given directly (instead of product ids)")
    store_id: uuid.UUID | None = None
    layout: Literal["a4-3x8", "a4-2x5"] = "a4-3x8"
    barcode: Literal["ean13", "code128"] = "ean13"
    format: Literal["pdf", "escpos"] = "pdf"
    qr_base_url: Text(200) = ""
