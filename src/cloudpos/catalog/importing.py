"""Excel import (导入 Excel): upsert products by SKU from an .xlsx.

Pass 1 streams the sheet, validates every row (cells → values, then against the database in
batches: existing SKUs, barcode owners) and spools the valid rows to a temporary file. With any
error and `dry_run=false`, nothing is written unless `skip_invalid`. Pass 2 replays the spool
and writes in batches (Core bulk statements, no ORM identity map) in ONE transaction: all or
nothing. Memory stays flat: one batch of rows plus the sets of SKUs and barcodes seen.

Big files run as a background job (a thread in this process for now); its state lives in
`import_jobs`, so any process can answer `GET /products/import/{job_id}`.
"""

from __future__ import annotations

import hashlib
import pickle
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import UploadFile
from sqlalchemy import bindparam, delete, insert, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from cloudpos import clock
from cloudpos.audit import service as audit
from cloudpos.catalog import categories, domain, xlsx
from cloudpos.catalog.models import ImportJob, Product, ProductBarcode
from cloudpos.catalog.schemas import ImportJobOut, ImportResult, RowError
from cloudpos.context import Actor
from cloudpos.errors import Conflict, FieldError, Forbidden, Invalid, NotFound, Problem
from cloudpos.i18n import N_, gettext
from cloudpos.ids import uuid7

BATCH = 1000
MAX_ERRORS_RETURNED = 1000
MAX_ROWS = 200_000
BACKGROUND_BYTES = 1_500_000  # larger uploads run as a job (≈ 30k rows)
SCI_MESSAGE = N_("条码被 Excel 转成科学计数法,请把该列设为文本 (the barcode was turned into scientific notation "
                 "by Excel: format the column as text and type it again).")


@dataclass(frozen=True)
class Options:
    dry_run: bool = True
    skip_invalid: bool = False
    create_categories: bool = False


class UnsafeUpload(Problem):
    status, code, title = 422, "unsafe_file", "The file was refused."


class NotAWorkbook(Problem):
    status, code, title = 422, "not_xlsx", "This is not an .xlsx file."


# --- the file ---------------------------------------------------------------------------------

KEEP_UPLOADS_FOR = 24 * 3600  # seconds a checked file waits in var/imports for its confirmation


def save_upload(var_dir: Path, file: UploadFile) -> tuple[Path, int]:
    """Spool the upload to var/imports/ (the body size is already capped by the app)."""
    folder = Path(var_dir) / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    sweep(folder)
    path = folder / f"{uuid7()}.xlsx"
    with path.open("wb") as out:
        shutil.copyfileobj(file.file, out, 1 << 20)
    size = path.stat().st_size
    if size == 0:
        path.unlink(missing_ok=True)
        raise Invalid(errors=[FieldError("file", N_("The file is empty."), {}, "empty")])
    return path, size


def sweep(folder: Path, older_than: float = KEEP_UPLOADS_FOR) -> int:
    """Delete uploads left in var/imports longer than `older_than` seconds: a checked file nobody
    confirmed, or the file of a job whose process died. Returns how many were deleted."""
    cutoff = time.time() - older_than
    removed = 0
    try:
        entries = list(folder.iterdir())
    except FileNotFoundError:
        return 0
    for entry in entries:
        if entry.suffix != ".xlsx":
            continue
        try:
            if entry.is_file() and entry.stat().st_mtime < cutoff:
                entry.unlink()
                removed += 1
        except FileNotFoundError:  # another process swept it first
            continue
    return removed


def _rows(path: Path) -> Iterator[tuple[int, list[object]]]:
    try:
        yield from xlsx.iter_rows(path)
    except xlsx.NotXlsx as e:
        raise NotAWorkbook(str(e)) from None
    except xlsx.UnsafeFile as e:
        raise UnsafeUpload(str(e)) from None


# --- header -----------------------------------------------------------------------------------

@dataclass
class Header:
    columns: dict[int, str]  # column index → field
    labels: dict[str, str]  # field → the header text in the file
    data_from: int  # first data row number


