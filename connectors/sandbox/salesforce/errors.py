"""Errors: whole-call errors (:class:`ApiError`, answered as is) and per-record errors (:func:`rec_error`).

A per-record error stays neutral until it is rendered, because the APIs spell it differently:
sObject Collections results say ``statusCode`` (:func:`_for_collection`), single-record calls
answer a list with ``errorCode`` (:func:`_for_single`), Bulk writes ``code:message:fields`` into
its CSV.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

NOT_FOUND = [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}]
ROLLED_BACK = "Record rolled back because not all records were valid and the request was using AllOrNone header"


class ApiError(Exception):
    """A whole-call error: answered as ``status`` with ``body`` (handlers raise it, the app renders it)."""

    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status} {body}")
        self.status = status
        self.body = body
        self.headers = headers or {}


def api_error(status: int, code: str, message: str, fields: list[str] | None = None) -> ApiError:
    err: dict[str, Any] = {"message": message, "errorCode": code}
    if fields is not None:
        err["fields"] = fields
    return ApiError(status, [err])


def rec_error(code: str, message: str, fields: Iterable[str] = (), **extra: Any) -> dict[str, Any]:
    """One per-record error, rendered later for collections (``statusCode``) or single calls (``errorCode``)."""
    return {"code": code, "message": message, "fields": list(fields), **extra}


def _id_on_insert() -> dict[str, Any]:
    return rec_error("INVALID_FIELD_FOR_INSERT_UPDATE", "cannot specify Id in an insert call", ["Id"])


def _for_collection(err: dict[str, Any]) -> dict[str, Any]:
    out = {"statusCode": err["code"], "message": err["message"], "fields": err["fields"]}
    out.update({k: v for k, v in err.items() if k not in ("code", "message", "fields")})
    return out


def _for_single(err: dict[str, Any]) -> dict[str, Any]:
    out = {"message": err["message"], "errorCode": err["code"], "fields": err["fields"]}
    out.update({k: v for k, v in err.items() if k not in ("code", "message", "fields")})
    return out
