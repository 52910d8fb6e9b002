"""The base every part of the HubSpot sandbox builds on.

:class:`HubSpotBase` declares the state the mixins share (the token, the limit windows, the
day's usage, the cached property definitions), so each mixin type-checks on its own, and holds
what every handler needs: the cached property definitions and which of them hold unique values,
the object type named in a path, a JSON body or a batch's ``inputs`` (at most 100), the shape of
a batch answer, and integer query arguments.
"""

from __future__ import annotations

import json
import time
from collections import deque
from typing import Any
from urllib.parse import unquote

from connectors.sandbox.base import App, Request
from connectors.sandbox.hubspot.errors import validation_error
from connectors.sandbox.hubspot.model import OBJECT_TYPES, ObjectType, iso_ms, resolve_type

MAX_BATCH = 100


def now_ms() -> int:
    return int(time.time() * 1000)


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() == "true"


class HubSpotBase(App):
    """State and helpers shared by every HubSpot sandbox mixin; ``HubSpotApp`` sets the state up."""

    token: str
    _ten_second: deque[float]
    _search_second: deque[float]
    _daily_day: str
    _daily_used: int
    _window_peak: int
    _refused: dict[str, int]
    _props: dict[str, dict[str, dict[str, Any]]]

    # -- property definitions and unique values ----------------------------------------------
    def _load_properties(self) -> None:
        self._props = {otype: {} for otype in OBJECT_TYPES}
        for row in self.db.execute("SELECT otype, name, definition FROM hs_properties WHERE archived = 0"):
            self._props[row["otype"]][row["name"]] = json.loads(row["definition"])

    def _unique_props(self, ot: ObjectType) -> list[str]:
        names = [n for n, d in self._props[ot.name].items() if d.get("hasUniqueValue")]
        if ot.name == "contacts" and "email" in self._props[ot.name]:
            names.append("email")
        return names

    @staticmethod
    def _unique_key(prop: str, value: str) -> str:
        return value.strip().lower() if prop == "email" else value

    # -- request helpers -----------------------------------------------------------------------
    @staticmethod
    def _type(name: str) -> ObjectType:
        ot = resolve_type(unquote(name))
        if ot is None:
            raise validation_error(f"Unable to infer object type from: {unquote(name)}")
        return ot

    @staticmethod
    def _body(req: Request) -> Any:
        try:
            return req.json()
        except (ValueError, UnicodeDecodeError) as exc:
            raise validation_error(f"Invalid input JSON on line 1, column 1: {exc}") from None

    def _inputs(self, req: Request, limit: int = MAX_BATCH) -> tuple[dict[str, Any], list[Any]]:
        body = self._body(req)
        if not isinstance(body, dict) or not isinstance(body.get("inputs"), list):
            raise validation_error('Invalid input JSON: the request body needs an "inputs" array')
        inputs = body["inputs"]
        if len(inputs) > limit:
            raise validation_error(
                f"Too many inputs: {len(inputs)}. The maximum number of inputs per batch request is {limit}.",
                errors=[{"message": f"size must be between 0 and {limit}", "in": "inputs", "code": "TOO_MANY"}],
            )
        for item in inputs:
            if not isinstance(item, dict):
                raise validation_error("Invalid input JSON: every input must be an object")
        return body, inputs

    @staticmethod
    def _batch(results: list[Any], errors: list[dict[str, Any]] | None = None, started: int | None = None) -> Any:
        done = now_ms()
        body: dict[str, Any] = {"status": "COMPLETE", "results": results}
        if errors:
            body["numErrors"] = len(errors)
            body["errors"] = errors
        body["startedAt"] = iso_ms(started if started is not None else done)
        body["completedAt"] = iso_ms(done)
        return body

    @staticmethod
    def _int_arg(req: Request, name: str, default: int) -> int:
        raw = req.arg(name)
        if raw in (None, ""):
            return default
        try:
            return int(str(raw))
        except ValueError:
            raise validation_error(f"{name} must be an integer, got {raw!r}") from None