def find_header(head: list[tuple[int, list[object]]]) -> Header:
    """The header is the row (among the first ten) naming the most known columns; a second header
    row below it (two-level merged headers: "价格" over "售价 | 进价") or above it (vertically merged
    cells keep their text in the top row) fills the gaps."""
    mapped = [{i: f for i, v in enumerate(cells) if (f := domain.map_header(_text(v)))} for _, cells in head]
    if not mapped:
        raise Invalid(errors=[FieldError("file", N_("The sheet is empty."), {}, "empty")])
    best = max(range(len(mapped)), key=lambda i: (len(mapped[i]), -i))
    if len(mapped[best]) < 2:
        raise Invalid(errors=[FieldError("file", N_("No header row found: the first rows must name the columns "
                                                     "(商品编码/SKU, 名称/Name, 售价/Price…)."), {}, "no_header")])
    columns = dict(mapped[best])
    last = best
    if best + 1 < len(mapped) and mapped[best + 1] and head[best + 1][0] == head[best][0] + 1:
        for i, f in mapped[best + 1].items():
            columns[i] = f  # the lower row is the more specific one
        last = best + 1
    if best > 0 and head[best - 1][0] == head[best][0] - 1:
        for i, f in mapped[best - 1].items():
            columns.setdefault(i, f)
    seen: dict[str, int] = {}
    for i in sorted(columns):
        f = columns[i]
        if f in seen:
            raise Invalid(errors=[FieldError("file", N_("The column %(name)s appears twice."),
                                             {"name": domain.HEADERS_ZH[f]}, "duplicate_column")])
        seen[f] = i
    labels: dict[str, str] = {}
    for i, f in columns.items():
        text = ""
        for r in (last, best, best - 1):
            if 0 <= r < len(head) and i < len(head[r][1]) and domain.map_header(_text(head[r][1][i])) == f:
                text = _text(head[r][1][i])
                break
        labels[f] = text or domain.HEADERS_ZH[f]
    missing = [f for f in ("sku",) if f not in seen]
    if missing:
        raise Invalid(errors=[FieldError("file", N_("The required column %(name)s is missing."),
                                         {"name": "商品编码/SKU"}, "missing_column")])
    return Header(columns, labels, head[last][0] + 1)


def _text(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, xlsx.Formula):
        return _text(v.value)
    return str(v)


# --- cells → values ---------------------------------------------------------------------------

class CellProblem(Exception):
    def __init__(self, message: str, **params: object) -> None:
        super().__init__(message)
        self.message, self.params = message, params


def _plain(v: object) -> object:
    """A cell's value: formulas give their cached result; errors and missing results are refused."""
    if isinstance(v, xlsx.Formula):
        if v.value is None:
            raise CellProblem(N_("The formula %(formula)s has no saved result: open the file in Excel or WPS, "
                                 "let it calculate and save it again (or paste values only)."),
                              formula=("=" + v.text.lstrip("="))[:40])
        v = v.value
    if isinstance(v, xlsx.CellError):
        raise CellProblem(N_("The cell shows the error %(error)s."), error=v.code)
    if isinstance(v, str):
        v = domain.nfkc(v)
        return v if v != "" else None
    return v


def _as_text(v: object) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def barcode_cell(v: object) -> list[str]:
    """A barcode cell: text ('6901234567892', several separated by , or ;), a number, or a float
    Excel made of a long number (recovered only when lossless and a valid EAN/UPC)."""
    if isinstance(v, bool):
        raise CellProblem(N_("Not a barcode."))
    if isinstance(v, (int, float)):
        return [_numeric_barcode(v)]
    codes = []
    for part in domain.split_barcodes(str(v)):
        try:
            codes.append(domain.normalize_barcode(part))
        except domain.RuleError as e:
            if domain._SCI_RE.match(part):
                raise CellProblem(SCI_MESSAGE) from None
            raise CellProblem(e.message, **e.params) from None
    return codes


def _numeric_barcode(v: int | float) -> str:
    """Excel keeps numbers as doubles: a numeric barcode is kept only when it is an exact integer
    of at most 15 digits that is a valid EAN/UPC (possibly after the leading zero Excel dropped);
    a short number (a scale PLU, an internal code) is kept as is."""
    if isinstance(v, float) and not v.is_integer():
        raise CellProblem(SCI_MESSAGE)
    digits = str(int(v))
    if len(digits) > 15:
        raise CellProblem(SCI_MESSAGE)
    if domain.gtin_valid(digits):
        return digits
    if len(digits) in (11, 12):
        for cand in (digits.zfill(12), digits.zfill(13)):
            if domain.gtin_valid(cand):
                return cand
    if len(digits) >= 8:
        raise CellProblem(SCI_MESSAGE)
    return digits


def _rule(fn: Callable[[object], Any], v: object) -> Any:
    try:
        return fn(v)
    except domain.RuleError as e:
        raise CellProblem(e.message, **e.params) from None


def _tax(v: object) -> int:
    if isinstance(v, float) and 0 < v < 1:
        v = round(v * 100, 6)  # a cell formatted as % holds 0.13 for 13 %
    return _rule(domain.parse_percent_bp, v)


PARSERS: dict[str, Callable[[object], Any]] = {
    "sku": lambda v: _rule(domain.normalize_sku, _as_text(v)),
    "barcodes": barcode_cell,
    "name": lambda v: _limit(_as_text(v), 120),
    "category": lambda v: domain.split_category_path(_as_text(v)),
    "brand": lambda v: _limit(_as_text(v), 60),
    "unit": lambda v: _limit(_as_text(v), 16),
    "price": lambda v: _rule(domain.parse_money, v),
    "cost": lambda v: _rule(domain.parse_money, v),
    "tax_rate": _tax,
    "spec": lambda v: _limit(_as_text(v), 200),
    "sold_by_weight": lambda v: _rule(domain.parse_bool, v),
    "status": lambda v: _rule(domain.parse_status, v),
    "low_stock_threshold": lambda v: _rule(domain.parse_qty_milli, v),
}


