"""Excel import at scale: a 100k-row .xlsx (13 columns, Chinese names, EAN-13 barcodes, a category
path per row), imported into a fresh SQLite or PostgreSQL database.

Four passes: a dry run, the real import, the same file again (nothing changes) and a file where
every price changed (100k updates, each audited with its before/after). Reports rows/s and peak
memory, measured two ways: tracemalloc's peak of Python allocations during the import (what the
importer holds), and the process's max RSS growth.
Memory must stay flat: the sheet is streamed row by row and written in batches.

Usage: .venv/bin/python bench/import_bench.py [--rows 100000] [--backend sqlite|postgresql] [--profile] [--trace]
"""

from __future__ import annotations

import argparse
import cProfile
import multiprocessing
import pstats
import random
import resource
import shutil
import sys
import tempfile
import time
import tracemalloc
import uuid
import warnings
from pathlib import Path

warnings.filterwarnings("ignore")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from _harness import unique_ean13  # noqa: E402

from cloudpos.catalog import domain  # noqa: E402

CATS = ["食品/饮料/碳酸饮料", "食品/饮料/饮用水", "食品/休闲零食/膨化食品", "食品/粮油调味/调味品",
        "日用百货/家居清洁", "日用百货/个人护理", "酒水", "生鲜/水果"]
NAMES = ["可口可乐", "农夫山泉饮用天然水", "乐事原味薯片", "海天金标生抽", "立白洗衣液", "高露洁牙膏", "青岛啤酒",
         "红富士苹果"]


