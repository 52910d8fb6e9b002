"""What every Salesforce API call goes through, and the request helpers every handler uses.

``before_request`` refuses an over-long URL (414), a missing or unknown session (401) and a call
past the daily allocation (403), then counts the call; ``after_request`` adds
``Sforce-Limit-Info: api-usage=N/M`` to every REST answer but the versions list, as Salesforce
does (REST API Developer Guide, "Limit Info Header":
https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/headers_api_usage.htm —
the same numbers as the ``limits`` resource's ``DailyApiRequests``): clients pace their daily
budget by it. ``error_response`` renders an :class:`~.errors.ApiError`, and a sandbox bug as a 500
``UNKNOWN_EXCEPTION`` (with the traceback on stderr). The OAuth token endpoint and the version
list are neither authenticated nor counted, as in Salesforce.
"""

from __future__ import annotations

import sys
import traceback
from typing import Any
from urllib.parse import urlencode

from connectors.sandbox.base import Request, Response
from connectors.sandbox.salesforce.errors import NOT_FOUND, ApiError, api_error
from connectors.sandbox.salesforce.limits import UsageMixin
from connectors.sandbox.salesforce.setup_objects import sobject_named

MAX_URL_BYTES = 16_384


class HooksMixin(UsageMixin):
    def before_request(self, req: Request) -> Response | None:
        if req.path.startswith("/services/oauth2/") or req.path.rstrip("/") == "/services/data":
            return None
        url_bytes = len(req.path) + len(urlencode(req.query, doseq=True)) + 1
        if url_bytes > MAX_URL_BYTES:
            return Response(414, [{"errorCode": "URI_TOO_LONG", "message": "Request-URI Too Large"}])
        version = req.path.split("/")[3] if req.path.startswith("/services/data/v") else ""
        if version[1:].replace(".", "").isdigit():
            self._request_version = version[1:]
        token = req.bearer_token
        if not token or (token != self.token and token not in self._sessions):
            return Response(401, [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}])
        if self.api_usage() >= int(self.config["daily_api_limit"]):
            return Response(403, [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}])
        self._count_call()
        return None

    def after_request(self, req: Request, resp: Response) -> None:
        if req.path.startswith("/services/data/v") and resp.status != 401:
            resp.headers["Sforce-Limit-Info"] = f"api-usage={self.api_usage()}/{int(self.config['daily_api_limit'])}"

    def error_response(self, exc: Exception) -> Response:
        if isinstance(exc, ApiError):
            return Response(exc.status, exc.body, dict(exc.headers))
        traceback.print_exception(exc, file=sys.stderr)
        return Response(500, [{
            "errorCode": "UNKNOWN_EXCEPTION",
            "message": f"An unexpected error occurred in the sandbox: {type(exc).__name__}: {exc}",
        }])

    def echo_body(self, authorization: str) -> Any:
        return [{"errorCode": "UNKNOWN_EXCEPTION",
                 "message": f"An unexpected error occurred; the request carried Authorization: {authorization}"}]

    def not_found_body(self, req: Request, status: int) -> Any:
        if status == 405:
            return [{"errorCode": "METHOD_NOT_ALLOWED", "message": f"HTTP Method '{req.method}' not allowed."}]
        return NOT_FOUND

    def _body(self, req: Request) -> Any:
        try:
            return req.json()
        except (ValueError, UnicodeDecodeError) as exc:
            raise api_error(400, "JSON_PARSER_ERROR", f"Unexpected character in request body: {exc}") from None

    def _object(self, name: str) -> str:
        obj = sobject_named(name)
        if obj is None or not self.permitted(obj.name, "PermissionsRead"):
            raise ApiError(404, NOT_FOUND)
        return obj.name

    @staticmethod
    def _version(req: Request) -> str:
        return req.params["v"]

    @staticmethod
    def _vnum(req: Request) -> float:
        return float(req.params["v"])

    def _record_url(self, version: str, sobject: str, rid: str) -> str:
        return f"/services/data/v{version}/sobjects/{sobject}/{rid}"