def _limit(text: str, n: int) -> str:
    if len(text) > n:
        raise CellProblem(N_("Too long (at most %(n)s characters)."), n=n)
    return text


@dataclass
class Row:
    number: int
    values: dict[str, Any]  # field → parsed value, only for non-empty cells


def parse_row(number: int, cells: list[object], header: Header) -> tuple[Row, list[tuple[str, str, dict]]]:
    values: dict[str, Any] = {}
    errors: list[tuple[str, str, dict]] = []
    for i, f in header.columns.items():
        raw = cells[i] if i < len(cells) else None
        try:
            v = _plain(raw)
            if v is None:
                continue
            values[f] = PARSERS[f](v)
        except CellProblem as e:
            errors.append((f, e.message, dict(e.params)))
    if "sku" not in values and not any(f == "sku" for f, _, _ in errors):
        errors.append(("sku", N_("SKU is required."), {}))
    if "category" in values and not values["category"]:
        del values["category"]
    if "category" in values and len(values["category"]) > categories.MAX_DEPTH:
        errors.append(("category", N_("Categories can be at most %(n)s levels deep."), {"n": categories.MAX_DEPTH}))
    return Row(number, values), errors


# --- pass 1: validate -------------------------------------------------------------------------

FIELD_TO_COLUMN = {"tax_rate": "tax_rate_bp", "category": "category_id"}


@dataclass
class Validation:
    header: Header
    result: ImportResult
    spool: Path
    rows_valid: int = 0
    moved_codes: set[str] = field(default_factory=set)
    new_paths: set[tuple[str, ...]] = field(default_factory=set)
    skip_rows: set[int] = field(default_factory=set)
    digest: str = ""  # SHA-256 of the file, for the audit trail


_P, _B = Product.__table__, ProductBarcode.__table__
# Built once (bound parameters); run as Core on the session's connection, tenant scoping explicit.
_EXISTING = select(_P.c.id, _P.c.sku, _P.c.name, _P.c.category_id, _P.c.brand, _P.c.unit, _P.c.price, _P.c.cost,
                   _P.c.tax_rate_bp, _P.c.spec, _P.c.sold_by_weight, _P.c.status, _P.c.low_stock_threshold,
                   _P.c.barcodes, _P.c.search_text, _P.c.version)
_OWNER_IDS = select(_B.c.code, _B.c.product_id)
_SKUS = select(_P.c.id, _P.c.sku)


