"""The Salesforce sandbox, driven only through the real simple-salesforce SDK (and raw HTTPS for OAuth).

Every assertion is about what a Salesforce client sees on the wire: status codes, error codes
and messages, per-record results, headers. The admin API is used only to switch config and
inject faults, never to read state behind the SDK's back. One test module per module of
``connectors/sandbox/salesforce/``.
"""
