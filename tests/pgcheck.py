"""Say loudly, before the suite runs, whether the PostgreSQL half of it will run."""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from dbs import pg_base_url, pg_reachable  # noqa: E402

url = pg_base_url()
if pg_reachable(url):
    print(f"PostgreSQL: testing against {url}")
else:
    bar = "!" * 72
    print(f"\n{bar}\n!! PostgreSQL is NOT reachable at {url}\n!! The PostgreSQL half of the suite "
          f"will be SKIPPED. Set CLOUDPOS_TEST_PG_URL or start the server.\n{bar}\n")
