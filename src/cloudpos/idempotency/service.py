"""Idempotent creation (DESIGN §5): a POST with an `Idempotency-Key` header.

`claim` runs inside the use case's transaction, before it writes anything:
- a new key is inserted (on PostgreSQL a concurrent retry with the same key waits on the
  primary key until the first transaction ends);
- the same key with the same body → `Replay` carrying the first response (no new write);
- the same key with another body → 409.
The use case then stores its response with `remember`, in the same transaction, so the key
and the document it created commit together — or neither does.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from cloudpos import clock
from cloudpos.composed import Tail
from cloudpos.errors import Conflict, FieldError, Invalid
from cloudpos.fastread import Statement
from cloudpos.i18n import N_
from cloudpos.idempotency.models import IdempotencyKey

MAX_KEY = 100


@dataclass(frozen=True)
class Replay(Exception):
    status_code: int
    response: dict[str, Any]


def request_hash(body: Any) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def check_key(key: str | None) -> str | None:
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > MAX_KEY or not key.isprintable():
        raise Invalid(errors=[FieldError("Idempotency-Key", N_("1 to %(n)s printable characters."), {"n": MAX_KEY},
                                         "invalid")])
    return key


_KEYS = IdempotencyKey.__table__
_WHERE = (_KEYS.c.tenant_id == bindparam("k_tenant"), _KEYS.c.scope == bindparam("k_scope"),
          _KEYS.c.key == bindparam("k_key"))
# Built once (every sale runs these): the claim per dialect, the stored response as one UPDATE.
_CLAIM = {name: Statement(  # cloudpos.fastread: every sale claims one
    ins(_KEYS).values(tenant_id=bindparam("k_tenant"), scope=bindparam("k_scope"), key=bindparam("k_key"),
                      request_hash=bindparam("k_hash"), status_code=0, response={}, created_at=bindparam("k_at"))
    .on_conflict_do_nothing(index_elements=["tenant_id", "scope", "key"])
    .returning(_KEYS.c.key))  # rowcount is not reliable for ON CONFLICT on every driver
    for name, ins in (("postgresql", pg_insert), ("sqlite", sqlite_insert))}
_REMEMBER = update(_KEYS).where(*_WHERE).values(status_code=bindparam("k_status"), response=bindparam("k_response"))


def claim(db: Session, tenant_id: uuid.UUID, scope: str, key: str, body: Any) -> None:
    """Reserve the key for this transaction, or raise Replay / Conflict."""
    digest = request_hash(body)
    conn = db.connection()
    inserted = _CLAIM[conn.dialect.name].run(conn, {"k_tenant": tenant_id, "k_scope": scope, "k_key": key,
                                                        "k_hash": digest, "k_at": clock.now()})
    if inserted:
        return
    row = db.scalar(select(IdempotencyKey).where(IdempotencyKey.tenant_id == tenant_id,
                                                 IdempotencyKey.scope == scope, IdempotencyKey.key == key))
    if row is None or row.request_hash != digest:
        raise Conflict(N_("This Idempotency-Key was already used with a different request."),
                       code="idempotency_key_reused")
    if row.status_code == 0:
        raise Conflict(N_("The first request with this Idempotency-Key is still being processed."),
                       code="idempotency_in_progress")
    raise Replay(row.status_code, row.response)


def remember(db: Session, tenant_id: uuid.UUID, scope: str, key: str, status_code: int,
             response: dict[str, Any]) -> None:
    db.connection().execute(_REMEMBER, {"k_tenant": tenant_id, "k_scope": scope, "k_key": key,
                                        "k_status": status_code,
                                        "k_response": json.loads(json.dumps(response, default=str))})


# As a tail of a sales document's numbering statement (cloudpos.composed): the response is sent in two
# pieces around its receipt number, which the statement puts in.
_REMEMBER_TAIL = """, idem_done AS (
    UPDATE idempotency_keys SET status_code = CAST(:k_status AS integer),
                                response = CAST(:k_r0 || (SELECT rno FROM link) || :k_r1 AS json)
    WHERE tenant_id = CAST(:k_tenant AS uuid) AND scope = CAST(:k_scope AS varchar) AND key = CAST(:k_key AS varchar)
      AND EXISTS (SELECT 1 FROM link))"""


def remember_tail(db: Session, tenant_id: uuid.UUID, scope: str, key: str, status_code: int,
                  response: dict[str, Any], number_field: str = "receipt_no") -> Tail:
    """`remember` for a response made before its document's receipt number (`response[number_field]`) is
    taken: on PostgreSQL it rides in the numbering statement, which puts the number in. The caller puts it
    in its own copy of the response."""

    def alone(receipt_no: str) -> None:
        remember(db, tenant_id, scope, key, status_code, {**response, number_field: receipt_no})

    if db.get_bind().dialect.name != "postgresql":
        return Tail("idempotency", alone)
    mark = secrets.token_hex(12)  # random: no text of the response can look like it
    before, after = json.dumps({**response, number_field: mark}, default=str, ensure_ascii=False).split(mark, 1)
    return Tail("idempotency", alone, _REMEMBER_TAIL, None,
                {"k_tenant": tenant_id, "k_scope": scope, "k_key": key, "k_status": status_code, "k_r0": before,
                 "k_r1": after})
