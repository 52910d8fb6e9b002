"""Error answers of the HubSpot sandbox, in HubSpot's shapes.

:class:`ApiError` is a request-level error: raised anywhere in a handler, it is answered as-is
(the route wrapper in ``app`` catches it) and nothing is written. :class:`Failure` is why one
input of a batch failed: answered for the whole batch unless every input carries an
``objectWriteTraceId``, then per input in a 207 multi-status.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from connectors.sandbox.base import Response
from connectors.sandbox.hubspot.model import Problem, problems_message


def correlation_id() -> str:
    return str(uuid.uuid4())


class ApiError(Exception):
    """A request-level error: answered as-is, nothing is written."""

    def __init__(self, status: int, category: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.body: dict[str, Any] = {
            "status": "error",
            "message": message,
            "correlationId": correlation_id(),
            "category": category,
            **extra,
        }

    def response(self) -> Response:
        return Response(self.status, self.body)


def validation_error(message: str, **extra: Any) -> ApiError:
    return ApiError(400, "VALIDATION_ERROR", message, **extra)


@dataclass
class Failure:
    """Why one batch input failed; answered for the whole batch or per input (207)."""

    status: int
    category: str
    message: str
    problems: list[Problem] = field(default_factory=list)
    context: dict[str, list[str]] = field(default_factory=dict)
    winner: int | None = None  # an earlier input of the same batch claimed the unique value

    @classmethod
    def invalid(cls, problems: list[Problem]) -> Failure:
        return cls(400, "VALIDATION_ERROR", problems_message(problems), problems)

    def whole(self) -> Response:
        body: dict[str, Any] = {"status": "error", "message": self.message, "correlationId": correlation_id()}
        if self.problems:
            body["errors"] = [p.detail() for p in self.problems]
        if self.context:
            body["context"] = self.context
        body["category"] = self.category
        return Response(self.status, body)

    def per_input(self, trace: str | None) -> dict[str, Any]:
        context = dict(self.context)
        if trace is not None:
            context["objectWriteTraceId"] = [trace]
        return {"status": "error", "category": self.category, "message": self.message, "context": context}
