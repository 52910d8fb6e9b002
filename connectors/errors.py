"""One error tree for the whole product; every error we raise on purpose is a ``WritebackError``.

::

    WritebackError
    ├── ConfigError               bad settings or missing credentials (exit code 2); .key
    ├── WarehouseError            a sync model or table cannot be read or written; .model
    │   └── DbtError              a dbt command failed; .command, .returncode, .output_tail
    └── CrmError                  a CRM call failed as a whole; .crm, .status, .code
        ├── AuthenticationError   401 / invalid_grant: wrong or expired credentials; .fix
        ├── RetryableError        429, 5xx, dropped connections, UNABLE_TO_LOCK_ROW; .retry_after
        ├── ApiLimitExhausted     the daily allocation is spent: stop cleanly, retry tomorrow
        ├── MissingScopeError     HubSpot 403 MISSING_SCOPES: the token lacks scopes; .scopes
        └── SchemaError           required fields missing on an object; .object_type, .missing_fields

Per-record failures (a bad email, a too-long value) are *not* exceptions: they come back as
record results with a reason, so one bad record never sinks its batch. Messages never carry
credentials: they are built from attributes, never from request objects or headers.
"""

from __future__ import annotations


class WritebackError(Exception):
    """Base of every error the product raises on purpose."""


class ConfigError(WritebackError):
    """Settings or credentials are wrong; nothing was written."""

    def __init__(self, message: str, *, key: str | None = None) -> None:
        self.key = key
        super().__init__(f"{key}: {message}" if key else message)


class WarehouseError(WritebackError):
    """A warehouse model or table could not be read or written."""

    def __init__(self, message: str, *, model: str | None = None) -> None:
        self.model = model
        super().__init__(f"{model}: {message}" if model else message)


class DbtError(WarehouseError):
    """A dbt command (build, run, parse...) exited non-zero; the message ends with dbt's last lines."""

    def __init__(self, command: list[str], *, returncode: int | None, output_tail: str) -> None:
        self.command = list(command)
        self.returncode = returncode
        self.output_tail = output_tail
        status = f"exit code {returncode}" if returncode is not None else "could not start"
        super().__init__(f"`dbt {' '.join(self.command)}` failed ({status}):\n{output_tail}")


class CrmError(WritebackError):
    """A CRM call failed as a whole (not one record of it)."""

    def __init__(self, message: str, *, crm: str, status: int | None = None, code: str | None = None) -> None:
        self.crm = crm
        self.status = status
        self.code = code
        detail = ", ".join(p for p in (str(status) if status else "", code or "") if p)
        super().__init__(f"{crm}: {message}" + (f" ({detail})" if detail else ""))


class AuthenticationError(CrmError):
    """The CRM refused our credentials; ``fix`` says what to change, when the refusal tells."""

    def __init__(self, message: str, *, crm: str, status: int | None = None, code: str | None = None,
                 fix: str | None = None) -> None:
        self.fix = fix
        super().__init__(message, crm=crm, status=status, code=code)


class RetryableError(CrmError):
    """A transient failure: the same call may succeed later."""

    def __init__(
        self, message: str, *, crm: str, status: int | None = None, code: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.retry_after = retry_after
        super().__init__(message, crm=crm, status=status, code=code)


class ApiLimitExhausted(CrmError):
    """The CRM's daily API allocation is spent; further calls fail until it resets."""


class MissingScopeError(CrmError):
    """The token was not granted the scopes a call needs (HubSpot 403 ``MISSING_SCOPES``)."""

    def __init__(self, what: str, *, crm: str, scopes: list[str], status: int | None = 403) -> None:
        self.scopes = list(scopes)
        named = ", ".join(self.scopes) or "(HubSpot named none)"
        super().__init__(
            f"{what}: the access token lacks the scope(s) {named}; add them to the private app (Settings → "
            "Integrations → Private Apps → Scopes) and use its new token",
            crm=crm, status=status, code="missing_scope",
        )


class SchemaError(CrmError):
    """Fields the sync needs are missing on a CRM object."""

    def __init__(self, *, crm: str, object_type: str, missing_fields: list[str]) -> None:
        self.object_type = object_type
        self.missing_fields = list(missing_fields)
        super().__init__(
            f"{object_type} is missing required field(s) {', '.join(self.missing_fields)}; "
            "run `writeback setup` to create them",
            crm=crm,
            code="missing_required_field",
        )
