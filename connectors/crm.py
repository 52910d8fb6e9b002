"""The shapes every CRM connector speaks, so the sync engine can stay CRM-neutral where it can.

A connector knows its CRM's API (batch caps, retries, escaping, limits) and nothing of
workflows or segments. It reports each record's outcome as a :class:`RecordResult` — never
by raising — and counts every HTTP call it makes in :class:`ApiCalls`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Literal

#: Seconds a connector may wait when a CRM answers ``Retry-After``; longer, the call is not
#: retried and its records fail ``rate_limited`` (the setting ``sync.max_retry_after_seconds``).
DEFAULT_MAX_RETRY_AFTER = 30.0

FieldKind = Literal["string", "textarea", "email", "url", "phone", "int", "number", "bool", "date", "datetime",
                    "picklist", "reference", "id", "other"]


@dataclass(frozen=True)
class FieldInfo:
    """What the CRM says about one field (Salesforce describe / HubSpot property)."""

    name: str
    kind: FieldKind
    length: int | None = None  # max characters for text kinds, when the CRM has one
    createable: bool = True
    updateable: bool = True
    required_on_create: bool = False
    options: tuple[str, ...] | None = None  # allowed values of a *restricted* picklist / enumeration
    # The first and last date / datetime the CRM stores, both inclusive (Salesforce: 1700-01-01 ..
    # 4000-12-31); None: no known limit.
    bounds: tuple[Any, Any] | None = None
    # A number's magnitude must stay below it (Salesforce: 10 ** digits of an int, 10 ** (precision
    # - scale) of a double or currency); None: no known limit.
    number_limit: int | None = None
    # Digits a number keeps after the point (Salesforce rounds half away from zero to its scale).
    scale: int | None = None
    unique: bool = False
    external_id: bool = False
    custom: bool = False


@dataclass(frozen=True)
class ObjectSchema:
    object_type: str
    fields: dict[str, FieldInfo]
    # What the running user may do on the object as a whole (Salesforce describe's object-level
    # ``queryable`` / ``createable`` / ``updateable``); HubSpot's scopes are read elsewhere.
    queryable: bool = True
    createable: bool = True
    updateable: bool = True

    def missing(self, names: list[str] | tuple[str, ...], *, for_write: bool = True) -> list[str]:
        """Names that do not exist (or exist but cannot be written) on this object."""
        out = []
        for n in names:
            f = self.fields.get(n)
            if f is None or (for_write and not (f.createable or f.updateable)):
                out.append(n)
        return out


Action = Literal["read", "create", "update", "describe", "define"]


@dataclass(frozen=True)
class ObjectAccess:
    """What the credentials may do on one CRM object: per action, the permissions they lack.

    Actions: ``read`` (query / batch read, needed to match records), ``create``, ``update``,
    ``describe`` (read the object's fields) and ``define`` (create fields / properties, what
    `writeback setup` needs). An action with nothing
    lacking is allowed. ``kind`` says what the names are: HubSpot ``scope`` names
    (``crm.objects.contacts.write``) or Salesforce object ``permission`` names (``Create on Lead``).
    """

    object_type: str
    kind: Literal["scope", "permission"]
    lacking: dict[str, tuple[str, ...]] = field(default_factory=dict)
    known: bool = True  # False: the CRM would not say (every action is then assumed allowed)

    def allows(self, action: Action) -> bool:
        return not self.lacking.get(action)

    def missing(self, action: Action) -> tuple[str, ...]:
        return self.lacking.get(action, ())

    @property
    def reason(self) -> str:
        """The outcome reason of a record refused for it: ``missing_scope`` / ``missing_permission``."""
        return "missing_scope" if self.kind == "scope" else "missing_permission"


@dataclass(frozen=True)
class FieldSpec:
    """A field we own and can create (`writeback setup`)."""

    name: str  # API name: Warmly_Last_Seen__c / warmly_last_seen
    label: str
    kind: FieldKind
    length: int | None = None
    unique_key: bool = False  # external id + unique: what idempotent creates are keyed on
    description: str = ""


@dataclass
class RecordResult:
    """The outcome of writing one record. ``key`` is the caller's key (email, domain)."""

    key: str
    ok: bool
    crm_id: str | None = None
    created: bool = False
    error_code: str | None = None
    message: str | None = None
    fields: tuple[str, ...] = ()


@dataclass
class ApiCalls:
    """HTTP calls made, split into reads and writes; thread-safe."""

    reads: int = 0
    writes: int = 0
    by_endpoint: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, endpoint: str, *, write: bool) -> None:
        with self._lock:
            if write:
                self.writes += 1
            else:
                self.reads += 1
            self.by_endpoint[endpoint] = self.by_endpoint.get(endpoint, 0) + 1

    @property
    def total(self) -> int:
        return self.reads + self.writes

    def as_dict(self) -> dict[str, Any]:
        return {"reads": self.reads, "writes": self.writes, "total": self.total, "by_endpoint": dict(self.by_endpoint)}
