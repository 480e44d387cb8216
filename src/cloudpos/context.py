"""Who is calling: the authenticated employee, their tenant, effective permissions and store scope.

Built once per request by the auth dependency from the employee's *current* role and overrides,
so a change of role takes effect on the next request. Services receive it as `actor`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from cloudpos.errors import Forbidden, NotFound


@dataclass(frozen=True)
class Actor:
    tenant_id: uuid.UUID
    employee_id: uuid.UUID | None
    username: str
    display_name: str
    role_code: str = ""
    permissions: frozenset[str] = frozenset()
    all_stores: bool = False
    store_ids: frozenset[uuid.UUID] = frozenset()
    is_owner: bool = False
    max_discount_bp: int = 0
    ip: str = ""
    terminal_id: uuid.UUID | None = None
    session_id: uuid.UUID | None = None
    request_id: str = ""
    extra: dict[str, str] = field(default_factory=dict, compare=False)

    def can(self, permission: str) -> bool:
        return permission in self.permissions

    def require(self, permission: str) -> None:
        if permission not in self.permissions:
            raise Forbidden(params={"permission": permission}, extra={"permission": permission})

    def sees_store(self, store_id: uuid.UUID) -> bool:
        return self.all_stores or store_id in self.store_ids

    def check_store(self, store_id: uuid.UUID) -> None:
        """A store outside the employee's scope does not exist for them (404, like another tenant's id)."""
        if not self.sees_store(store_id):
            raise NotFound("Store not found.")


def system_actor(tenant_id: uuid.UUID, name: str = "system") -> Actor:
    """For jobs and the CLI: acts with every permission, recorded in the audit log under `name`."""
    from cloudpos.auth.permissions import ALL

    return Actor(tenant_id=tenant_id, employee_id=None, username=name, display_name=name,
                 permissions=ALL, all_stores=True, role_code="system")
