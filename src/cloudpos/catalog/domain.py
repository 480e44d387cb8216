"""Pure catalog rules: barcodes (EAN/UPC check digits, scale barcodes), money and rate parsing,
Excel header mapping, text normalization and the pinyin search text. No database, no web."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from cloudpos.i18n import N_
from cloudpos.money import line_amount, round_half_up

MAX_MONEY_FEN = 10_000_000_000  # ¥100,000,000.00
MAX_QTY_MILLI = 1_000_000_000_000
GTIN_LENGTHS = (8, 12, 13)
STATUSES = ("listed", "delisted")
DEFAULT_UNITS = ("件", "个", "瓶", "罐", "盒", "袋", "包", "箱", "支", "条", "桶", "千克", "克", "斤", "升", "双", "套")
_BARCODE_RE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._-]{0,31}$")
_SKU_RE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._/-]{0,39}$")
_SCI_RE = re.compile(r"^[0-9]+(\.[0-9]+)?[eE][+]?[0-9]+$")


class RuleError(ValueError):
    """A value broke a rule: `message` is an English source string (N_), `params` fill it in."""

    def __init__(self, message: str, **params: object) -> None:
        super().__init__(message)
        self.message, self.params = message, params


def nfkc(text: str) -> str:
    """Full-width letters, digits and punctuation become their ASCII forms; spaces trimmed."""
    if text.isascii():
        return text.strip()
    return unicodedata.normalize("NFKC", text).strip()


# --- barcodes ---------------------------------------------------------------------------------

def gtin_check_digit(body: str) -> int:
    """The GS1 check digit for the digits before it (EAN-8, UPC-A, EAN-13, GTIN-14)."""
    total = 0
    for i, ch in enumerate(reversed(body)):
        total += int(ch) * (3 if i % 2 == 0 else 1)
    return (10 - total % 10) % 10


def looks_like_gtin(code: str) -> bool:
    return code.isascii() and code.isdigit() and len(code) in GTIN_LENGTHS


def gtin_valid(code: str) -> bool:
    return looks_like_gtin(code) and gtin_check_digit(code[:-1]) == int(code[-1])


def with_check_digit(body: str) -> str:
    return body + str(gtin_check_digit(body))


def normalize_barcode(raw: str) -> str:
    """A clean barcode or RuleError: EAN-13/EAN-8/UPC-A must carry a valid check digit;
    other codes (internal codes) are 1–32 letters, digits, '.', '_' or '-'."""
    code = nfkc(raw).replace(" ", "")
    if not code:
        raise RuleError(N_("Empty barcode."))
    if _SCI_RE.match(code):
        raise RuleError(N_("The barcode %(code)s was turned into scientific notation by Excel; format the "
                           "column as text (条码被 Excel 转成科学计数法,请把该列设为文本)."), code=code)
    if not _BARCODE_RE.match(code):
        raise RuleError(N_("Barcode %(code)s: use 1–32 letters, digits, '.', '_' or '-'."), code=code[:40])
    if looks_like_gtin(code) and not gtin_valid(code):
        raise RuleError(N_("Barcode %(code)s has a wrong check digit (expected %(digit)s)."), code=code,
                        digit=gtin_check_digit(code[:-1]))
    return code


def split_barcodes(raw: str) -> list[str]:
    return [p for p in re.split(r"[,;，；、\s]+", nfkc(raw)) if p]


def normalize_sku(raw: str) -> str:
    sku = nfkc(raw)
    if not sku:
        raise RuleError(N_("SKU is required."))
    if not _SKU_RE.match(sku):
        raise RuleError(N_("SKU %(sku)s: use up to 40 letters, digits, '.', '_', '/' or '-'."), sku=sku[:40])
    return sku


# --- scale barcodes (称重码) ------------------------------------------------------------------

@dataclass(frozen=True)
class ScaleFormat:
    prefix: str
    total_length: int = 13
    item_code_length: int = 5
    value_kind: str = "price"  # price: fen, weight: grams
    value_length: int = 5
    check_digit: bool = True


@dataclass(frozen=True)
class ScaleReading:
    item_code: str
    value_kind: str
    value: int  # fen or grams


def scale_format_errors(f: ScaleFormat) -> list[tuple[str, str]]:
    """(field, message) pairs for an impossible layout."""
    errors: list[tuple[str, str]] = []
    if not (f.prefix.isascii() and f.prefix.isdigit() and 1 <= len(f.prefix) <= 4):
        errors.append(("prefix", N_("The prefix is 1–4 digits.")))
    if f.value_kind not in ("price", "weight"):
        errors.append(("value_kind", N_("Choose price or weight.")))
    if f.total_length not in (13, 18):
        errors.append(("total_length", N_("Scale barcodes are 13 or 18 digits long.")))
    used = len(f.prefix) + f.item_code_length + f.value_length + (1 if f.check_digit else 0)
    if not (1 <= f.item_code_length <= 7 and 3 <= f.value_length <= 6):
        errors.append(("item_code_length", N_("Item code 1–7 digits, value 3–6 digits.")))
    elif used > f.total_length:
        errors.append(("value_length", N_("Prefix, item code, value and check digit do not fit.")))
    return errors


def parse_scale(code: str, f: ScaleFormat) -> ScaleReading | None:
    """The item code and embedded value, or None when the code does not follow this format."""
    if len(code) != f.total_length or not code.isdigit() or not code.startswith(f.prefix):
        return None
    if f.check_digit and gtin_check_digit(code[:-1]) != int(code[-1]):
        return None
    start = len(f.prefix)
    item = code[start:start + f.item_code_length]
    value_start = start + f.item_code_length
    value = int(code[value_start:value_start + f.value_length])
    return ScaleReading(item, f.value_kind, value)


def scale_line(reading: ScaleReading, unit_price_fen: int) -> tuple[int, int]:
    """(quantity in milli-units, amount in fen) for a scanned scale label. Weight labels charge
    weight × unit price; price labels charge the printed price (quantity = price / unit price)."""
    if reading.value_kind == "weight":
        return reading.value, line_amount(unit_price_fen, reading.value)
    qty = round_half_up(reading.value * 1000, unit_price_fen) if unit_price_fen > 0 else 1000
    return qty, reading.value


def make_scale_code(f: ScaleFormat, item_code: str, value: int) -> str:
    """Build a label the way a scale prints it (demo data and tests)."""
    body = f.prefix + item_code.zfill(f.item_code_length) + str(value).zfill(f.value_length)
    pad = f.total_length - len(body) - (1 if f.check_digit else 0)
    body += "0" * pad
    return with_check_digit(body) if f.check_digit else body


# --- money, rates, quantities ------------------------------------------------------------------

def _decimal(raw: object) -> Decimal:
    if isinstance(raw, bool):
        raise RuleError(N_("Not a number: %(value)s"), value=str(raw))
    if isinstance(raw, float):
        return Decimal(repr(raw))  # the shortest text that reads back as this float
    if isinstance(raw, (int, Decimal)):
        return Decimal(raw)
    text = nfkc(str(raw)).replace(",", "").replace("¥", "").replace("￥", "").replace("元", "").strip()
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise RuleError(N_("Not a number: %(value)s"), value=str(raw)[:40]) from None
    if not value.is_finite():
        raise RuleError(N_("Not a number: %(value)s"), value=str(raw)[:40])
    return value


def parse_money(raw: object) -> int:
    """Yuan → fen, exactly: '3.50' → 350; more than 2 decimals or a negative amount is refused."""
    value = _decimal(raw)
    if value < 0:
        raise RuleError(N_("Must not be negative."))
    fen = value * 100
    if fen != fen.to_integral_value():
        raise RuleError(N_("At most 2 decimal places: %(value)s"), value=str(raw)[:40])
    if fen > MAX_MONEY_FEN:
        raise RuleError(N_("Too large: %(value)s"), value=str(raw)[:40])
    return int(fen)


def parse_percent_bp(raw: object) -> int:
    """A tax rate in percent ('13', '13%', 0.13 as a percent-formatted cell is not guessed) → basis points."""
    text = raw if not isinstance(raw, str) else raw.replace("%", "").replace("％", "")
    value = _decimal(text)
    bp = value * 100
    if bp != bp.to_integral_value():
        raise RuleError(N_("At most 2 decimal places: %(value)s"), value=str(raw)[:40])
    if not 0 <= bp <= 10000:
        raise RuleError(N_("A rate between 0 and 100 %."))
    return int(bp)


def parse_qty_milli(raw: object) -> int:
    value = _decimal(raw)
    if value < 0:
        raise RuleError(N_("Must not be negative."))
    milli = value * 1000
    if milli != milli.to_integral_value():
        raise RuleError(N_("At most 3 decimal places: %(value)s"), value=str(raw)[:40])
    if milli > MAX_QTY_MILLI:
        raise RuleError(N_("Too large: %(value)s"), value=str(raw)[:40])
    return int(milli)


def milli_str(milli: int | None) -> str | None:
    if milli is None:
        return None
    sign = "-" if milli < 0 else ""
    whole, frac = divmod(abs(milli), 1000)
    return f"{sign}{whole}.{frac:03d}"


def yuan_str(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def percent_str(bp: int) -> str:
    whole, frac = divmod(bp, 100)
    return str(whole) if frac == 0 else f"{whole}.{frac:02d}".rstrip("0")


_TRUE = {"是", "y", "yes", "true", "1", "√", "✓", "称重", "t"}
_FALSE = {"否", "n", "no", "false", "0", "×", "", "f", "不称重"}


def parse_bool(raw: object) -> bool:
    if isinstance(raw, bool):
        return raw
    text = nfkc(str(raw)).lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise RuleError(N_("Write 是 or 否 (yes or no)."))


_STATUS = {"上架": "listed", "listed": "listed", "在售": "listed", "1": "listed", "是": "listed",
           "下架": "delisted", "delisted": "delisted", "停售": "delisted", "0": "delisted", "否": "delisted"}


def parse_status(raw: object) -> str:
    text = nfkc(str(raw)).lower()
    if text == "":
        return "listed"
    if text in _STATUS:
        return _STATUS[text]
    raise RuleError(N_("Write 上架 or 下架 (listed or delisted)."))


def split_category_path(raw: str) -> list[str]:
    """'食品/饮料/碳酸饮料' or '食品 > 饮料' → ['食品', '饮料', '碳酸饮料']."""
    parts = [p.strip() for p in re.split(r"\s*(?:>|/|\\|＞|》|→)\s*", nfkc(raw))]
    return [p for p in parts if p]


# --- Excel headers ----------------------------------------------------------------------------

FIELDS = ("sku", "barcodes", "name", "category", "brand", "unit", "price", "cost", "tax_rate", "spec",
          "sold_by_weight", "status", "low_stock_threshold")

# The template's headers (Chinese first, as the export writes them) and every accepted alias.
HEADERS_ZH = {"sku": "商品编码", "barcodes": "条码", "name": "名称", "category": "分类", "brand": "品牌",
              "unit": "单位", "price": "售价", "cost": "进价", "tax_rate": "税率", "spec": "规格",
              "sold_by_weight": "称重", "status": "状态", "low_stock_threshold": "库存预警"}
HEADERS_EN = {"sku": "SKU", "barcodes": "Barcode", "name": "Name", "category": "Category", "brand": "Brand",
              "unit": "Unit", "price": "Price", "cost": "Cost", "tax_rate": "Tax rate", "spec": "Spec",
              "sold_by_weight": "Sold by weight", "status": "Status", "low_stock_threshold": "Low stock threshold"}
_ALIASES = {
    "sku": ["sku", "商品编码", "编码", "货号", "商品编号", "skucode", "itemcode", "code"],
    "barcodes": ["条码", "barcode", "barcodes", "条形码", "商品条码", "ean", "upc"],
    "name": ["名称", "name", "商品名称", "品名", "productname"],
    "category": ["分类", "category", "商品分类", "类别"],
    "brand": ["品牌", "brand"],
    "unit": ["单位", "unit", "计量单位"],
    "price": ["售价", "price", "零售价", "销售价", "saleprice", "retailprice"],
    "cost": ["进价", "cost", "进货价", "成本价", "成本", "costprice"],
    "tax_rate": ["税率", "taxrate", "tax", "税率%"],
    "spec": ["规格", "spec", "specification", "规格型号"],
    "sold_by_weight": ["称重", "soldbyweight", "是否称重", "weighed", "byweight"],
    "status": ["状态", "status", "上下架", "上架状态"],
    "low_stock_threshold": ["库存预警", "lowstockthreshold", "预警库存", "安全库存", "lowstock", "预警值"],
}
_HEADER_INDEX = {alias: f for f, names in _ALIASES.items() for alias in names}


def header_key(raw: str) -> str:
    text = nfkc(str(raw)).lower()
    text = re.sub(r"[(（\[【].*?[)）\]】]", "", text)  # "售价(元)", "Price (yuan)"
    return re.sub(r"[\s_*:：/\-]+", "", text)


def map_header(raw: object) -> str | None:
    if raw is None:
        return None
    return _HEADER_INDEX.get(header_key(str(raw)))


# --- search text ------------------------------------------------------------------------------

_PY_CACHE: dict[str, str] = {}


def _strip_tone(syllable: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", syllable) if c.isascii()).replace("u:", "v")


@lru_cache(maxsize=1)
def _dicts() -> tuple[dict[int, str], dict[str, list[list[str]]]]:
    from pypinyin.phrases_dict import phrases_dict
    from pypinyin.pinyin_dict import pinyin_dict

    return pinyin_dict, phrases_dict


def _char_pinyin(ch: str) -> str | None:
    hit = _PY_CACHE.get(ch)
    if hit is None:
        readings = _dicts()[0].get(ord(ch))
        hit = _strip_tone(readings.split(",")[0]) if readings else ""
        _PY_CACHE[ch] = hit
    return hit or None


def pinyin_syllables(text: str) -> list[str | None]:
    """Pinyin of each character (None for a non-Chinese one), phrase-aware (银行 → yin hang) by
    longest match in pypinyin's phrase dictionary, then its character dictionary. ~50× faster than
    pypinyin.lazy_pinyin, which matters for a 100k-row import."""
    _, phrases = _dicts()
    out: list[str | None] = []
    i, n = 0, len(text)
    while i < n:
        for length in (4, 3, 2):
            if i + length <= n:
                hit = phrases.get(text[i:i + length])
                if hit and len(hit) == length:
                    out.extend(_strip_tone(r[0]) for r in hit)
                    i += length
                    break
        else:
            out.append(_char_pinyin(text[i]))
            i += 1
    return out


@lru_cache(maxsize=4096)
def _pinyin(text: str) -> tuple[str, str]:
    """(full pinyin, initials); cached per distinct name (imports and edits repeat names)."""
    full: list[str] = []
    initials: list[str] = []
    for ch, py in zip(text, pinyin_syllables(text), strict=True):
        full.append(py or ch)
        initials.append(py[0] if py else ch)
    return "".join(full), "".join(initials)


def search_text(name: str, sku: str = "", brand: str = "", barcodes: list[str] | tuple[str, ...] = ()) -> str:
    """name + full pinyin + initials + sku + brand + barcodes, lowercased: 'kkkl' and 'kekoukele'
    find 可口可乐, so a list search is one LIKE on one indexed column."""
    name_n = nfkc(name).lower()
    full, initials = _pinyin(name_n.replace(" ", ""))
    parts = [name_n.replace(" ", ""), full, initials, nfkc(sku).lower(), nfkc(brand).lower(), *barcodes]
    return " ".join(p for p in parts if p)[:1000]


def search_terms(q: str) -> list[str]:
    return [t for t in nfkc(q).lower().split() if t][:5]
