"""Scopes: which scopes each operation of ours needs, which the token carries, and what that allows.

A private app's token carries only the scopes selected for the app; a call outside them is a 403
``MISSING_SCOPES`` naming the scopes required (raised as :class:`~connectors.errors.MissingScopeError`).
Rather than learn it one refused call at a time, :meth:`HubSpotScopes.granted_scopes` asks HubSpot
once which scopes the token carries (``POST /oauth/v2/private-apps/get/access-token-info``, the
private-apps guide; it needs no scope), and :meth:`HubSpotScopes.access` compares them with
:data:`OPERATION_SCOPES`, the scopes of the calls each of our operations makes (HubSpot's API
reference, "Scope requirements" of each endpoint):

- ``read`` — batch read, search, association reads: ``crm.objects.<type>.read``;
- ``create`` / ``update`` — batch upsert / update, and contact→company associations (a write from
  contacts): ``crm.objects.<type>.write``;
- ``describe`` — reading properties: ``crm.schemas.<type>.read`` *or* ``crm.objects.<type>.read``;
- ``define`` — creating properties and groups (`writeback setup`): ``crm.schemas.<type>.write``.

The token travels in that request's body: it is never logged, and answers are scrubbed of it.
"""

from __future__ import annotations

from collections.abc import Mapping

from connectors.crm import ObjectAccess
from connectors.errors import CrmError
from connectors.hubspot.transport import HubSpotTransport
from connectors.hubspot.wire import CRM

TOKEN_INFO_PATH = "/oauth/v2/private-apps/get/access-token-info"


def operation_scopes(action: str, object_type: str) -> tuple[str, ...]:
    """The scopes of which one lets ``action`` on ``object_type`` through."""
    t = object_type
    return {
        "read": (f"crm.objects.{t}.read",),
        "create": (f"crm.objects.{t}.write",),
        "update": (f"crm.objects.{t}.write",),
        "describe": (f"crm.schemas.{t}.read", f"crm.objects.{t}.read"),
        "define": (f"crm.schemas.{t}.write",),
    }[action]


OPERATIONS = ("read", "create", "update", "describe", "define")


class HubSpotScopes(HubSpotTransport):
    """The token's scopes (asked once), and the :class:`ObjectAccess` they give on each object type."""

    _granted: frozenset[str] | None = None
    _granted_known: bool = False

    def granted_scopes(self) -> frozenset[str] | None:
        """The scopes the token carries; ``None`` when HubSpot would not say (every call is then tried)."""
        if not self._granted_known:
            api = self._properties.api_client
            try:
                resp = self._request(
                    f"POST {TOKEN_INFO_PATH}", write=False,
                    call=lambda: api.call_api(TOKEN_INFO_PATH, "POST", body={"tokenKey": self._secret},
                                              header_params={"Accept": "application/json",
                                                             "Content-Type": "application/json"},
                                              auth_settings=["oauth2"], _preload_content=False,
                                              _request_timeout=self._timeout),
                )
                body = resp.body if isinstance(resp.body, Mapping) else {}
                scopes = body.get("scopes")
                self._granted = frozenset(str(s) for s in scopes) if isinstance(scopes, list) else None
            except CrmError as exc:
                if exc.status not in (400, 401, 403, 404):
                    raise
                # Not a private-app token (OAuth tokens have their own introspection), or an account
                # without the endpoint: every call is then tried, and a refused one names its scopes.
                self._granted = None
            self._granted_known = True
        return self._granted

    def access(self, object_type: str) -> ObjectAccess:
        """What the token may do on ``object_type``: per operation, the scopes it lacks."""
        self._check_type(object_type)
        granted = self.granted_scopes()
        if granted is None:
            return ObjectAccess(object_type, "scope", known=False)
        lacking: dict[str, tuple[str, ...]] = {}
        for action in OPERATIONS:
            needed = operation_scopes(action, object_type)
            if not granted & set(needed):
                lacking[action] = needed[:1]  # the scope to add (the first of the alternatives)
        return ObjectAccess(object_type, "scope", lacking)


__all__ = ["CRM", "OPERATIONS", "TOKEN_INFO_PATH", "HubSpotScopes", "operation_scopes"]
