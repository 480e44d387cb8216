"""The audit hash chain (cloudpos.audit.domain): canonical JSON, link hashes, and `verify` naming the
first broken link. Pure: no database."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime, timedelta, timezone

from cloudpos.audit.domain import GENESIS, Link, canonical_json, cut_at, link_hash, normalize, verify


def chain(n: int) -> list[Link]:
    links, prev = [], GENESIS
    for seq in range(1, n + 1):
        payload = {"seq": seq, "action": "employee.update", "summary": {"after": {"display_name": f"名字 {seq}"}},
                   "prev_hash": prev}
        h = link_hash(prev, payload)
        links.append(Link(seq, prev, h, payload))
        prev = h
    return links


def test_canonical_json_is_stable_and_compact():
    a = {"b": 1, "a": {"y": [1, 2], "x": "中文"}, "t": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)}
    shanghai = timezone(timedelta(hours=8))
    b = {"t": datetime(2026, 1, 2, 11, 4, 5, tzinfo=shanghai), "a": {"x": "中文", "y": [1, 2]}, "b": 1}
    assert canonical_json(a) == canonical_json(b)
    assert canonical_json(a) == '{"a":{"x":"中文","y":[1,2]},"b":1,"t":"2026-01-02T03:04:05.000000Z"}'
    u = uuid.uuid4()
    assert canonical_json({"id": u}) == json.dumps({"id": str(u)}, separators=(",", ":"))
    assert normalize({"id": u, "n": None}) == {"id": str(u), "n": None}


def test_link_hash_is_sha256_of_prev_hash_and_canonical_json():
    payload = {"seq": 1, "action": "x"}
    expected = hashlib.sha256((GENESIS + canonical_json(payload)).encode()).hexdigest()
    assert link_hash(GENESIS, payload) == expected
    assert link_hash("1" * 64, payload) != expected


def test_an_intact_chain_verifies():
    links = chain(6)
    assert verify(links, 6, links[-1].hash) is None
    assert verify([], 0, GENESIS) is None


def test_an_edited_event_is_named():
    links = chain(6)
    edited = {**links[2].payload, "summary": {"after": {"display_name": "forged"}}}
    links[2] = Link(3, links[2].prev_hash, links[2].hash, edited)
    b = verify(links, 6, links[-1].hash)
    assert b.seq == 3 and "edited" in b.reason


def test_an_edit_with_a_recomputed_hash_breaks_the_next_link():
    links = chain(6)
    edited = {**links[2].payload, "action": "forged"}
    links[2] = Link(3, links[2].prev_hash, link_hash(links[2].prev_hash, edited), edited)
    assert verify(links, 6, links[-1].hash).seq == 4


def test_a_deleted_event_is_named():
    links = chain(6)
    del links[3]
    b = verify(links, 6, chain(6)[-1].hash)
    assert b.seq == 4 and b.reason == "missing"


def test_deleting_the_last_event_is_caught_by_the_head():
    links = chain(6)
    assert verify(links[:-1], 6, links[-1].hash).seq == 6


def test_reordered_events_are_named():
    links = chain(6)
    a, b = links[2], links[3]
    links[2], links[3] = Link(3, b.prev_hash, b.hash, b.payload), Link(4, a.prev_hash, a.hash, a.payload)
    assert verify(links, 6, links[-1].hash).seq == 3


def test_a_duplicate_and_a_wrong_head_are_named():
    links = chain(4)
    assert verify(links[:3] + [links[2]], 4, links[-1].hash).seq == 4
    assert verify(links, 4, "f" * 64).seq == 4


def test_cut_at_pieces_put_back_together_are_the_canonical_json() -> None:
    """What PostgreSQL hashes (pieces with the number and hashes filled in) is exactly what Python hashes."""
    payload = {"id": "x", "note": '引号 "prev_hash":"p" 和 \\ 反斜杠', "lines": [[1, "a", 1000]], "zzz": None}
    full = {**payload, "prev_hash": "ab" * 32, "receipt_no": "S01-20261127-1000000", "receipt_seq": 1_000_000}
    a, b, c, d = cut_at(payload, {"receipt_seq": int, "prev_hash": str, "receipt_no": str})
    assert a + "ab" * 32 + b + "S01-20261127-1000000" + c + "1000000" + d == canonical_json(full)


def test_an_events_pieces_written_out_are_what_cut_at_gives_and_hash_alike():
    """audit.service writes an event's canonical JSON pieces out by hand (the hot path of every audited
    write); they must be exactly cut_at's, for any text in the event, or the database's hash would not
    verify."""
    from types import SimpleNamespace

    from cloudpos.audit.service import _cut, _payload

    texts = ["", "plain", "可口可乐 330ml", 'quote " and \\ backslash', "tab\tnew\nline\x00nul\x1f", "emoji 🧾",
             "\u2028sep", "</script>"]
    for i, t in enumerate(texts):
        optional = uuid.uuid4() if i % 2 else None
        row = {"tenant_id": uuid.uuid4(), "id": uuid.uuid4(), "seq": 0,
               "occurred_at": datetime(2026, 11, 27, 8, 9, 10, 123456 * (i % 2), tzinfo=UTC),
               "actor_id": optional, "actor_name": t, "store_id": optional,
               "terminal_id": None if i % 3 else uuid.uuid4(),
               "ip": "127.0.0.1" if i else "", "action": f"x.{t}", "target_type": t, "target_id": t[:5],
               "target_label": t * 2, "summary": normalize({"before": {"name": t}, "after": {"名": [t, 1, None]}}),
               "result": "ok", "prev_hash": ""}
        pieces = _cut(row, canonical_json(row["summary"]))
        assert pieces == cut_at(_payload(SimpleNamespace(**row)), {"prev_hash": str, "seq": int})
        prev, seq = hashlib.sha256(t.encode()).hexdigest(), 40 + i
        full = {**_payload(SimpleNamespace(**row)), "prev_hash": prev, "seq": seq}
        assert hashlib.sha256((prev + pieces[0] + prev + pieces[1] + str(seq) + pieces[2]).encode()).hexdigest() \
            == link_hash(prev, full)
