"""Approval requests and manager overrides."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from cloudpos.schemas import StrictModel, Text


class ManagerOverride(StrictModel):
    """A manager's credentials typed at the terminal to authorize an operation on the spot."""

    username: Text(40, 1)
    password: str = Field(min_length=1, max_length=128)


class ApprovalOut(BaseModel):
    id: uuid.UUID
    operation: str
    operation_name: str
    summary: str
    payload: dict[str, Any]
    status: str
    requested_by_name: str
    requested_at: datetime
    decided_by_name: str
    decided_at: datetime | None
    note: str


class DecisionIn(StrictModel):
    note: Text(300) = ""


class OperationOut(BaseModel):
    code: str
    name: str
    permission: str
    required: bool
