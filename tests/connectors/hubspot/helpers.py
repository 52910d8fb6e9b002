"""Helpers for the HubSpot connector tests: a fake clock, and the SDK and sandbox calls that
seed and check CRM state without going through the connector."""

from __future__ import annotations

from typing import Any

from hubspot import HubSpot
from hubspot.crm.contacts import BatchInputSimplePublicObjectBatchInputForCreate, BatchReadInputSimplePublicObjectId


class FakeClock:
    """A monotonic clock that only moves when someone sleeps on it."""

    def __init__(self) -> None:
        self.now = 1_000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def server_calls(sandbox: Any, suffix: str) -> int:
    """Calls the sandbox received on endpoints ending with ``suffix`` (faulted ones included)."""
    return sum(n for k, n in sandbox.calls("hubspot")["by_endpoint"].items() if k.endswith(suffix))


def fault(sandbox: Any, **spec: Any) -> None:
    sandbox.admin("hubspot", "POST", "faults", spec)


def all_contacts(hs: HubSpot) -> list[Any]:
    return hs.crm.contacts.get_all(properties=["email", "firstname", "lastname"])


def sdk_read_by_email(hs: HubSpot, emails: list[str], props: list[str]) -> dict[str, dict[str, Any]]:
    model = BatchReadInputSimplePublicObjectId(
        properties_with_history=[], id_property="email", inputs=[{"id": e} for e in emails],
        properties=[*props, "email"],
    )
    answer = hs.crm.contacts.batch_api.read(model)
    return {r.properties["email"]: {"id": r.id, **r.properties} for r in answer.results}


def sdk_create_contacts(hs: HubSpot, emails: list[str]) -> dict[str, str]:
    model = BatchInputSimplePublicObjectBatchInputForCreate(
        inputs=[{"properties": {"email": e, "firstname": e.split("@")[0]}} for e in emails]
    )
    answer = hs.crm.contacts.batch_api.create(model)
    return {r.properties["email"]: r.id for r in answer.results}