class _Checker:
    def __init__(self, db: Session, actor: Actor, opts: Options, header: Header) -> None:
        self.db, self.actor, self.opts, self.header = db, actor, opts, header
        self.result = ImportResult(dry_run=opts.dry_run)
        self.skus: set[str] = set()
        self.codes: dict[str, str] = {}  # barcode → sku in this file
        self.cat_index = categories.path_index(db, actor.tenant_id)
        self.new_paths: set[tuple[str, ...]] = set()
        self.pending: list[tuple[str, str, int, str, str]] = []  # code, owner sku, row, claimant, kind
        self.kind_of_row: dict[int, str] = {}
        self.moved: set[str] = set()

    def error(self, row: int, f: str, message: str, params: dict | None = None) -> None:
        self.result.error_count += 1
        if len(self.result.errors) < MAX_ERRORS_RETURNED:
            text = gettext(message, None, **params) if params else gettext(message)
            self.result.errors.append(RowError(row=row, column=self.header.labels.get(f, f), message=text))

    def batch(self, rows: list[tuple[Row, list[tuple[str, str, dict]]]]) -> list[Row]:
        """Check a batch against the file so far and the database; returns the valid rows."""
        tid = self.actor.tenant_id
        skus = [r.values["sku"] for r, errs in rows if "sku" in r.values]
        conn = self.db.connection()  # Core: no ORM row processing for 1000 rows a batch
        existing = {p.sku: p for p in conn.execute(
            _EXISTING.where(_P.c.tenant_id == tid, _P.c.sku.in_(skus)))} if skus else {}
        all_codes = [c for r, _ in rows for c in r.values.get("barcodes", [])]
        owners: dict[str, str] = {}  # barcode → the SKU of the product that has it now
        if all_codes:
            owner_ids = dict(conn.execute(_OWNER_IDS.where(_B.c.tenant_id == tid, _B.c.code.in_(all_codes))).all())
            # Mostly a row's codes are its own product's: only other products' SKUs are fetched (a join
            # to products for every code made PostgreSQL scan products once per batch).
            sku_of = {p.id: sku for sku, p in existing.items()}
            others = {pid for pid in owner_ids.values() if pid not in sku_of}
            if others:
                sku_of.update(conn.execute(_SKUS.where(_P.c.tenant_id == tid, _P.c.id.in_(others))).all())
            owners = {code: sku_of[pid] for code, pid in owner_ids.items() if pid in sku_of}
        self.db.rollback()  # end the read transaction (SQLite: releases the lock between batches)
        valid: list[Row] = []
        for row, errs in rows:
            for f, msg, params in errs:
                self.error(row.number, f, msg, params)
            v = row.values
            sku = v.get("sku")
            bad = bool(errs)
            if sku is not None:
                if sku in self.skus:
                    self.error(row.number, "sku", N_("SKU %(sku)s appears twice in the file."), {"sku": sku})
                    bad = True
                else:
                    self.skus.add(sku)
            old = existing.get(sku) if sku else None
            if old is None and not bad:
                if "name" not in v:
                    self.error(row.number, "name", N_("The name is required for a new product."))
                    bad = True
                if "price" not in v:
                    self.error(row.number, "price", N_("The price is required for a new product."))
                    bad = True
            if "category" in v:
                key = tuple(p.lower() for p in v["category"])
                if key not in self.cat_index:
                    if self.opts.create_categories:
                        if not bad:
                            self.new_paths.add(key)
                    else:
                        self.error(row.number, "category",
                                   N_("Unknown category %(path)s (choose 'create missing categories' to add it)."),
                                   {"path": " > ".join(v["category"])})
                        bad = True
            claims: list[tuple[str, str]] = []
            for code in v.get("barcodes", []):
                other = self.codes.get(code)
                if other is not None and other != sku:
                    self.error(row.number, "barcodes", N_("Barcode %(code)s is also on the row of SKU %(sku)s."),
                               {"code": code, "sku": other})
                    bad = True
                    continue
                owner = owners.get(code)
                if owner is not None and owner != sku:
                    claims.append((code, owner))
            if bad:
                self.result.skipped += 1
                continue
            for code in v.get("barcodes", []):
                self.codes[code] = sku
            kind = "created" if old is None else ("unchanged" if _same(old, v, self.cat_index) else "updated")
            for code, owner in claims:
                self.pending.append((code, owner, row.number, sku, kind))
            setattr(self.result, kind, getattr(self.result, kind) + 1)
            valid.append(row)
        return valid

    def finish(self) -> set[int]:
        """Barcodes that move from one product to another are fine only if the old owner's row in
        this file gives them up; returns the rows invalidated at the end."""
        late: set[int] = set()
        for code, owner, row, sku, kind in self.pending:
            if owner in self.skus and self.codes.get(code) == sku:
                self.moved.add(code)
                continue
            self.error(row, "barcodes", N_("Barcode %(code)s already belongs to the product %(sku)s."),
                       {"code": code, "sku": owner})
            if row not in late:
                late.add(row)
                setattr(self.result, kind, getattr(self.result, kind) - 1)
                self.result.skipped += 1
        return late


def _same(old: Any, v: dict[str, Any], cat_index: dict[tuple[str, ...], uuid.UUID]) -> bool:
    for f, value in v.items():
        if f == "sku":
            continue
        if f == "category":
            if cat_index.get(tuple(p.lower() for p in value)) != old.category_id:
                return False
        elif f == "barcodes":
            if list(value) != list(old.barcodes or []):
                return False
        elif getattr(old, FIELD_TO_COLUMN.get(f, f)) != value:
            return False
    return True


Progress = Callable[[str, int], None]


def validate(db: Session, actor: Actor, path: Path, opts: Options, progress: Progress | None = None) -> Validation:
    rows = _rows(path)
    head: list[tuple[int, list[object]]] = []
    for item in rows:
        head.append(item)
        if len(head) >= 10:
            break
    header = find_header(head)
    checker = _Checker(db, actor, opts, header)
    spool = Path(tempfile.mkstemp(prefix="cloudpos-import-", suffix=".spool")[1])
    count = 0
    batch: list[tuple[Row, list[tuple[str, str, dict]]]] = []

    def source() -> Iterator[tuple[int, list[object]]]:
        yield from (h for h in head if h[0] >= header.data_from)
        yield from rows

    try:
        with spool.open("wb") as out:
            for number, cells in source():
                count += 1
                if count > MAX_ROWS:
                    raise Invalid(errors=[FieldError("file", N_("At most %(n)s rows per file; split the file."),
                                                     {"n": MAX_ROWS}, "too_many_rows")])
                batch.append(parse_row(number, cells, header))
                if len(batch) >= BATCH:
                    pickle.dump([(r.number, r.values) for r in checker.batch(batch)], out)
                    batch = []
                    if progress:
                        progress("validating", count)
            if batch:
                pickle.dump([(r.number, r.values) for r in checker.batch(batch)], out)
    except BaseException:
        spool.unlink(missing_ok=True)
        raise
    late = checker.finish()
    checker.result.rows = count
    checker.result.categories_created = len({key[:i] for key in checker.new_paths for i in range(1, len(key) + 1)
                                             if key[:i] not in checker.cat_index})
    return Validation(header, checker.result, spool, moved_codes=checker.moved, new_paths=checker.new_paths,
                      skip_rows=late)


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


