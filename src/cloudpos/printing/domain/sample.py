"""Sample documents: the template editor's live preview, the test print and the demo."""

from __future__ import annotations

from datetime import UTC, datetime

from cloudpos.printing.domain.receipt import (
    LabelData,
    OrderDiscount,
    Payment,
    ReceiptData,
    ReceiptLine,
    ReportData,
    ReportTable,
)

SAMPLE_TIME = datetime(2026, 11, 27, 6, 30, 15, tzinfo=UTC)  # 14:30:15 in Shanghai


def sample_receipt(store_name: str = "好邻居便利店", address: str = "上海市黄浦区人民路 100 号",
                   phone: str = "021-63210000", language: str = "zh_CN", qr_payload: str = "",
                   kind: str = "sale") -> ReceiptData:
    en = language == "en"
    return ReceiptData(
        store_name=store_name,
        store_address=address,
        store_phone=phone,
        receipt_no="S01-T01-20261127-0042",
        issued_at=SAMPLE_TIME,
        terminal="T01",
        cashier="张收银" if not en else "Zhang",
        salesperson="陈导购" if not en else "Chen",
        kind=kind,  # type: ignore[arg-type]
        language=language,  # type: ignore[arg-type]
        lines=(
            ReceiptLine("可口可乐 330ml", 2000, 350, 525, 175, ("第二件半价",)),
            ReceiptLine("农夫山泉饮用天然水 550ml 整箱装（24瓶）家庭实惠装", 1000, 3600, 3600),
            ReceiptLine("Organic bananas (imported, premium grade)", 1250, 990, 1238, unit="kg"),
            ReceiptLine("上好佳鲜虾片 40g", 3000, 450, 1350),
        ),
        subtotal=6713,
        discounts=(OrderDiscount("满50减5", 500), OrderDiscount("会员95折", 311)),
        total=5902,
        payments=(Payment("微信支付" if not en else "WeChat Pay", 2000),
                  Payment("现金" if not en else "Cash", 5000, is_cash=True)),
        change=1098,
        member_card="6201888812341234",
        points_earned=59,
        points_balance=1288,
        stored_value_balance=30000,
        qr_payload=qr_payload or "https://pos.example.cn/r/sample",
    )


def sample_report(language: str = "zh_CN") -> ReportData:
    en = language == "en"
    return ReportData(
        title="交班报表 (X)" if not en else "Shift report (X)",
        store_name="好邻居便利店",
        issued_at=SAMPLE_TIME,
        language=language,  # type: ignore[arg-type]
        meta=(("收银台" if not en else "Terminal", "T01"), ("收银员" if not en else "Cashier", "张收银")),
        rows=(("销售笔数" if not en else "Sales", "42"), ("销售额" if not en else "Sales total", "3280.50"),
              ("退货" if not en else "Refunds", "-35.00"), ("应交现金" if not en else "Cash expected", "1200.00")),
        tables=(ReportTable(("支付方式" if not en else "Method", "笔数" if not en else "Count",
                             "金额" if not en else "Amount"),
                            (("现金", "20", "1200.00"), ("微信支付", "15", "1500.50"), ("支付宝", "7", "545.00"))),),
        signature_lines=("收银员签字" if not en else "Cashier", "店长签字" if not en else "Manager"),
    )


def sample_labels() -> list[LabelData]:
    return [
        LabelData("可口可乐 330ml", 350, "听", "330ml", 300, "6901939621257", "SKU-0001"),
        LabelData("农夫山泉饮用天然水 550ml", 200, "瓶", "550ml", None, "6921168509256", "SKU-0002"),
        LabelData("散装红富士苹果", 1280, "kg", "一级", 1180, "SKU-APPLE-01", "SKU-0003"),
    ]
