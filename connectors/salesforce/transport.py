"""The request core of the Salesforce connector: one HTTP path, its errors, and the retry policy.

:class:`SalesforceTransport` sends every call on the simple-salesforce client's own
``requests`` session (:meth:`SalesforceTransport._request`), turns any answer but 2xx into an
error of :mod:`connectors.errors` with the session token scrubbed, keeps the daily usage
``Sforce-Limit-Info`` reports, and decides when and how long to wait before trying again
(exponential backoff with jitter, never shorter than ``Retry-After``), and how records fail
when it gives up. Schema, reads and writes build on it.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from typing import Any, TypeVar

import requests
from simple_salesforce import Salesforce

from connectors.crm import ApiCalls, ObjectSchema, RecordResult
from connectors.errors import ApiLimitExhausted, AuthenticationError, CrmError, RetryableError
from connectors.salesforce.client import count_calls
from connectors.salesforce.wire import error_detail, parse_limit_info, parse_retry_after

T = TypeVar("T")

CRM = "salesforce"
#: Per-record errors that are about contention, not the data: retrying the record can succeed.
RETRYABLE_RECORD_CODES = frozenset({"UNABLE_TO_LOCK_ROW"})
#: A ``Retry-After`` longer than this is not waited out inside a sync: the records fail as
#: retryable and the next run picks them up, instead of a run hanging for an hour.
MAX_RETRY_AFTER = 300.0
#: Connect / read timeouts. Salesforce itself times a REST call out after 10 minutes.
REQUEST_TIMEOUT = (10.0, 600.0)


class SalesforceTransport:
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
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if bulk_threshold < 1:
            raise ValueError("bulk_threshold must be at least 1")
        self.sf = client
        self.calls = count_calls(client.session, calls if calls is not None else ApiCalls())
        self.bulk_threshold = bulk_threshold
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.max_backoff = max_backoff
        self._sleep = sleep
        self._random = random.Random()
        self._schemas: dict[str, ObjectSchema] = {}
        self._api_usage: tuple[int, int] | None = None

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
        data: bytes | None = None,
        content_type: str | None = None,
        accept: str = "application/json",
    ) -> requests.Response:
        """One HTTP call; any answer but 2xx becomes an error of our tree, never the SDK's."""
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
        try:
            resp = self.sf.session.request(method, url, params=params, data=data, headers=headers,
                                           timeout=REQUEST_TIMEOUT)
        except requests.exceptions.SSLError as exc:
            raise CrmError(f"{what}: TLS verification failed ({type(exc).__name__}); check SALESFORCE_CA_BUNDLE",
                           crm=CRM, code="TLS_ERROR") from exc
        except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as exc:
            raise RetryableError(
                f"{what}: no answer ({type(exc).__name__}); the call may or may not have been applied",
                crm=CRM, code="CONNECTION_ERROR",
            ) from exc
        usage = parse_limit_info(resp.headers.get("Sforce-Limit-Info"))
        if usage is not None:
            self._api_usage = usage
        if resp.status_code < 300:
            return resp
        raise self._error(what, resp)

    def _error(self, what: str, resp: requests.Response) -> CrmError:
        try:
            body = resp.json()
        except ValueError:
            body = None
        code, message = error_detail(body)
        message = self._scrub(message) or resp.reason or "no message"
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
        token = getattr(self.sf, "session_id", None)
        return text.replace(token, "[redacted]") if token and text else text

    def _get_json(self, path: str) -> Any:
        return self._json(self._request("GET", path))

    # -- retry policy --------------------------------------------------------------------

    def _delay(self, attempt: int, retry_after: float | None) -> float | None:
        """Seconds to wait before attempt ``attempt + 1``; ``None``: the server asks for too long.

        Exponential (``backoff_base * 2**(attempt-1)``, capped at ``max_backoff``) with
        jitter over its upper half, so parallel writers that failed together do not retry
        together; never shorter than the server's ``Retry-After``.
        """
        ceiling = min(self.max_backoff, self.backoff_base * 2 ** (attempt - 1))
        delay = self._random.uniform(ceiling / 2, ceiling)
        if retry_after is None:
            return delay
        if retry_after > MAX_RETRY_AFTER:
            return None
        return max(retry_after, delay)

    def _backoff_or_raise(self, attempt: int, exc: RetryableError) -> None:
        delay = self._delay(attempt, exc.retry_after)
        if attempt >= self.max_attempts or delay is None:
            raise RetryableError(
                f"{str(exc).removeprefix(CRM + ': ')} (gave up after {attempt} attempts)",
                crm=CRM, status=exc.status, code=exc.code, retry_after=exc.retry_after,
            ) from exc
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
        code = exc.code or (f"HTTP_{exc.status}" if exc.status else "CRM_ERROR")
        message = str(exc)
        if isinstance(exc, RetryableError) and attempts > 1:
            message += f" (gave up after {attempts} attempts)"
        for i, _ in pending:
            results[i] = RecordResult(keys[i], False, error_code=code, message=self._scrub(message))
