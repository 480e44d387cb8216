"""The PostgreSQL one-statement stock move lists the movement columns by hand: it must name every column of
stock_movements, or a new column would silently take its default on sales and its value elsewhere."""

import re

from cloudpos.inventory.ledger import _MOVE_ALL_PG
from cloudpos.inventory.models import StockMovement


def test_one_statement_move_writes_every_movement_column() -> None:
    listed = re.search(r"INSERT INTO stock_movements \(([^)]*)\)", _MOVE_ALL_PG.text).group(1)
    assert sorted(c.strip() for c in listed.split(",")) == sorted(c.name for c in StockMovement.__table__.columns)
