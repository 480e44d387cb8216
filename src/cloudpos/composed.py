"""Writes that ride in the statement numbering a sales document (PostgreSQL).

From the moment a store's next receipt number is taken to COMMIT, the store's receipt chain head
is locked: every other till of the store waits. Each round trip in that stretch is time all of them
wait, so the writes that need the new number (the stock movements noting it, the stored response
of the Idempotency-Key) are not sent after it: each is a `Tail`, a few CTEs that the numbering
statement (`sales.chain.append_pg`) runs with it. Their SQL may read the number as
`(SELECT rno FROM link)` and must do nothing when `link` is empty (the statement then writes
nothing and is run again once the chain head exists). Locks keep the order they have elsewhere:
the receipt chain head first (a tail waits for `link`), then the tails in the order given; a tail
whose locks must come after the earlier tails' puts `{earlier}` in its lock's condition, which
becomes their `barrier`s (true once they ran).

Where the number is not taken in one statement (SQLite; documents whose payments are made after
the number) a tail runs on its own after numbering instead, given the number: `alone(receipt_no)`;
so does a tail that cannot ride (`ctes` None), and, to keep the lock order, every tail after it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# psycopg caches how it parsed a statement only up to 4096 characters and 50 parameters; above, every
# execution parses it again. The composed statement is long, so it is sent without needless blanks.
_BLANKS = re.compile(r"\s+")
_AROUND = re.compile(r" ?([(),=|]) ?")


def compact(sql: str) -> str:
    """The statement without blanks that carry no meaning (our SQL has no blanks inside its literals, and no
    `--` comments: on one line they would swallow the rest)."""
    return _AROUND.sub(r"\1", _BLANKS.sub(" ", sql)).strip()


@dataclass
class Tail:
    key: str  # names the tail in the cached composed statement; its CTE and parameter names are its own
    alone: Callable[[str], None]  # run it by itself, given the document's receipt number
    ctes: str | None = None  # ", name AS (...)" to append to the numbering statement; None: cannot ride
    result: str | None = None  # a scalar SQL expression over its CTEs, handed to `done`
    params: dict[str, Any] = field(default_factory=dict)
    done: Callable[[Any, str], None] | None = None  # given `result`'s value and the receipt number, afterwards
    barrier: str | None = None  # a condition over its CTEs, true once they ran (see `{earlier}`)
