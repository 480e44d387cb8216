"""The hash chain: canonical JSON of an event and the link rule. Pure."""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64


def _default(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return iso(value)
    raise TypeError(f"not JSON-serialisable in the audit chain: {type(value).__name__}")


def iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_json(payload: dict[str, Any]) -> str:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_default)


def link_hash(prev_hash: str, payload: dict[str, Any]) -> str:
    return hashlib.sha256((prev_hash + canonical_json(payload)).encode("utf-8")).hexdigest()


def cut_at(payload: dict[str, Any], holes: dict[str, type]) -> list[str]:
    """The payload's canonical JSON cut where the values of the top-level keys `holes` go (str or int), for
    a database that fills them in while it hashes the link (the number and the previous hash are only known
    once the chain head is locked). Returns len(holes) + 1 pieces; the value of the i-th hole, in sorted key
    order, goes between piece i and piece i + 1 (a str value unquoted: the pieces carry the quotes).
    Placeholders are random, so no text in the payload can look like one."""
    mark = secrets.token_hex(8)
    marks = {key: f"h{mark}{i}" if kind is str else 7_000_000_000_000_000_000 + int(mark[:8], 16) * 16 + i
             for i, (key, kind) in enumerate(sorted(holes.items()))}
    rest = canonical_json({**payload, **marks})
    pieces = []
    for key in sorted(holes):
        quote = '"' if isinstance(marks[key], str) else ""
        before, rest = rest.split(f'"{key}":{quote}{marks[key]}{quote}', 1)
        pieces.append(f'{before}"{key}":{quote}')
        rest = quote + rest
    return [*pieces, rest]


def normalize(value: Any) -> Any:
    """What a JSON column gives back: make before/after summaries JSON-plain before hashing."""
    return json.loads(canonical_json(value)) if value is not None else None


@dataclass(frozen=True)
class Link:
    seq: int
    prev_hash: str
    hash: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class Break:
    seq: int
    reason: str


def verify(links: Iterable[Link], head_seq: int, head_hash: str) -> Break | None:
    """The first broken link of a chain, or None when it is intact.

    Catches an edited event (hash mismatch), a deleted one (gap, or head beyond the last
    event), a reordered or re-linked one (prev_hash not the previous hash).
    """
    expected_seq, prev = 1, GENESIS
    for link in links:
        if link.seq != expected_seq:
            return Break(expected_seq, "missing" if link.seq > expected_seq else "duplicate")
        if link.prev_hash != prev:
            return Break(link.seq, "prev_hash does not match the previous event")
        if link_hash(prev, link.payload) != link.hash:
            return Break(link.seq, "content does not match its hash (edited)")
        prev, expected_seq = link.hash, expected_seq + 1
    if head_seq != expected_seq - 1:
        return Break(expected_seq, "missing (the chain head is further on)")
    if head_seq and head_hash != prev:
        return Break(head_seq, "last hash does not match the chain head")
    return None
