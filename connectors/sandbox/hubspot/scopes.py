"""Scopes: the token carries only the scopes it was granted (config ``scopes``, default every scope
the sandbox knows), and a call outside them is refused as HubSpot refuses it.

A private app's token carries the scopes selected for the app. A call needing a scope the token
lacks is answered 403 with HubSpot's body (as HubSpot's own clients and public issue threads show
it, e.g. HubSpot/hubspot-api-nodejs#268)::

    {"status": "error",
     "message": "This app hasn't been granted all required scopes to make this call. Read more about
                 required scopes here: https://developers.hubspot.com/scopes.",
     "correlationId": "…",
     "errors": [{"message": "One or more of the following scopes are required.",
                 "context": {"requiredGranularScopes": ["crm.objects.contacts.write"]}}],
     "links": {"scopes": "https://developers.hubspot.com/scopes"},
     "category": "MISSING_SCOPES"}

Which scope a call needs (HubSpot's API reference lists them per endpoint under "Scope
requirements"): reading objects (get, list, batch read, search) ``crm.objects.<type>.read``;
writing them ``crm.objects.<type>.write``; reading properties and groups either
``crm.schemas.<type>.read`` or ``crm.objects.<type>.read``; writing them ``crm.schemas.<type>.write``;
associations the read / write scope of the object they start from. The account details and the
token-info endpoint need none.

``POST /oauth/v2/private-apps/get/access-token-info`` with ``{"tokenKey": …}`` answers which
scopes a private app token carries (``{"userId", "hubId", "appId", "scopes"}``; HubSpot's
private-apps guide): it authenticates by the key in its body, needs no scope, and counts as no call.
"""

from __future__ import annotations

import re

from connectors.sandbox.base import Request, Response
from connectors.sandbox.hubspot.core import HubSpotBase
from connectors.sandbox.hubspot.errors import ApiError, correlation_id
from connectors.sandbox.hubspot.model import OBJECT_TYPES, resolve_type

TOKEN_INFO_ROUTE = "oauth/v2/private-apps/get/access-token-info"
#: Every scope the sandbox knows; a token carries them all unless config ``scopes`` says otherwise.
ALL_SCOPES: tuple[str, ...] = tuple(sorted(
    f"crm.{area}.{otype}.{access}"
    for otype in OBJECT_TYPES for area in ("objects", "schemas") for access in ("read", "write")
))
_READ_ROUTE = re.compile(r"/(batch/read|search)$")
SCOPES_LINK = "https://developers.hubspot.com/scopes"
APP_ID = 2_021_001
USER_ID = 11_101


def required_scopes(req: Request) -> list[str]:
    """Scopes of which the call needs one (empty: no scope needed, or an object type we do not know)."""
    name = req.route_name
    if name.startswith("crm/v3/objects/"):
        ot = resolve_type(req.params.get("otype", ""))
        if ot is None:
            return []
        read = req.method == "GET" or bool(_READ_ROUTE.search(name))
        return [f"crm.objects.{ot.name}.{'read' if read else 'write'}"]
    if name.startswith("crm/v3/properties/"):
        ot = resolve_type(req.params.get("otype", ""))
        if ot is None:
            return []
        if req.method == "GET" or name.endswith("/batch/read"):
            return [f"crm.schemas.{ot.name}.read", f"crm.objects.{ot.name}.read"]
        return [f"crm.schemas.{ot.name}.write"]
    if name.startswith(("crm/v4/associations/", "crm/v4/objects/")):
        ot = resolve_type(req.params.get("from_type", ""))
        if ot is None:
            return []
        read = req.method == "GET" or name.endswith("/batch/read")
        return [f"crm.objects.{ot.name}.{'read' if read else 'write'}"]
    return []


class ScopesMixin(HubSpotBase):
    """The scope check every authenticated call passes, and the token-info endpoint."""

    def granted_scopes(self) -> list[str]:
        scopes = self.config.get("scopes")
        return sorted(str(s) for s in scopes) if isinstance(scopes, list) else list(ALL_SCOPES)

    def scope_refusal(self, req: Request) -> Response | None:
        """HubSpot's 403 ``MISSING_SCOPES`` when the token has none of the scopes the call needs."""
        needed = required_scopes(req)
        if not needed or set(needed) & set(self.granted_scopes()):
            return None
        return Response(403, {
            "status": "error",
            "message": "This app hasn't been granted all required scopes to make this call. Read more about "
                       f"required scopes here: {SCOPES_LINK}.",
            "correlationId": correlation_id(),
            "errors": [{"message": "One or more of the following scopes are required.",
                        "context": {"requiredGranularScopes": needed}}],
            "links": {"scopes": SCOPES_LINK},
            "category": "MISSING_SCOPES",
        })

    def token_info(self, req: Request) -> Response:
        """``POST /oauth/v2/private-apps/get/access-token-info``: the scopes the token in the body carries."""
        body = self._body(req)
        key = body.get("tokenKey") if isinstance(body, dict) else None
        if not key or key != self.token:
            raise ApiError(401, "INVALID_AUTHENTICATION",
                           "The access token provided is invalid or has been revoked.")
        return Response(200, {"userId": USER_ID, "hubId": int(self.config["portal_id"]), "appId": APP_ID,
                              "scopes": self.granted_scopes()})
