"""How fast this machine is right now. The development machine's speed moves by up to 2× within minutes
(shared host): the same query took 0.17 ms in one run and 0.34 ms in the next. Each benchmark prints this
next to its figures, so runs can be compared."""

from __future__ import annotations

import os
import time


def speed() -> str:
    started = time.perf_counter()
    total = 0
    for i in range(5_000_000):
        total += i
    took = time.perf_counter() - started
    load = "/".join(f"{x:.2f}" for x in os.getloadavg())
    return f"machine speed: a fixed 5M-step Python loop took {took:.2f} s (lower is faster); load {load}"
