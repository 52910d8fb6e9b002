"""Salesforce connector: client factory, schema (describe / Tooling API), reads and writes."""
