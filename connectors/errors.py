"""One error tree for the whole product; every error we raise on purpose is a ``WritebackError``.

::

    WritebackError
    ├── ConfigError               bad settings, credentials, URL or CA file (exit code 2); .key;
    │                             always one line, clipped: never a traceback, never a value at length
    ├── WarehouseError            a sync model or table cannot be read or written; .model
    │   └── DbtError              a dbt command failed; .command, .returncode, .output_tail
    └── CrmError                  a CRM call failed as a whole; .crm, .status, .code
        ├── AuthenticationError   401 / invalid_grant: wrong or expired credentials; .fix
        ├── RetryableError        429, 5xx, dropped connections, UNABLE_TO_LOCK_ROW; .retry_after
        │   ├── RateLimited       the CRM asked to wait longer than sync.max_retry_after_seconds:
        │   │                     not retried in this run; its records fail ``rate_limited``
        │   └── ConnectionFailed  no answer: .url (scheme://host:port), .write, .sent, .attempts;
        │                         says whether a write may have been applied and what to check
        ├── ApiLimitExhausted     the daily allocation is spent: stop cleanly, retry tomorrow
        │   └── ApiBudgetReserved what is left of it is the other integrations' reserve: stop the same way
        ├── MissingScopeError     HubSpot 403 MISSING_SCOPES: the token lacks scopes; .scopes
        └── SchemaError           required fields missing on an object; .object_type, .missing_fields

Per-record failures (a bad email, a too-long value) are *not* exceptions: they come back as
record results with a reason, so one bad record never sinks its batch. Messages never carry
credentials: they are built from attributes, never from request objects or headers, and
whatever a server echoes back is scrubbed of the token (:func:`redact_bearer` catches any
``Bearer …`` the token itself was not there to match).
"""

from __future__ import annotations

import re


class WritebackError(Exception):
    """Base of every error the product raises on purpose."""


#: A configuration error is one line of at most this many characters.
MAX_CONFIG_MESSAGE = 1000


def one_line(text: str, limit: int = MAX_CONFIG_MESSAGE) -> str:
    """``text`` on one line: control characters written as escapes (``\\n``), clipped to ``limit``."""
    head = text[: limit + 1]
    flat = "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in head)
    if len(text) > limit or len(flat) > limit:
        return flat[: limit - 1] + "…"
    return flat


def echo_value(value: object, limit: int = 60) -> str:
    """A short, safe rendering of an input value for a message: never a whole document.

    Containers are described, not printed (an expanded YAML alias bomb would take minutes
    to ``repr``); text and other scalars are clipped to ``limit`` characters.
    """
    if isinstance(value, dict):
        return f"a mapping of {len(value)} key(s)"
    if isinstance(value, (list, tuple, set)):
        return f"a list of {len(value)} item(s)"
    if isinstance(value, str):
        clipped = value[:limit]
        return repr(clipped) + ("…" if len(value) > limit else "")
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


class ConfigError(WritebackError):
    """Settings or credentials are wrong; nothing was written.

    The message is always one line (control characters escaped) and clipped, so whatever a
    bad input holds, the error stays readable and quick to print.
    """

    def __init__(self, message: str, *, key: str | None = None) -> None:
        self.key = key
        super().__init__(one_line(f"{key}: {message}" if key else message))


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
        self.text = message  # without the CRM's name before it and (status, code) after it
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

    def after(self, attempts: int) -> RetryableError:
        """The error to report once retries stop, saying how many attempts were made."""
        return RetryableError(f"{self.text} (gave up after {_times(attempts, 'attempt')})", crm=self.crm,
                              status=self.status, code=self.code, retry_after=self.retry_after)


class RateLimited(RetryableError):
    """The CRM asked to wait (``Retry-After``) longer than we may wait inside one run.

    The call is not retried; its records fail with the code ``rate_limited`` and are sent
    again on the next run, so a run's wall time stays bounded whatever the CRM asks.
    """

    def __init__(self, message: str, *, crm: str, status: int | None, retry_after: float, cap: float) -> None:
        self.cap = cap
        super().__init__(
            f"{message}; the CRM asked to wait {retry_after:.0f} s (Retry-After), longer than "
            f"sync.max_retry_after_seconds ({cap:g} s): not retried in this run, sent again on the next run",
            crm=crm, status=status, code="rate_limited", retry_after=retry_after,
        )

    def after(self, attempts: int) -> RetryableError:
        return self


class ConnectionFailed(RetryableError):
    """No answer from the CRM: it could not be reached, or the connection broke before an answer.

    ``url`` is ``scheme://host:port`` only (never a path, query string or user info);
    ``write`` says whether the call would change data, ``sent`` whether the request may have
    reached the CRM, so the message can say if a write may have been applied and what to check
    (``setting``: the variable holding the URL).
    """

    def __init__(self, *, crm: str, what: str, url: str, reason: str, write: bool, sent: bool, setting: str,
                 attempts: int = 1) -> None:
        self.what, self.url, self.reason, self.write, self.sent = what, url, reason, write, sent
        self.setting, self.attempts = setting, attempts
        parts = [f"{what}: {'no answer from' if sent else 'could not connect to'} {url} ({reason}), "
                 f"tried {_times(attempts, 'time')}"]
        if not write:
            parts.append("a read: nothing was changed, safe to run again")
        elif not sent:
            parts.append("a write that never reached the CRM: nothing was applied, the next run sends it again")
        else:
            parts.append("a write: it may or may not have been applied; the next run sends it again "
                         "(creates are upserts on the sync key, so nothing is duplicated)")
        if sent:
            parts.append(f"check that {url} is up and that no proxy or firewall cuts the connection")
        else:
            parts.append(f"check {setting} (scheme, host, port) and that the network or proxy lets this "
                         "machine reach it")
        super().__init__("; ".join(parts), crm=crm, code="CONNECTION_ERROR")

    def after(self, attempts: int) -> ConnectionFailed:
        return ConnectionFailed(crm=self.crm, what=self.what, url=self.url, reason=self.reason, write=self.write,
                                sent=self.sent, setting=self.setting, attempts=attempts)


def _times(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


class ApiLimitExhausted(CrmError):
    """The CRM's daily API allocation is spent; further calls fail until it resets."""


class ApiBudgetReserved(ApiLimitExhausted):
    """The next call would spend the share of the daily allocation kept for the org's other
    integrations (``sync.api_reserve``): the run stops as if the allocation were spent, its
    remaining records fail ``api_budget_reserved`` and go next run. Raised before the call."""

    def __init__(self, text: str, *, crm: str) -> None:
        super().__init__(text, crm=crm, code="api_budget_reserved")


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


#: ``Bearer``/``OAuth`` and a token-like word after it (tokens are long; "OAuth 2.0" is left alone).
_BEARER = re.compile(r"(?i)\b(bearer|oauth)(\s+)[A-Za-z0-9._~+/!=:-]{8,}")


def redact_bearer(text: str) -> str:
    """``Bearer <anything>`` → ``Bearer [redacted]``: a credential echoed in a form we did not send."""
    return _BEARER.sub(lambda m: f"{m.group(1)}{m.group(2)}[redacted]", text)
