"""The request core of the Salesforce connector: one HTTP path, its errors, and the retry policy.

:class:`SalesforceTransport` sends every call on the simple-salesforce client's own
``requests`` session (:meth:`SalesforceTransport._request`), turns any answer but 2xx into an
error of :mod:`connectors.errors` with the session token scrubbed, keeps the daily usage
``Sforce-Limit-Info`` reports (and, given a :class:`~connectors.budget.SharedBudget`, shares it
with every process writing to the org, refusing a call that would spend the reserve kept for the
org's other integrations), and decides when and how long to wait before trying again
(exponential backoff with jitter, never shorter than ``Retry-After``), and how records fail
when it gives up. Schema, reads and writes build on it.

Waits are bounded: a ``Retry-After`` longer than ``max_retry_after`` (the setting
``sync.max_retry_after_seconds``) is not waited out — the call fails at once with
:class:`~connectors.errors.RateLimited` (records: ``rate_limited``) — and a call that could not
even connect is tried at most :data:`~connectors.network.CONNECT_ATTEMPTS` times.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from typing import IO, Any, TypeVar

import requests
from simple_salesforce import Salesforce

from connectors.budget import SharedBudget
from connectors.crm import DEFAULT_MAX_RETRY_AFTER, ApiCalls, ObjectSchema, RecordResult
from connectors.errors import (
    ApiLimitExhausted,
    AuthenticationError,
    ConnectionFailed,
    CrmError,
    RateLimited,
    RetryableError,
    redact_bearer,
)
from connectors.network import CONNECT_ATTEMPTS, CONNECT_TIMEOUT, connection_failure, origin
from connectors.progress import ReportsProgress
from connectors.salesforce.client import count_calls
from connectors.salesforce.wire import error_detail, parse_limit_info, parse_retry_after

T = TypeVar("T")

CRM = "salesforce"
#: Per-record errors that are about contention, not the data: retrying the record can succeed.
RETRYABLE_RECORD_CODES = frozenset({"UNABLE_TO_LOCK_ROW"})
#: Connect / read timeouts. Salesforce itself times a REST call out after 10 minutes.
REQUEST_TIMEOUT = (CONNECT_TIMEOUT, 600.0)
#: The variable to check when Salesforce cannot be reached.
URL_SETTING = "SALESFORCE_INSTANCE_URL"


class SalesforceTransport(ReportsProgress):
    """The client's session, the call counter, and the one way a call is sent and retried.

    Its parameters are :class:`~connectors.salesforce.api.SalesforceConnector`'s.
    """

    def __init__(
        self,
        client: Salesforce,
        *,
        calls: ApiCalls | None = None,
        bulk_threshold: int = 2000,
        max_attempts: int = 6,
        backoff_base: float = 0.5,
        max_backoff: float = 30.0,
        max_retry_after: float = DEFAULT_MAX_RETRY_AFTER,
        batch_size: int = 200,
        request_timeout: float = REQUEST_TIMEOUT[1],
        sleep: Callable[[float], None] = time.sleep,
        budget: SharedBudget | None = None,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if max_retry_after < 0:
            raise ValueError("max_retry_after must not be negative")
        if bulk_threshold < 1:
            raise ValueError("bulk_threshold must be at least 1")
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        if request_timeout <= 0:
            raise ValueError("request_timeout must be positive")
        self.sf = client
        self.calls = count_calls(client.session, calls if calls is not None else ApiCalls())
        self.bulk_threshold = bulk_threshold
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.max_backoff = max_backoff
        self.max_retry_after = max_retry_after
        #: Records per sObject Collections call (Salesforce takes at most 200).
        self.batch_size = batch_size
        #: (connect, read) seconds: a call that does not answer in time is retried like a dropped one.
        self._timeout = (min(CONNECT_TIMEOUT, request_timeout), request_timeout)
        self._sleep = sleep
        self._random = random.Random()
        self._schemas: dict[str, ObjectSchema] = {}
        self._api_usage: tuple[int, int] | None = None
        #: The org's API budget shared with every process writing to it (``None``: this connector alone).
        self.budget = budget

    @property
    def api_usage(self) -> tuple[int, int] | None:
        """``(used, max)`` daily API requests, from the last ``Sforce-Limit-Info`` header seen."""
        return self._api_usage

    # -- HTTP ----------------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        json_body: Any = None,
        data: bytes | IO[bytes] | None = None,
        content_type: str | None = None,
        accept: str = "application/json",
        stream: bool = False,
    ) -> requests.Response:
        """One HTTP call; any answer but 2xx becomes an error of our tree, never the SDK's.

        ``data`` may be an open binary file: ``requests`` sends it from where it stands, block by
        block, with its length as ``Content-Length`` (a Bulk upload is never held in memory whole).
        With ``stream`` the answer's body is left unread, for the caller to read piece by piece and
        close (a 2xx only: an error's body is read here, as always).
        """
        if path.startswith("/"):
            url = f"https://{self.sf.sf_instance}{path}"
        else:
            url = self.sf.base_url + path
        what = f"{method} {path.split('?')[0]}"
        headers = {"Authorization": f"Bearer {self.sf.session_id}", "Accept": accept}
        if json_body is not None:
            data = json.dumps(json_body, separators=(",", ":")).encode("utf-8")
            content_type = "application/json"
        if content_type:
            headers["Content-Type"] = content_type
        if self.budget is not None:
            self.budget.acquire()  # ApiBudgetReserved: the call would spend the other integrations' share
        try:
            resp = self.sf.session.request(method, url, params=params, data=data, headers=headers,
                                           timeout=self._timeout, stream=stream)
        except requests.exceptions.SSLError as exc:
            raise CrmError(f"{what}: TLS verification of {origin(url)} failed ({type(exc).__name__}); check "
                           "SALESFORCE_CA_BUNDLE (the CA that signed the server's certificate)",
                           crm=CRM, code="TLS_ERROR") from exc
        except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as exc:
            reason, sent = connection_failure(exc)
            raise ConnectionFailed(crm=CRM, what=what, url=origin(url), reason=reason,
                                   write=method.upper() not in ("GET", "HEAD"), sent=sent,
                                   setting=URL_SETTING) from exc
        except requests.exceptions.InvalidHeader:
            # requests quotes the whole header, token included: never chain it.
            raise CrmError(f"{what}: the session token cannot be sent in an HTTP header (it holds a space, "
                           "line break or control character); check SALESFORCE_ACCESS_TOKEN",
                           crm=CRM, code="INVALID_TOKEN") from None
        usage = parse_limit_info(resp.headers.get("Sforce-Limit-Info"))
        if usage is not None:
            self._api_usage = usage
            if self.budget is not None:
                self.budget.observe_daily(*usage)
        if resp.status_code < 300:
            return resp
        raise self._error(what, resp)

    def _error(self, what: str, resp: requests.Response) -> CrmError:
        try:
            body = resp.json()
        except ValueError:
            body = None
        code, message = error_detail(body)
        code = self._scrub(code)[:80] if code else code
        message = self._scrub(message) or self._scrub(resp.reason or "") or "no message"
        status = resp.status_code
        if status == 401:
            return AuthenticationError(
                f"{what}: Salesforce refused the session ({message}); check SALESFORCE_ACCESS_TOKEN "
                "or the log-in credentials",
                crm=CRM, status=status, code=code or "INVALID_SESSION_ID",
                fix="export a current SALESFORCE_ACCESS_TOKEN, or log in with the JWT bearer flow instead "
                    "(a session expires; a connected app's key does not)",
            )
        if status == 403 and code == "REQUEST_LIMIT_EXCEEDED":
            if "concurrent" in message.lower():
                # Too many long-running calls at once: a different limit, and it clears by itself.
                return RetryableError(f"{what}: {message}", crm=CRM, status=status, code=code)
            used = f"{self._api_usage[0]}/{self._api_usage[1]}" if self._api_usage else "usage unknown"
            return ApiLimitExhausted(
                f"daily API allocation spent ({used} from Sforce-Limit-Info); writes stop here and "
                "resume once the rolling 24-hour window frees calls",
                crm=CRM, status=status, code=code,
            )
        if status == 429 or status >= 500:
            return RetryableError(f"{what}: {message}", crm=CRM, status=status, code=code,
                                  retry_after=parse_retry_after(resp.headers.get("Retry-After")))
        return CrmError(f"{what}: {message}", crm=CRM, status=status, code=code)

    def _json(self, resp: requests.Response) -> Any:
        if not resp.content:
            return {}
        try:
            return resp.json()
        except ValueError as exc:
            raise CrmError(f"{resp.request.method} answer is not JSON", crm=CRM, status=resp.status_code,
                           code="BAD_RESPONSE") from exc

    def _scrub(self, text: str) -> str:
        """``text`` without the session token, nor anything a server quotes as ``Bearer …``."""
        if not text:
            return text
        token = getattr(self.sf, "session_id", None)
        if token:
            text = text.replace(token, "[redacted]")
        return redact_bearer(text)

    def _get_json(self, path: str) -> Any:
        return self._json(self._request("GET", path))

    # -- retry policy --------------------------------------------------------------------

    def _delay(self, attempt: int, retry_after: float | None) -> float | None:
        """Seconds to wait before attempt ``attempt + 1``; ``None``: the server asks for too long.

        Exponential (``backoff_base * 2**(attempt-1)``, capped at ``max_backoff``) with
        jitter over its upper half, so parallel writers that failed together do not retry
        together; never shorter than the server's ``Retry-After``, which is honoured up to
        ``max_retry_after`` seconds.
        """
        ceiling = min(self.max_backoff, self.backoff_base * 2 ** (attempt - 1))
        delay = self._random.uniform(ceiling / 2, ceiling)
        if retry_after is None:
            return delay
        if retry_after > self.max_retry_after:
            return None
        return max(retry_after, delay)

    def _next_wait(self, attempt: int, exc: RetryableError) -> float | None:
        """Seconds to wait before trying ``exc``'s call again, or ``None``: give up (see :meth:`_final`)."""
        limit = min(self.max_attempts, CONNECT_ATTEMPTS) if isinstance(exc, ConnectionFailed) and not exc.sent \
            else self.max_attempts
        if attempt >= limit:
            return None
        return self._delay(attempt, exc.retry_after)

    def _final(self, exc: CrmError, attempts: int) -> CrmError:
        """The error a call ends with after ``attempts`` tries: for a retryable one, how many tries
        were made, or :class:`RateLimited` when the server asked to wait longer than we may."""
        if not isinstance(exc, RetryableError):
            return exc
        if exc.retry_after is not None and exc.retry_after > self.max_retry_after:
            return RateLimited(exc.text, crm=CRM, status=exc.status, retry_after=exc.retry_after,
                               cap=self.max_retry_after)
        return exc.after(attempts)

    def _backoff_or_raise(self, attempt: int, exc: RetryableError) -> None:
        delay = self._next_wait(attempt, exc)
        if delay is None:
            raise self._final(exc, attempt) from exc
        self._sleep(delay)

    def _retrying(self, call: Callable[[], T]) -> T:
        """Run an idempotent call, retrying transient failures; raise the last one when out of tries."""
        attempt = 1
        while True:
            try:
                return call()
            except RetryableError as exc:
                self._backoff_or_raise(attempt, exc)
                attempt += 1

    # Writes that give up do not raise: their records fail with the error (collections and Bulk alike).
    def _fail(
        self,
        pending: list[tuple[int, dict[str, Any]]],
        keys: list[str],
        results: list[RecordResult | None],
        exc: CrmError,
        *,
        attempts: int,
    ) -> None:
        exc = self._final(exc, attempts)
        code = exc.code or (f"HTTP_{exc.status}" if exc.status else "CRM_ERROR")
        message = str(exc)
        for i, _ in pending:
            results[i] = RecordResult(keys[i], False, error_code=code, message=self._scrub(message))
