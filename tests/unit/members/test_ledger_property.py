"""Property: over any sequence of earn / redeem / adjust / reverse operations, the cached balance equals the
ledger sum and never goes negative except through a refund reversal (the rule the services apply)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from cloudpos.members import domain

OPS = st.lists(st.tuples(st.sampled_from(["earn", "redeem", "adjust", "reverse", "expire"]),
                         st.integers(-5_000, 5_000)), max_size=60)


class Ledger:
    """The services' rule: debits are guarded by `balance + delta >= 0`, except refund reversals."""

    def __init__(self) -> None:
        self.balance = 0
        self.entries: list[int] = []

    def apply(self, delta: int, allow_negative: bool = False) -> bool:
        if delta < 0 and not allow_negative and self.balance + delta < 0:
            return False
        self.balance += delta
        self.entries.append(delta)
        return True


@given(OPS)
def test_balance_equals_ledger_sum(ops):
    ledger = Ledger()
    rule = domain.EarnRule()
    for kind, amount in ops:
        if kind == "earn":
            ledger.apply(domain.earn_points(abs(amount) * 100, rule))
        elif kind == "redeem":
            ledger.apply(-abs(amount))
        elif kind == "adjust":
            ledger.apply(amount)
        elif kind == "reverse":
            ledger.apply(-abs(amount) // 10, allow_negative=True)
        else:
            n = domain.points_to_expire({2024: sum(e for e in ledger.entries if e > 0)},
                                        -sum(e for e in ledger.entries if e < 0), 2024, ledger.balance)
            if n:
                ledger.apply(-n)
        assert ledger.balance == sum(ledger.entries)
    assert all(isinstance(e, int) for e in ledger.entries)
