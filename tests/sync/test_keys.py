"""Record keys: one normalisation of a company's domain for the warehouse and the CRM, and rows
without a usable key turned into outcomes (pure, no server)."""

from __future__ import annotations

import polars as pl
import pytest

from dagster_pipeline.sync.keys import KEY, ROW, display_forms, domain_keys, key_rows, normalise_domain
from tests.sync.frames import companies, company, person, persons

SAME = [
    "samedom.com", "SameDom.COM", " samedom.com ", "\tsamedom.com\n", "samedom.com.", "www.samedom.com",
    "https://www.samedom.com/", "http://samedom.com", "HTTPS://WWW.SAMEDOM.COM/ABOUT", "//samedom.com/x",
    "samedom.com/about/team", "samedom.com?utm_source=x", "samedom.com#pricing", "samedom.com:8080",
    "https://user:secret@www.samedom.com:8443/a/b?c=d#e", "ftp://samedom.com", "samedom.com\\path",
]


@pytest.mark.parametrize("spelling", SAME)
def test_every_spelling_of_a_domain_is_one_key(spelling: str) -> None:
    assert normalise_domain(spelling) == "samedom.com"


@pytest.mark.parametrize(("spelling", "key"), [
    ("bücher.de", "xn--bcher-kva.de"),
    ("https://www.BÜCHER.de/kontakt", "xn--bcher-kva.de"),
    ("xn--bcher-kva.de", "xn--bcher-kva.de"),
    ("münchen.example.", "xn--mnchen-3ya.example"),
    ("sub.acme.io", "sub.acme.io"),  # a subdomain is another company's site
    ("www2.acme.io", "www2.acme.io"),
    ("o'brien.com", "o'brien.com"),
])
def test_internationalised_names_become_punycode_and_subdomains_stay(spelling: str, key: str) -> None:
    assert normalise_domain(spelling) == key


@pytest.mark.parametrize("nothing", [None, "", "   ", "https://", "http:///about", "//", "user@"])
def test_a_value_without_a_host_has_no_key(nothing: str | None) -> None:
    assert normalise_domain(nothing) is None


def test_a_domain_that_is_no_host_name_fails_missing_key_and_makes_no_company() -> None:
    """``back\\slash.io`` keys to ``back`` (a backslash ends the host, as in a browser): a company with
    the domain ``back`` would be junk in the CRM, as would ``acme corp.com`` or ``localhost``."""
    keyed = key_rows(companies(company("acme.io"), company("back\\slash.io"), company("acme corp.com"),
                               company("localhost"), company("a..b.io"), company("o'brien.com"),
                               company("bücher" + "x" * 70 + ".de"),  # a label IDNA refuses (over 63)
                               company("x" * 64 + ".io"), company(("a" * 60 + ".") * 5 + "io"),  # DNS's limits
                               company("x" * 63 + "." + "b" * 63 + ".io")),
                     "company", obj="Account", model="m")
    assert keyed.frame[KEY].to_list() == ["acme.io", "o'brien.com", "x" * 63 + "." + "b" * 63 + ".io"]
    assert keyed.dropped.select("key", "reason").rows() == [
        (f"(row {n}: domain is not a host name)", "missing_key") for n in (2, 3, 4, 5, 7, 8, 9)]
    # A person's company that is no host name links to nothing (and is not written as a website).
    people = key_rows(persons(person("a@x.io", "back\\slash.io"), person("b@x.io", "https://www.X.io/")), "person",
                      obj="Lead", model="m")
    assert people.frame["company_domain"].to_list() == [None, "x.io"]


def test_frames_and_single_values_are_keyed_alike() -> None:
    values = [*SAME, "bücher.de", None, "", "Acme.io/x"]
    assert domain_keys(pl.Series(values)).to_list() == [normalise_domain(v) for v in values]


def test_display_forms_add_the_unicode_spelling_of_a_punycode_key() -> None:
    assert display_forms("xn--bcher-kva.de") == ["xn--bcher-kva.de", "bücher.de"]
    assert display_forms("acme.io") == ["acme.io"]


def test_key_rows_keeps_the_first_row_of_each_key_and_accounts_for_the_others() -> None:
    p = persons(person("ann@acme.io"), person(None, first_name="Nobody"), person(" ANN@acme.io"),
                person("bob@acme.io", "https://www.Acme.io/"), person("\t"))
    keyed = key_rows(p, "person", obj="Lead", model="sync_x__persons")
    assert keyed.rows == 5
    assert keyed.frame.select(KEY, ROW).rows() == [("ann@acme.io", 1), ("bob@acme.io", 4)]
    assert keyed.frame["company_domain"].to_list() == ["acme.io", "acme.io"]  # people find their company
    dropped = keyed.dropped.sort("key")
    assert dropped.select("key", "action", "reason").rows() == [
        ("(row 2: email is null)", "failed", "missing_key"),
        ("(row 5: email is blank)", "failed", "missing_key"),
        ("ANN@acme.io", "skipped", "duplicate_key"),
    ]
    assert dropped["message"][0] == ("row 2 of sync_x__persons has no usable email, so it cannot be matched or "
                                     "written; fix the model (first_name=Nobody, last_name=Example, "
                                     "company_domain=acme.io)")
    assert dropped["message"][2] == ("row 3 of sync_x__persons has the same email as row 1, which is synced as "
                                     "ann@acme.io; only the first row of a key is synced")
    assert set(dropped["object"]) == {"Lead"}


def test_key_rows_writes_the_normalised_domain() -> None:
    keyed = key_rows(companies(company("https://www.Acme.io/about"), company("https://")), "company",
                     obj="Account", model="m")
    assert keyed.frame.select(KEY, "domain").rows() == [("acme.io", "acme.io")]
    assert keyed.dropped["key"].to_list() == ["(row 2: domain has no host)"]
