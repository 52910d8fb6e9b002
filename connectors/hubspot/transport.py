"""The request core of the HubSpot connector: every call it makes goes through here.

:class:`HubSpotTransport` holds the SDK's API objects and sends one logical call at a time
(:meth:`HubSpotTransport._request`): a slot in the account's shared budget when there is one
(:class:`~connectors.budget.SharedBudget`: the burst window and daily reserve every process
shares), a slot from this process's rolling-window limiter (and the search limiter), every
HTTP attempt counted in :class:`ApiCalls`, answers parsed as JSON, errors classified into
:mod:`connectors.errors` with the access token scrubbed, and retries with exponential backoff
and jitter where HubSpot asks for them (429, 423, 5xx, dropped connections), honouring
``Retry-After``. Schema, reads and writes build on it.

Waits are bounded: a ``Retry-After`` longer than ``max_retry_after`` (the setting
``sync.max_retry_after_seconds``) is not waited out — the call fails at once with
:class:`~connectors.errors.RateLimited` (inputs: ``rate_limited``) — and a call that could not
even connect is tried at most :data:`~connectors.network.CONNECT_ATTEMPTS` times.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import hubspot
import hubspot.crm.associations.v4 as hs_assoc
import hubspot.crm.companies as hs_companies
import hubspot.crm.contacts as hs_contacts
import hubspot.crm.properties as hs_props
import urllib3

from connectors.budget import SharedBudget
from connectors.crm import DEFAULT_MAX_RETRY_AFTER, ApiCalls, ObjectSchema
from connectors.errors import (
    ApiLimitExhausted,
    AuthenticationError,
    ConnectionFailed,
    CrmError,
    MissingScopeError,
    RateLimited,
    RetryableError,
    redact_bearer,
)
from connectors.hubspot.client import DEFAULT_BASE_URL
from connectors.hubspot.ratelimit import RollingWindowLimiter
from connectors.hubspot.wire import CRM, OBJECT_TYPES, TEN_SECONDS, _int_header, _retry_after
from connectors.network import CONNECT_ATTEMPTS, CONNECT_TIMEOUT, connection_failure, origin
from connectors.progress import ReportsProgress

_API_EXCEPTIONS: tuple[type[Exception], ...] = (
    hs_contacts.ApiException,
    hs_companies.ApiException,
    hs_props.ApiException,
    hs_assoc.ApiException,
)
#: The variable to check when HubSpot cannot be reached.
URL_SETTING = "HUBSPOT_BASE_URL"


@dataclass
class _Response:
    status: int
    body: Any
    attempts: int = 1
    error: CrmError | None = None  # retries ran out, or a scope is missing: the inputs fail with this


class HubSpotTransport(ReportsProgress):
    """The SDK's API objects, the limiters, and the one way a call is sent and retried.

    Its parameters are :class:`~connectors.hubspot.api.HubSpotConnector`'s.
    """

    def __init__(
        self,
        client: hubspot.HubSpot,
        *,
        calls: ApiCalls | None = None,
        ten_second_limit: int = 100,
        max_attempts: int = 6,
        backoff_base: float = 0.5,
        max_backoff: float = 30.0,
        max_retry_after: float = DEFAULT_MAX_RETRY_AFTER,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        search_per_second: int = 4,
        window_seconds: float = TEN_SECONDS,
        write_trace_ids: bool = True,
        timeout: float = 60.0,
        batch_size: int = 100,
        seed: int | None = None,
        budget: SharedBudget | None = None,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if max_retry_after < 0:
            raise ValueError("max_retry_after must not be negative")
        self.calls = calls if calls is not None else ApiCalls()
        self.max_attempts = max_attempts
        self.write_trace_ids = write_trace_ids
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        #: Inputs per batch write call (HubSpot takes at most 100; associations their own cap).
        self.batch_size = batch_size
        self.backoff_base = backoff_base
        self.max_backoff = max_backoff
        self.max_retry_after = max_retry_after
        self._sleep = sleep
        self._clock = clock
        self._timeout = (min(CONNECT_TIMEOUT, timeout), timeout)  # (connect, read)
        self._origin = origin(str(client.config.get("host") or DEFAULT_BASE_URL))
        self._random = random.Random(seed)
        self.limiter = RollingWindowLimiter(ten_second_limit, window_seconds, clock=clock, sleep=sleep)
        self.search_limiter = RollingWindowLimiter(search_per_second, 1.0, clock=clock, sleep=sleep)
        self._secret = str(client.config.get("access_token") or client.config.get("api_key") or "")
        # Every ``client.crm.…_api`` access builds a new API client with its own connection
        # pool: build each once so connections are reused.
        crm = client.crm
        self._objects: dict[str, tuple[ModuleType, Any, Any]] = {
            "contacts": (hs_contacts, crm.contacts.batch_api, crm.contacts.search_api),
            "companies": (hs_companies, crm.companies.batch_api, crm.companies.search_api),
        }
        #: The paged list of each object (``GET /crm/v3/objects/{type}``), for reading a whole object.
        self._basic: dict[str, Any] = {"contacts": crm.contacts.basic_api, "companies": crm.companies.basic_api}
        self._properties = crm.properties.core_api
        self._groups = crm.properties.groups_api
        self._assoc = crm.associations.v4.batch_api
        self._schemas: dict[str, ObjectSchema] = {}
        self._daily: tuple[int, int] | None = None
        #: The account's API budget shared with every process using this app (``None``: this connector alone).
        self.budget = budget

    def daily_allowance(self) -> tuple[int, int] | None:
        """``(remaining, max)`` calls of the account's day, from the last ``X-HubSpot-RateLimit-Daily*``
        headers seen (search answers carry none); ``None`` before any."""
        return self._daily

    # -- HTTP, limits, retries ------------------------------------------------------------
    def _kw(self) -> dict[str, Any]:
        return {"_preload_content": False, "_request_timeout": self._timeout}

    def _request(self, endpoint: str, *, write: bool, call: Callable[[], Any], accept: tuple[int, ...] = (),
                 search: bool = False) -> _Response:
        """One logical call: limiter slot, counted attempt, retries where HubSpot asks for them."""
        last: RetryableError | None = None
        cause: BaseException | None = None
        for attempt in range(1, self.max_attempts + 1):
            # The shared budget first: it may refuse the call (ApiBudgetReserved) or wait for
            # another process's calls to leave the window.
            shared = self.budget.acquire(window=not search) if self.budget is not None else None
            slots = [self.limiter.acquire()]
            if search:
                slots.append(self.search_limiter.acquire())
            self.calls.add(endpoint, write=write)
            status, data, headers = 0, None, {}
            try:
                raw = call()
                status, data, headers = raw.status, raw.data, raw.headers
                raw.release_conn()
            except _API_EXCEPTIONS as exc:
                cause = self._scrub(exc)
                status = int(getattr(exc, "status", 0) or 0)
                data, headers = getattr(exc, "body", None), getattr(exc, "headers", None) or {}
                if status == 0:
                    reason = self._redact(str(getattr(exc, "reason", "") or ""))
                    if "SSL" in reason:  # the SDK's own wrapping of a TLS failure: retrying cannot heal it
                        raise CrmError(f"{endpoint}: TLS verification of {self._origin} failed; check "
                                       f"{URL_SETTING} and the CA certificates this machine trusts",
                                       crm=CRM, code="TLS_ERROR") from None
                    last = ConnectionFailed(crm=CRM, what=endpoint, url=self._origin,
                                            reason=" ".join(reason.split())[:200] or "no answer", write=write,
                                            sent=True, setting=URL_SETTING)
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                # Includes a connection dropped after the server committed the write: every
                # call here is idempotent, so sending it again is safe.
                cause = exc
                reason, sent = connection_failure(exc)
                last = ConnectionFailed(crm=CRM, what=endpoint, url=self._origin, reason=reason, write=write,
                                        sent=sent, setting=URL_SETTING)
            except ValueError as exc:
                # http.client refuses a header value with a line break, quoting it whole, token
                # included: never chain it.
                if not (isinstance(exc, UnicodeEncodeError) or str(exc).startswith("Invalid header")):
                    raise
                raise CrmError(f"{endpoint}: the access token cannot be sent in an HTTP header (it holds a "
                               "space, line break or non-ASCII character); check HUBSPOT_ACCESS_TOKEN",
                               crm=CRM, code="INVALID_TOKEN") from None
            finally:
                if self.budget is not None:
                    self.budget.release(shared)
                self.limiter.release(slots[0])
                if search:
                    self.search_limiter.release(slots[1])
            if status:
                body = self._parse(data)
                self._observe(headers)
                if 200 <= status < 300 or status in accept:
                    return _Response(status, body, attempts=attempt)
                err = self._classify(endpoint, status, body, headers)
                if not isinstance(err, RetryableError):
                    raise err from cause
                last = err
            assert last is not None
            delay = self._wait(attempt, last)
            if delay is None:
                raise self._final(last, attempt) from cause
            self._sleep(delay)
        raise AssertionError("unreachable: the last attempt gives up")

    def _wait(self, attempt: int, err: RetryableError) -> float | None:
        """Seconds to wait before sending ``err``'s call again; ``None``: give up (see :meth:`_final`)."""
        limit = self.max_attempts
        if isinstance(err, ConnectionFailed) and not err.sent:
            limit = min(limit, CONNECT_ATTEMPTS)  # nothing reached HubSpot: the URL or network is wrong
        if attempt >= limit:
            return None
        if err.retry_after is not None:
            return err.retry_after if err.retry_after <= self.max_retry_after else None
        ceiling = min(self.max_backoff, self.backoff_base * (2 ** (attempt - 1)))
        delay = ceiling / 2 + self._random.uniform(0, ceiling / 2)  # jitter: spread retries out
        if err.status == 423:
            delay = max(delay, 2.0)  # HubSpot: back off at least 2 s from a lock
        return delay

    def _final(self, err: RetryableError, attempts: int) -> RetryableError:
        """The error a call ends with: :class:`RateLimited` when HubSpot asked to wait longer than
        ``max_retry_after``, else the last failure and how many attempts were made."""
        if err.retry_after is not None and err.retry_after > self.max_retry_after:
            return RateLimited(err.text, crm=CRM, status=err.status, retry_after=err.retry_after,
                               cap=self.max_retry_after)
        return err.after(attempts)

    def _classify(self, endpoint: str, status: int, body: Any, headers: Mapping[str, str]) -> CrmError:
        """The error an answer means; only :class:`RetryableError` is worth sending again."""
        top = body if isinstance(body, Mapping) else {}
        category = str(top.get("category") or top.get("errorType") or "") or None
        message = self._redact(str(top.get("message") or (body if isinstance(body, str) else "") or ""))[:500]
        if status == 401:
            return AuthenticationError(
                f"HubSpot refused the access token ({message or 'unauthorized'}); "
                "check HUBSPOT_ACCESS_TOKEN and the private app's scopes",
                crm=CRM, status=status, code=category,
                fix="export the private app's current access token as HUBSPOT_ACCESS_TOKEN (Settings → "
                    "Integrations → Private Apps → your app → Auth)",
            )
        if status == 403 and category == "MISSING_SCOPES":
            return MissingScopeError(endpoint, crm=CRM, scopes=_required_scopes(top))
        if status == 429:
            policy = str(top.get("policyName") or "")
            if policy.upper() == "DAILY":
                return ApiLimitExhausted(
                    "the daily API allocation of this HubSpot account is spent; calls fail until it "
                    "resets at midnight (the account's time zone) — run again then",
                    crm=CRM, status=status, code="DAILY",
                )
            return RetryableError(f"{endpoint}: rate limited ({policy or 'unknown policy'}): {message}", crm=CRM,
                                  status=status, code=policy or "RATE_LIMIT", retry_after=_retry_after(headers))
        if status == 423 or status >= 500:
            return RetryableError(f"{endpoint}: {message or 'HubSpot is unavailable'}", crm=CRM, status=status,
                                  code=category or f"HTTP_{status}", retry_after=_retry_after(headers))
        return CrmError(f"{endpoint}: {message or 'request rejected'}", crm=CRM, status=status, code=category)

    def _scrub(self, exc: Exception) -> Exception:
        """The SDK's exception prints the response body; scrub the token from it before it is
        chained as the cause of ours (a server echoing the token must not leak it)."""
        body = getattr(exc, "body", None)
        if isinstance(body, bytes):
            body = body.decode("utf-8", "replace")
        if isinstance(body, str):
            exc.body = self._redact(body)  # type: ignore[attr-defined]
        return exc

    def _observe(self, headers: Mapping[str, str]) -> None:
        remaining = _int_header(headers, "X-HubSpot-RateLimit-Daily-Remaining")
        daily = _int_header(headers, "X-HubSpot-RateLimit-Daily")
        if remaining is not None and daily is not None:
            self._daily = (remaining, daily)
            if self.budget is not None:
                self.budget.observe_daily(max(0, daily - remaining), daily)
        if self.budget is not None:
            self.budget.observe_window(_int_header(headers, "X-HubSpot-RateLimit-Max"),
                                       _int_header(headers, "X-HubSpot-RateLimit-Interval-Milliseconds"))
        self.limiter.observe(_int_header(headers, "X-HubSpot-RateLimit-Max"),
                             _int_header(headers, "X-HubSpot-RateLimit-Remaining"),
                             _int_header(headers, "X-HubSpot-RateLimit-Interval-Milliseconds"))

    @staticmethod
    def _parse(data: Any) -> Any:
        if data is None or data == b"" or data == "":
            return None
        text = data.decode("utf-8", "replace") if isinstance(data, bytes) else str(data)
        try:
            return json.loads(text)
        except ValueError:
            return text

    def _redact(self, text: str) -> str:
        if self._secret and len(self._secret) >= 4:
            text = text.replace(self._secret, "[redacted]")
        return redact_bearer(text)

    def _object(self, object_type: str) -> tuple[ModuleType, Any, Any]:
        self._check_type(object_type)
        return self._objects[object_type]

    @staticmethod
    def _check_type(object_type: str) -> None:
        if object_type not in OBJECT_TYPES:
            raise ValueError(f"unknown HubSpot object type {object_type!r}; expected one of {OBJECT_TYPES}")


def _required_scopes(body: Mapping[str, Any]) -> list[str]:
    """The scopes a 403 ``MISSING_SCOPES`` answer names, wherever HubSpot put them (each once)."""
    contexts = [body.get("context")] + [e.get("context") for e in body.get("errors") or [] if isinstance(e, Mapping)]
    found: list[str] = []
    for ctx in contexts:
        if not isinstance(ctx, Mapping):
            continue
        for key in ("requiredGranularScopes", "requiredScopes"):
            for scope in ctx.get(key) or []:
                if isinstance(scope, str) and scope not in found:
                    found.append(scope)
    return found