# --- pass 2: write ----------------------------------------------------------------------------

def _spooled(spool: Path) -> Iterator[list[tuple[int, dict[str, Any]]]]:
    with spool.open("rb") as fh:
        while True:
            try:
                yield pickle.load(fh)  # noqa: S301 - our own spool file, written above
            except EOFError:
                return


def write(db: Session, actor: Actor, v: Validation, filename: str, progress: Progress | None = None) -> None:
    """Apply the validated rows in the session's transaction (the caller commits).

    Audit: one `catalog.price.change` event per product whose price or cost the file changes (its
    before/after, like an edit on the product page; appended to the chain in bulk per batch) and one
    `catalog.import` event with the counts and the file's SHA-256."""
    tid = actor.tenant_id
    now = clock.now()
    analyze = [_plan_for_growth] if _statistics_missing(db) else []
    cat_index = categories.path_index(db, tid)
    for key in sorted(v.new_paths, key=len):
        if key not in cat_index:
            categories.ensure_path(db, tid, list(key), cat_index)
    if v.moved_codes:
        codes = sorted(v.moved_codes)
        for i in range(0, len(codes), 500):
            db.execute(delete(ProductBarcode).where(ProductBarcode.tenant_id == tid,
                                                    ProductBarcode.code.in_(codes[i:i + 500])))
    source = {"source": "import", "file": filename[:100]}
    done = prices_changed = 0
    for batch in _spooled(v.spool):
        rows = [(n, vals) for n, vals in batch if n not in v.skip_rows]
        changes = _write_batch(db, tid, rows, cat_index, now, analyze)
        if changes:
            _check_price_rights(db, actor, changes)
        prices_changed += audit.record_many(db, actor, "catalog.price.change", [
            audit.Entry(target_type="product", target_id=pid, target_label=label, before=before, after=after,
                        details=source) for pid, label, before, after in changes])
        done += len(batch)
        if progress:
            progress("writing", done)
    r = v.result
    audit.record(db, actor, "catalog.import", target_type="import", target_label=filename[:200],
                 details={"created": r.created, "updated": r.updated, "unchanged": r.unchanged,
                          "skipped": r.skipped, "rows": r.rows, "categories_created": r.categories_created,
                          "prices_changed": prices_changed, "sha256": v.digest})


def _check_price_rights(db: Session, actor: Actor, changes: list[PriceChange]) -> None:
    """A file that changes existing products' prices or costs is held to the same rules as the product page:
    the permission to change prices, and a manager when the merchant has price changes approved. The import
    is all or nothing, so a refusal here writes nothing."""
    from cloudpos.approvals import service as approvals

    first = changes[0][1]
    if not actor.can("catalog.price.edit"):
        raise Forbidden(N_("This file changes the price or cost of existing products (first: %(product)s). "
                           "Changing prices needs the permission to change prices."),
                        params={"product": first}, extra={"permission": "catalog.price.edit"})
    if approvals.required(db, actor.tenant_id, "catalog.price.change") and not actor.can("approval.decide"):
        raise Conflict(N_("This file changes the price or cost of existing products (first: %(product)s), and "
                          "price changes need a manager's approval here: ask a manager to import it."),
                       params={"product": first}, code="approval_required")


def _statistics_missing(db: Session) -> bool:
    """PostgreSQL: `products` has no usable planner statistics (a new database that autovacuum has
    not analyzed yet). Then the cached generic plan of the foreign-key check behind every barcode
    INSERT picks the (tenant_id, status) index and scans all of the tenant's products per row —
    quadratic: 20k rows took 28 s in the barcode INSERTs alone."""
    conn = db.connection()
    if conn.dialect.name != "postgresql":
        return False
    known = conn.execute(text("SELECT reltuples FROM pg_class WHERE oid = 'products'::regclass")).scalar()
    return known is None or known < 10 * BATCH


