"""Authentication, scopes and API limits: the request hooks every CRM call passes through.

Before a call: the private-app token (401 otherwise, not counted against any limit), the token's
scopes (403 ``MISSING_SCOPES``, see :mod:`.scopes`; not counted either), the daily allowance,
then the search API's per-second limit or, for every other endpoint, the rolling ten-second
window, each answered with HubSpot's 429 body and ``policyName``. After a call: a correlation id
on every answer and the ``X-HubSpot-RateLimit-*`` headers, which search answers and 401s do not
carry. The token and scope checks live with the limits because they decide whether a call counts.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from connectors.sandbox.base import Request, Response
from connectors.sandbox.hubspot.errors import ApiError, correlation_id
from connectors.sandbox.hubspot.model import PORTAL_ID
from connectors.sandbox.hubspot.scopes import TOKEN_INFO_ROUTE, ScopesMixin
from connectors.sandbox.hubspot.search import SEARCH_ROUTE


class LimitsMixin(ScopesMixin):
    """``before_request`` / ``after_request``: authentication, scopes, limits, usage headers."""

    # -- authentication, limits, headers ------------------------------------------------------
    def before_request(self, req: Request) -> Response | None:
        if req.route_name == TOKEN_INFO_ROUTE:
            return None  # authenticates by the key in its body; no scope, no limit
        token = req.bearer_token
        if not token or token != self.token:
            message = (
                "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can "
                "find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
            )
            if token:
                message = (
                    "The access token provided is invalid or has been revoked. Check the private app access "
                    "token or refresh the OAuth token."
                )
            return ApiError(401, "INVALID_AUTHENTICATION", message).response()
        refusal = self.scope_refusal(req)
        if refusal is not None:
            return refusal
        today = datetime.now(UTC).strftime("%Y-%m-%d")
        if today != self._daily_day:
            self._daily_day, self._daily_used = today, 0
        if self._daily_used >= int(self.config["daily_limit"]):
            return self._rate_limited("You have reached your daily limit.", "DAILY")
        clock = time.monotonic()
        if req.route_name == SEARCH_ROUTE:
            window = self._search_second
            while window and clock - window[0] >= 1.0:
                window.popleft()
            if len(window) >= int(self.config["search_per_second"]):
                return self._rate_limited("You have reached your secondly limit.", "SECONDLY")
        else:
            window = self._ten_second
            span = int(self.config["ten_second_window_ms"]) / 1000
            while window and clock - window[0] >= span:
                window.popleft()
            if len(window) >= int(self.config["ten_second_limit"]):
                return self._rate_limited("You have reached your ten_secondly_rolling limit.", "TEN_SECONDLY_ROLLING")
        window.append(clock)
        if window is self._ten_second:
            self._window_peak = max(self._window_peak, len(window))
        self._daily_used += 1
        self.db.execute(
            "INSERT OR REPLACE INTO hs_meta (key, value) VALUES ('daily', ?)",
            (f"{self._daily_day}:{self._daily_used}",),
        )
        return None

    def _rate_limited(self, message: str, policy: str) -> Response:
        self._refused[policy] = self._refused.get(policy, 0) + 1
        return Response(
            429,
            {
                "status": "error",
                "message": message,
                "errorType": "RATE_LIMIT",
                "correlationId": correlation_id(),
                "policyName": policy,
                "groupName": f"publicapi:private-app-api-calls-{policy.lower().replace('_', '-')}:{PORTAL_ID}",
            },
        )

    def admin_usage(self, req: Request) -> Response:
        """``GET /__sandbox/usage``: what a test needs to show a limit was never crossed.

        ``window_peak``: the most calls the rolling ten-second window ever held (calls HubSpot
        accepted; a refused one is not counted, as HubSpot does not count it);
        ``rate_limited``: 429 answers by ``policyName``; ``daily_used`` of ``daily_limit``:
        what ``X-HubSpot-RateLimit-Daily-Remaining`` is computed from. HubSpot documents the
        window and the daily allowance per app and account
        (https://developers.hubspot.com/docs/api/usage-details) but offers no such history;
        this admin call is the sandbox's own, neither counted nor limited. ``DELETE`` zeroes the
        peak and the 429 counts (a test's limits start where it configures them).
        """
        if req.method == "DELETE":
            self._window_peak = 0
            self._refused.clear()
        return Response(200, {
            "window_peak": self._window_peak,
            "ten_second_limit": int(self.config["ten_second_limit"]),
            "rate_limited": dict(self._refused),
            "daily_used": self._daily_used,
            "daily_limit": int(self.config["daily_limit"]),
        })

    def after_request(self, req: Request, resp: Response) -> None:
        body = resp.body if isinstance(resp.body, dict) else {}
        resp.headers.setdefault("X-HubSpot-Correlation-Id", str(body.get("correlationId") or correlation_id()))
        if req.bearer_token != self.token or req.route_name == SEARCH_ROUTE:
            return  # search answers carry no rate-limit headers; 401s neither
        clock = time.monotonic()
        span = int(self.config["ten_second_window_ms"]) / 1000
        while self._ten_second and clock - self._ten_second[0] >= span:
            self._ten_second.popleft()
        limit = int(self.config["ten_second_limit"])
        daily = int(self.config["daily_limit"])
        resp.headers.update(
            {
                "X-HubSpot-RateLimit-Daily": str(daily),
                "X-HubSpot-RateLimit-Daily-Remaining": str(max(0, daily - self._daily_used)),
                "X-HubSpot-RateLimit-Interval-Milliseconds": str(int(self.config["ten_second_window_ms"])),
                "X-HubSpot-RateLimit-Max": str(limit),
                "X-HubSpot-RateLimit-Remaining": str(max(0, limit - len(self._ten_second))),
            }
        )