def make_xlsx(path: Path, rows: int, price_shift: int = 0) -> float:
    """Written as raw SpreadsheetML (shared strings like Excel writes them): openpyxl's writer needs
    ~30 s for 100k rows here, and the file is only the benchmark's input."""
    import zipfile
    from xml.sax.saxutils import escape

    started = time.perf_counter()
    rng = random.Random(3)
    strings: dict[str, int] = {}

    def s(value: str) -> str:
        idx = strings.setdefault(value, len(strings))
        return f'<c t="s"><v>{idx}</v></c>'

    head = list(domain.HEADERS_ZH[f] for f in domain.FIELDS)
    seen: set[str] = set()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        with z.open("xl/worksheets/sheet1.xml", "w") as fh:
            fh.write(b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="http://schemas.'
                     b'openxmlformats.org/spreadsheetml/2006/main"><sheetData>')
            fh.write(("<row r=\"1\">" + "".join(s(h) for h in head) + "</row>").encode())
            for i in range(rows):
                code = unique_ean13(rng, seen)
                k = i % len(NAMES)
                cells = [s(f"S{i:07d}"), s(code), s(f"{NAMES[k]} {i}号"), s(CATS[k]), s(NAMES[k][:2]), s("件"),
                         f"<c><v>{(rng.randrange(100, 9999) + price_shift) / 100}</v></c>",
                         f"<c><v>{rng.randrange(50, 99)}</v></c>",
                         "<c><v>13</v></c>", s("500ml"), s("否"), s("上架"), "<c><v>10</v></c>"]
                fh.write(f'<row r="{i + 2}">{"".join(cells)}</row>'.encode())
            fh.write(b"</sheetData></worksheet>")
        sst = "".join(f"<si><t>{escape(v)}</t></si>" for v in strings)
        z.writestr("xl/sharedStrings.xml", '<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.'
                   f'openxmlformats.org/spreadsheetml/2006/main" count="{len(strings)}">{sst}</sst>')
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/'
                   'package/2006/content-types"/>')
        z.writestr("xl/workbook.xml", '<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/'
                   'spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/'
                   'relationships"><sheets><sheet name="商品" sheetId="1" r:id="rId1"/></sheets></workbook>')
        z.writestr("xl/_rels/workbook.xml.rels", '<?xml version="1.0"?><Relationships xmlns="http://schemas.'
                   'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Target="worksheets/'
                   'sheet1.xml" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
                   'worksheet"/></Relationships>')
    return time.perf_counter() - started


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--backend", default="sqlite", choices=["sqlite", "postgresql"])
    ap.add_argument("--trace", action="store_true", help="also run a dry run under tracemalloc (slower)")
    ap.add_argument("--keep", action="store_true", help="keep the files and the database afterwards")
    ap.add_argument("--profile", action="store_true", help="print each pass's top functions (cProfile; slower)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="cloudpos-import-bench-"))
    try:
        run(args, tmp)
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
            if args.backend == "postgresql":
                drop_pg_database()


def pg_admin_url() -> str:
    from dbs import pg_base_url

    return pg_base_url().replace("postgresql+psycopg://", "postgresql://").rsplit("/", 1)[0]


def drop_pg_database() -> None:
    import psycopg

    with psycopg.connect(pg_admin_url() + "/postgres", autocommit=True) as conn:
        conn.execute('DROP DATABASE IF EXISTS "cloudpos_bench_import" WITH (FORCE)')


def run(args: argparse.Namespace, tmp: Path) -> None:
    from fastapi.testclient import TestClient

    from cloudpos.app import create_app
    from cloudpos.auth import sessions
    from cloudpos.catalog import importing
    from cloudpos.config import Settings
    from cloudpos.migrate import upgrade

    xlsx, repriced = tmp / "products.xlsx", tmp / "repriced.xlsx"
    # generated in child processes, so this process's peak RSS is the importer's alone
    for path, shift in ((xlsx, 0), (repriced, 1)):
        child = multiprocessing.get_context("spawn").Process(target=make_xlsx, args=(path, args.rows, shift))
        child.start()
        child.join()
    print(f"generated {args.rows} rows: {xlsx.stat().st_size / 1e6:.1f} MB xlsx")
    if args.backend == "sqlite":
        url = f"sqlite:///{tmp / 'bench.db'}"
    else:
        import psycopg

        drop_pg_database()
        with psycopg.connect(pg_admin_url() + "/postgres", autocommit=True) as conn:
            conn.execute('CREATE DATABASE "cloudpos_bench_import"')
        url = pg_admin_url() + "/cloudpos_bench_import"
    upgrade(Settings(database_url=url).db_url)
    app = create_app(Settings(database_url=url, var_dir=tmp / "var", log_json=False))
    client = TestClient(app)
    out = client.post("/api/v1/signup", json={
        "merchant_name": "压测超市", "store_name": "一号店", "address": "上海", "phone": "021-1",
        "owner_username": "owner", "owner_password": "Owner-pass-1",
        "merchant_code": f"b{uuid.uuid4().hex[:8]}"}).json()
    token = client.post("/api/v1/auth/login", json={"merchant_code": out["merchant_code"], "username": "owner",
                                                    "password": "Owner-pass-1"}).json()["access_token"]
    tenant_id = uuid.UUID(out["tenant_id"])
    s = app.state.sessionmaker()
    s.info["tenant_id"] = tenant_id
    actor = sessions.authenticate(s, token)
    s.close()
    write = importing.Options(dry_run=False, create_categories=True)
    for label, opts, path in (("dry run", importing.Options(dry_run=True, create_categories=True), xlsx),
                              ("import (writes)", write, xlsx),
                              ("re-import, unchanged", write, xlsx),
                              ("re-import, every price +1 fen", write, repriced)):
        db = app.state.sessionmaker()
        db.info["tenant_id"] = tenant_id
        rss_before = rss_mb()
        t0 = time.perf_counter()
        cpu0 = time.process_time()
        prof = cProfile.Profile() if args.profile else None
        if prof:
            prof.enable()
        r = importing.run(db, actor, path, opts, path.name)
        elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        if prof:
            prof.disable()
            pstats.Stats(prof).sort_stats("cumulative").print_stats(r"cloudpos", 15)
        db.close()
        print(f"{label:<30} {elapsed:6.1f} s (cpu {cpu:5.1f} s)  {args.rows / elapsed:8.0f} rows/s  "
              f"created={r.created} updated={r.updated} unchanged={r.unchanged} errors={r.error_count}  "
              f"max RSS {rss_before:.0f} -> {rss_mb():.0f} MB")
    if args.trace:
        db = app.state.sessionmaker()
        db.info["tenant_id"] = tenant_id
        tracemalloc.start()
        importing.run(db, actor, xlsx, importing.Options(dry_run=True), "products.xlsx")
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        db.close()
        print(f"tracemalloc peak of Python allocations during a dry run: {peak / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