def _plan_for_growth(db: Session) -> None:
    """Give the planner statistics that include this transaction's first products (called between the
    first products INSERT and its barcodes): ANALYZE inside the transaction sees our own rows, and
    the cached plans are rebuilt. If the table is being analyzed elsewhere (ANALYZE does not wait
    more than 200 ms here) or we may not analyze it, custom plans — costed on the table's current
    size, ~6 s slower per 100k rows — keep every check an index hit instead."""
    conn = db.connection()
    timeout = conn.execute(text("SELECT current_setting('lock_timeout')")).scalar()
    try:
        with db.begin_nested():  # statements through the session: that is what emits the SAVEPOINT
            db.execute(text("SET LOCAL lock_timeout = '200ms'"))
            db.execute(text("ANALYZE products"))
            db.execute(text("SELECT set_config('lock_timeout', :t, true)"), {"t": timeout})
    except DBAPIError:
        conn.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
        return
    if _statistics_missing(db):  # not the table's owner: ANALYZE only warned
        conn.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))


def refresh_statistics(db: Session, rows_written: int) -> None:
    """PostgreSQL, after a large import committed: analyze the catalog tables when their statistics
    are far behind (a new database), so the next look-ups and imports get index plans now rather
    than after autovacuum's next round. Best effort, in its own short transaction."""
    if rows_written < BATCH or db.get_bind().dialect.name != "postgresql":
        return
    try:
        known = db.execute(text("SELECT reltuples FROM pg_class WHERE oid = 'products'::regclass")).scalar()
        if known is None or known < rows_written:
            db.execute(text("SET LOCAL lock_timeout = '1s'"))  # being analyzed elsewhere: leave it to them
            db.execute(text("ANALYZE products, product_barcodes"))
        db.commit()
    except Exception:  # noqa: BLE001 - statistics are an optimisation; the import is already committed
        db.rollback()


_COLUMNS = ("name", "brand", "unit", "price", "cost", "tax_rate", "spec", "sold_by_weight", "status",
            "low_stock_threshold")
_UPDATE_COLUMN = {"tax_rate": "tax_rate_bp"}
_INSERT_PRODUCTS = insert(_P)
_UPDATE_PRODUCT = update(_P).where(_P.c.tenant_id == bindparam("b_tenant"), _P.c.id == bindparam("b_id"))
_INSERT_CODES = insert(_B)
PriceChange = tuple[uuid.UUID, str, dict[str, int], dict[str, int]]  # product id, label, before, after


def _write_batch(db: Session, tid: uuid.UUID, rows: list[tuple[int, dict[str, Any]]],
                 cat_index: dict[tuple[str, ...], uuid.UUID], now: Any,
                 after_new_products: list[Callable[[Session], None]]) -> list[PriceChange]:
    """Write one batch with Core bulk statements (no ORM objects); returns its price changes.
    `after_new_products`: run (and removed) once products were inserted, before their barcodes."""
    if not rows:
        return []
    conn = db.connection()
    existing = {p.sku: p for p in conn.execute(_EXISTING.where(
        _P.c.tenant_id == tid, _P.c.sku.in_([vals["sku"] for _, vals in rows])))}
    new_products: list[dict[str, Any]] = []
    new_codes: list[dict[str, Any]] = []
    updates: dict[tuple[str, ...], list[dict[str, Any]]] = {}  # changed columns → rows
    replace_codes: list[uuid.UUID] = []
    price_changes: list[PriceChange] = []
    for _, vals in rows:
        old = existing.get(vals["sku"])
        cat = cat_index.get(tuple(p.lower() for p in vals["category"])) if "category" in vals else None
        if old is None:
            pid = uuid7()
            codes = vals.get("barcodes", [])
            name = vals["name"]
            new_products.append({
                "tenant_id": tid, "id": pid, "sku": vals["sku"], "name": name, "category_id": cat,
                "brand": vals.get("brand", ""), "unit": vals.get("unit", ""), "price": vals["price"],
                "cost": vals.get("cost", 0), "tax_rate_bp": vals.get("tax_rate", 0), "spec": vals.get("spec", ""),
                "sold_by_weight": vals.get("sold_by_weight", False), "status": vals.get("status", "listed"),
                "low_stock_threshold": vals.get("low_stock_threshold"), "barcodes": codes,
                "search_text": domain.search_text(name, vals["sku"], vals.get("brand", ""), codes),
                "version": 1, "created_at": now, "updated_at": now})
            new_codes.extend({"tenant_id": tid, "code": c, "product_id": pid, "position": i}
                             for i, c in enumerate(codes))
            continue
        old_codes = list(old.barcodes or [])
        cur = {"name": old.name, "brand": old.brand, "unit": old.unit, "price": old.price, "cost": old.cost,
               "tax_rate": old.tax_rate_bp, "spec": old.spec, "sold_by_weight": old.sold_by_weight,
               "status": old.status, "low_stock_threshold": old.low_stock_threshold}
        new = {**cur, **{k: vals[k] for k in _COLUMNS if k in vals}}
        new_cat = cat if "category" in vals else old.category_id
        codes = vals.get("barcodes", old_codes)
        if new == cur and new_cat == old.category_id and codes == old_codes:
            continue
        if (new["price"], new["cost"]) != (old.price, old.cost):
            before = {k: cur[k] for k in ("price", "cost") if cur[k] != new[k]}
            price_changes.append((old.id, f"{old.sku} {new['name']}", before, {k: new[k] for k in before}))
        # only the columns that change: a price list updates two columns, not the barcodes and search text
        change = {_UPDATE_COLUMN.get(k, k): new[k] for k in _COLUMNS if new[k] != cur[k]}
        if new_cat != old.category_id:
            change["category_id"] = new_cat
        if codes != old_codes:
            change["barcodes"] = codes
        if (new["name"], new["brand"], codes) != (old.name, old.brand, old_codes):
            change["search_text"] = domain.search_text(new["name"], old.sku, new["brand"], codes)
        updates.setdefault(tuple(change), []).append(
            {"b_tenant": tid, "b_id": old.id, **change, "version": old.version + 1, "updated_at": now})
        if codes != old_codes:
            replace_codes.append(old.id)
            new_codes.extend({"tenant_id": tid, "code": c, "product_id": old.id, "position": i}
                             for i, c in enumerate(codes))
    if new_products:
        conn.execute(_INSERT_PRODUCTS, new_products)  # executemany: one prepared statement, no ORM bookkeeping
        while after_new_products:
            after_new_products.pop()(db)
    for same_columns in updates.values():  # executemany needs the same columns in every row
        conn.execute(_UPDATE_PRODUCT, same_columns)
    for i in range(0, len(replace_codes), 500):
        conn.execute(delete(ProductBarcode).where(ProductBarcode.tenant_id == tid,
                                                  ProductBarcode.product_id.in_(replace_codes[i:i + 500])))
    if new_codes:
        conn.execute(_INSERT_CODES, new_codes)
    return price_changes


