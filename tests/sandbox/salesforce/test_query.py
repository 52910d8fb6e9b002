"""SOQL (:mod:`connectors.sandbox.salesforce.query`): escaping, errors, operators, and
``query`` / ``queryAll`` paging.
"""

from __future__ import annotations

import re

import pytest
from simple_salesforce import format_soql
from simple_salesforce.exceptions import SalesforceMalformedRequest

from tests.sandbox.salesforce.conftest import count, create_many, error, lead


def test_soql_string_escaping_with_format_soql(sf):
    rid = sf.Lead.create(lead(Email="o'hara@acme.io", Description='She said "hi"\nthen left\\'))["id"]
    sf.Lead.create(lead(Email="ohara@acme.io"))
    for value in ("o'hara@acme.io", "O'HARA@ACME.IO"):
        result = sf.query(format_soql("SELECT Id, Email FROM Lead WHERE Email = {}", value))
        assert [r["Id"] for r in result["records"]] == [rid]
    result = sf.query(format_soql("SELECT Id FROM Lead WHERE Email LIKE '{:like}%'", "o'h"))
    assert [r["Id"] for r in result["records"]] == [rid]
    assert sf.query("SELECT Id FROM Lead WHERE Email = 'o\\u0027hara@acme.io'")["totalSize"] == 1
    assert sf.Lead.get(rid)["Description"] == 'She said "hi"\nthen left\\'


def test_soql_bad_escape_is_malformed_query(sf):
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.query("SELECT Id FROM Lead WHERE Email = 'o\\hara@acme.io'")
    err = error(exc)
    assert err["errorCode"] == "MALFORMED_QUERY"
    assert "Illegal character sequence '\\h'" in err["message"]


@pytest.mark.parametrize(
    ("soql", "code", "fragment"),
    [
        ("SELECT Id, Nope__c FROM Lead", "INVALID_FIELD", "No such column 'Nope__c' on entity 'Lead'"),
        ("SELECT Id FROM Leed", "INVALID_TYPE", "sObject type 'Leed' is not supported"),
        ("SELECT Id FROM Lead WHERE Email = 'a' AND Title = 'b' OR Company = 'c'", "MALFORMED_QUERY",
         "unexpected token: OR"),
        ("SELECT Id FROM Lead WHERE", "MALFORMED_QUERY", "unexpected token: <EOF>"),
        ("SELECT Id FROM Lead WHERE NumberOfEmployees = '5'", "INVALID_QUERY_FILTER_OPERATOR",
         "must be of type integer"),
        ("SELECT Id FROM Lead WHERE Email = 5", "INVALID_QUERY_FILTER_OPERATOR", "should be enclosed in quotes"),
        ("SELECT Id FROM Lead WHERE Id = 'abc'", "INVALID_QUERY_FILTER_OPERATOR", "invalid ID field: abc"),
        ("SELECT Id FROM Lead WHERE Description = 'x'", "INVALID_FIELD", "can not be filtered"),
        ("SELECT Id, Id FROM Lead", "MALFORMED_QUERY", "duplicate field selected"),
        ("SELECT Id FROM Contact WHERE Acount.Name = 'x'", "INVALID_FIELD", "Didn't understand relationship"),
    ],
)
def test_soql_errors(sf, soql, code, fragment):
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.query(soql)
    err = error(exc)
    assert err["errorCode"] == code
    assert fragment in err["message"]


def test_soql_operators_match_salesforce_semantics(sf):
    rows = [
        lead(LastName="Ames", Email="ames@a.io", NumberOfEmployees=10, Industry="Banking", Country="US"),
        lead(LastName="Baker", Email="baker@b.io", NumberOfEmployees=50, Industry="Technology", Country="DE"),
        lead(LastName="Cole", Email="cole@c.io", NumberOfEmployees=200, Industry="technology", Country="US",
             HasOptedOutOfEmail=True),
        lead(LastName="Drew", NumberOfEmployees=None, Industry=None),
    ]
    ids = [r["id"] for r in create_many(sf, "Lead", rows)]
    a, b, c, d = ids

    def q(where: str, tail: str = "") -> list[str]:
        return [r["Id"] for r in sf.query_all(f"SELECT Id FROM Lead WHERE {where} {tail}")["records"]]

    assert q("Industry = 'TECHNOLOGY'") == [b, c]  # case-insensitive, as in Salesforce
    assert q("Industry != 'Technology'") == [a, d]  # != keeps nulls
    assert q("NumberOfEmployees < 50") == [a]
    assert q("NumberOfEmployees <= 50") == [a, b]
    assert q("NumberOfEmployees > 50") == [c]
    assert q("NumberOfEmployees >= 10 AND NumberOfEmployees != 50") == [a, c]
    assert q("Email LIKE '%@_.io'") == [a, b, c]
    assert q("LastName LIKE 'b%'") == [b]
    assert q("Country IN ('us', 'FR')") == [a, c]
    assert q("Country NOT IN ('US')") == [b, d]
    assert q("Email = null") == [d]
    assert q("Email != null AND (Country = 'DE' OR NumberOfEmployees > 100)") == [b, c]
    assert q("NOT (Country = 'US')") == [b, d]
    assert q("HasOptedOutOfEmail = true") == [c]
    assert q("CreatedDate = TODAY") == ids
    assert q("CreatedDate > 2020-01-01T00:00:00Z AND CreatedDate < 2100-01-01T00:00:00Z") == ids
    assert q("Id IN ({})".format(", ".join(f"'{i[:15]}'" for i in (a, d)))) == [a, d]
    assert q("Email != null", "ORDER BY NumberOfEmployees DESC LIMIT 2") == [c, b]
    assert q("LastName != null", "ORDER BY NumberOfEmployees ASC NULLS LAST") == [a, b, c, d]
    assert q("LastName != null", "ORDER BY Email DESC NULLS FIRST LIMIT 2 OFFSET 1") == [c, b]
    assert count(sf, "Lead", "WHERE Country = 'US'") == 2
    aggregate = sf.query("SELECT COUNT(Email) FROM Lead")["records"][0]
    assert aggregate["expr0"] == 3


def test_query_pages_of_2000_with_next_records_url(sf):
    result = sf.bulk2.Lead.insert(records=[lead(LastName=f"L{i:04d}") for i in range(2500)], wait=0)
    assert result[0]["numberRecordsFailed"] == 0
    first = sf.query("SELECT Id, LastName FROM Lead ORDER BY LastName")
    assert (first["totalSize"], first["done"], len(first["records"])) == (2500, False, 2000)
    assert re.fullmatch(r"/services/data/v62\.0/query/01g[0-9A-Za-z]{15}-2000", first["nextRecordsUrl"])
    second = sf.query_more(first["nextRecordsUrl"], identifier_is_url=True)
    assert (second["done"], len(second["records"]), second["records"][-1]["LastName"]) == (True, 500, "L2499")
    assert "nextRecordsUrl" not in second
    everything = sf.query_all("SELECT Id FROM Lead")
    assert len({r["Id"] for r in everything["records"]}) == 2500
    assert count(sf) == 2500


def test_query_all_includes_deleted_records(sf):
    keep, gone = (r["id"] for r in create_many(sf, "Lead", [lead(LastName="Keep"), lead(LastName="Gone")]))
    sf.Lead.delete(gone)
    assert [r["Id"] for r in sf.query_all("SELECT Id FROM Lead")["records"]] == [keep]
    rows = sf.query_all("SELECT Id, IsDeleted FROM Lead ORDER BY LastName", include_deleted=True)["records"]
    assert [(r["Id"], r["IsDeleted"]) for r in rows] == [(gone, True), (keep, False)]
