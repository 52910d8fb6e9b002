"""The sandbox's own admin route (:mod:`connectors.sandbox.salesforce.admin`)."""

from __future__ import annotations

from tests.sandbox.salesforce.conftest import create_many, lead


def test_admin_records_dump_shows_live_and_deleted_records(sf, sandbox):
    keep, gone = (r["id"] for r in create_many(sf, "Lead", [lead(LastName="Keep"), lead(LastName="Gone")]))
    sf.Lead.delete(gone)
    dump = sandbox.admin("salesforce", "GET", "records/Lead")
    assert dump["totalSize"] == 2
    assert {(r["Id"], r["IsDeleted"]) for r in dump["records"]} == {(keep, False), (gone, True)}