# --- the use case -----------------------------------------------------------------------------

def run(db: Session, actor: Actor, path: Path, opts: Options, filename: str = "",
        progress: Progress | None = None) -> ImportResult:
    """Validate, then (unless a dry run, or errors without skip_invalid) write in one transaction."""
    actor.require("catalog.import")
    v = validate(db, actor, path, opts, progress)
    try:
        r = v.result
        if opts.dry_run or (r.error_count and not opts.skip_invalid):
            db.rollback()
            return r
        if r.created or r.updated or r.categories_created:
            v.digest = file_digest(path)
            try:
                write(db, actor, v, filename or path.name, progress)
                db.commit()
            except BaseException:
                db.rollback()
                raise
            refresh_statistics(db, r.created + r.updated)
            from cloudpos.catalog.service import changed

            changed(actor.tenant_id)
        r.written = True
        return r
    finally:
        v.spool.unlink(missing_ok=True)


# --- background jobs --------------------------------------------------------------------------

_live: dict[uuid.UUID, tuple[str, int]] = {}  # job id → (phase, rows done), for this process's jobs


def _job_out(job: ImportJob) -> ImportJobOut:
    phase, done = job.phase, job.processed_rows
    if job.status == "running" and job.id in _live:
        phase, done = _live[job.id]
    total = max(job.total_rows, 1)
    if job.status == "done":
        pct = 100
    elif phase == "writing":
        pct = 50 + min(49, done * 50 // total)
    else:
        pct = min(49, done * 50 // total)
    result = ImportResult.model_validate(job.result) if job.result else None
    return ImportJobOut(job_id=job.id, status=job.status, phase=phase, filename=job.filename,  # type: ignore[arg-type]
                        total_rows=job.total_rows, processed_rows=done, progress=pct,
                        dry_run=bool(job.options.get("dry_run")),
                        skip_invalid=bool(job.options.get("skip_invalid")), result=result, error=job.error,
                        created_at=job.created_at, finished_at=job.finished_at)


def get_job(db: Session, actor: Actor, job_id: uuid.UUID) -> ImportJobOut:
    actor.require("catalog.import")
    job = db.get(ImportJob, (actor.tenant_id, job_id))
    if job is None:
        raise NotFound(N_("Import job not found."))
    return _job_out(job)


def estimate_rows(path: Path) -> int:
    """A cheap estimate for the progress bar: the sheet's dimension, else the file size."""
    return max(1, path.stat().st_size // 50)


def start_job(factory: sessionmaker[Session], db: Session, actor: Actor, path: Path, filename: str,
              opts: Options, keep_file: bool = False) -> ImportJobOut:
    """Check the file is a workbook (a clear 4xx now rather than a failed job), record the job and
    run it in a background thread."""
    try:
        xlsx.check_zip(path).close()
    except xlsx.NotXlsx as e:
        path.unlink(missing_ok=True)
        raise NotAWorkbook(str(e)) from None
    except xlsx.UnsafeFile as e:
        path.unlink(missing_ok=True)
        raise UnsafeUpload(str(e)) from None
    options: dict[str, Any] = opts.__dict__.copy()
    if keep_file:
        options["file"] = path.name  # kept in var/imports for the confirmation (a dry run from the web page)
    job = ImportJob(tenant_id=actor.tenant_id, filename=filename[:200], options=options,
                    total_rows=estimate_rows(path), created_by=actor.employee_id,
                    created_by_name=actor.display_name[:60])
    db.add(job)
    db.flush()
    audit.record(db, actor, "catalog.import.start", target_type="import", target_id=job.id,
                 target_label=filename[:200], details=opts.__dict__.copy())
    db.commit()
    out = _job_out(job)
    from cloudpos.i18n import current_locale

    threading.Thread(target=_run_job, args=(factory, actor, job.id, path, filename, opts, current_locale.get(),
                                            keep_file), daemon=True,
                     name=f"import-{job.id}").start()
    return out


def _set_job(factory: sessionmaker[Session], tenant_id: uuid.UUID, job_id: uuid.UUID, **values: Any) -> None:
    s = factory()
    s.info["tenant_id"] = tenant_id
    try:
        s.execute(update(ImportJob).where(ImportJob.tenant_id == tenant_id, ImportJob.id == job_id).values(**values))
        s.commit()
    finally:
        s.close()


def _run_job(factory: sessionmaker[Session], actor: Actor, job_id: uuid.UUID, path: Path, filename: str,
             opts: Options, locale: str, keep_file: bool = False) -> None:
    from cloudpos.i18n import current_locale
    from cloudpos.web.problems import problem_body

    current_locale.set(locale)  # a new thread starts with the default context
    tid = actor.tenant_id
    sqlite = factory.kw["bind"].dialect.name == "sqlite"
    _set_job(factory, tid, job_id, status="running", phase="validating")
    last = [0]

    def progress(phase: str, done: int) -> None:
        _live[job_id] = (phase, done)
        # On SQLite the write phase holds the database lock: progress stays in memory until commit.
        if (phase == "validating" or not sqlite) and (done - last[0] >= 5 * BATCH or phase == "writing"
                                                      and last[0] == 0):
            last[0] = done
            _set_job(factory, tid, job_id, phase=phase, processed_rows=done)

    db = factory()
    db.info["tenant_id"] = tid
    confirmable = False
    try:
        result = run(db, actor, path, opts, filename, progress)
        # the checked file stays for the page's "Confirm import" only when there is something to confirm
        confirmable = bool((result.created or result.updated or result.categories_created)
                           and (opts.skip_invalid or not result.error_count))
        _set_job(factory, tid, job_id, status="done", phase="done", processed_rows=result.rows,
                 total_rows=max(result.rows, 1), result=result.model_dump(mode="json"), finished_at=clock.now())
    except Problem as p:
        body = problem_body(p, current_locale.get())
        errors = [RowError(row=0, column=e["field"], message=e["message"]) for e in body["errors"]]
        res = ImportResult(dry_run=opts.dry_run, errors=errors, error_count=len(errors))
        _set_job(factory, tid, job_id, status="failed", phase="done", error=body["detail"][:500],
                 result=res.model_dump(mode="json"), finished_at=clock.now())
    except Exception as exc:  # noqa: BLE001 - a job must always end in a readable state
        import structlog

        structlog.get_logger("cloudpos").exception("import job failed", job_id=str(job_id))
        _set_job(factory, tid, job_id, status="failed", phase="done",
                 error=gettext(N_("The import failed unexpectedly; nothing was written.")) + f" ({type(exc).__name__})",
                 finished_at=clock.now())
    finally:
        db.close()
        _live.pop(job_id, None)
        if not (keep_file and confirmable):
            path.unlink(missing_ok=True)


def confirm_job(factory: sessionmaker[Session], db: Session, actor: Actor, var_dir: Path,
                job_id: uuid.UUID) -> ImportJobOut:
    """Write the file a finished dry run checked (the web page's "Confirm import")."""
    actor.require("catalog.import")
    job = db.get(ImportJob, (actor.tenant_id, job_id))
    if job is None:
        raise NotFound(N_("Import job not found."))
    name = str(job.options.get("file") or "")
    folder = Path(var_dir) / "imports"
    path = folder / name if name and "/" not in name and name.endswith(".xlsx") else None
    if job.status != "done" or not job.options.get("dry_run") or path is None or not path.is_file():
        raise Conflict(N_("This check can no longer be imported: upload the file again."), code="import_expired")
    r = ImportResult.model_validate(job.result or {})
    if r.error_count and not job.options.get("skip_invalid"):
        raise Conflict(N_("Fix the errors in the file first, or choose to skip invalid rows."), code="import_invalid")
    job.options = {**job.options, "file": ""}
    db.commit()
    opts = Options(dry_run=False, skip_invalid=bool(job.options.get("skip_invalid")),
                   create_categories=bool(job.options.get("create_categories")))
    return start_job(factory, db, actor, path, job.filename, opts)
