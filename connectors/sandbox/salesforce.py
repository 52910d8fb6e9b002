"""Placeholder: the salesforce sandbox app is being written."""

from __future__ import annotations

from pathlib import Path

from connectors.sandbox.base import App


class SalesforceApp(App):
    name = "salesforce"

    def __init__(self, db_path: Path, *, token: str) -> None:
        self.token = token
        super().__init__(db_path)
