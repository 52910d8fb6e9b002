"""Building SOQL safely: validated identifiers, quoted values, ``IN`` lists cut to fit a URL.

A REST query travels in the URL (``GET …/query?q=…``), and Salesforce refuses a request
whose URI and headers together pass 16,384 bytes (414 / 431). So a long ``IN`` list is cut
into several statements, each measured *as it will be sent*: percent-encoded, the way
``requests`` encodes ``params``. Counting values instead of bytes would either waste
calls (short values) or overflow (long, escape-heavy ones).

Values are quoted only by simple-salesforce's ``format_soql``, which escapes ``\\`` and
``'`` (and ``"``, newlines, tabs…) the way the SOQL reference documents; identifiers are
never quoted, so they are checked against a strict pattern instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from urllib.parse import quote_plus, urlencode

from simple_salesforce.format import format_soql

IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

#: Longest query URL we send. Salesforce allows 16,384 bytes for the URI *and* headers
#: together; the headers (bearer token, content type, user agent) need well under 4 KB.
MAX_QUERY_URL_BYTES = 12_000


def check_identifier(name: str, what: str = "identifier") -> str:
    """``name`` if it is a plain API name (``Email``, ``Warmly_Sync_Key__c``), else ``ValueError``."""
    if not isinstance(name, str) or not IDENTIFIER.match(name):
        raise ValueError(f"invalid Salesforce {what}: {name!r}")
    return name


def quote(value: object) -> str:
    """One SOQL literal, quoted and escaped by ``format_soql``."""
    return format_soql("{}", value)


def select_fields(fields: Iterable[str], *always: str) -> list[str]:
    """Validated field list with ``always`` added in front, without case-insensitive duplicates."""
    out: list[str] = []
    seen: set[str] = set()
    for name in (*always, *fields):
        check_identifier(name, "field name")
        if name.lower() not in seen:
            seen.add(name.lower())
            out.append(name)
    return out


def unique(values: Iterable[str]) -> list[str]:
    """Values in first-seen order, each once (a repeated value would only lengthen the URL)."""
    return list(dict.fromkeys(values))


def in_queries(
    query_url: str,
    sobject: str,
    match_field: str,
    values: list[str],
    fields: list[str],
    *,
    where: str | None = None,
    max_url_bytes: int = MAX_QUERY_URL_BYTES,
) -> Iterator[str]:
    """``SELECT … WHERE match_field IN (…) [AND (where)]`` statements covering ``values``.

    Each statement's full request URL (``query_url`` + ``?q=`` + encoded SOQL) stays within
    ``max_url_bytes``. ``where`` is a trusted SOQL fragment written by our own code (build
    any value in it with :func:`quote`); it is never built from raw input here.
    """
    check_identifier(sobject, "object name")
    check_identifier(match_field, "field name")
    for f in fields:
        check_identifier(f, "field name")
    head = f"SELECT {', '.join(fields)} FROM {sobject} WHERE {match_field} IN ("
    tail = ")" + (f" AND ({where})" if where else "")
    # urlencode / quote_plus encode character by character, so encoded lengths add up.
    base = len(query_url) + len(urlencode({"q": head + tail})) + 1  # +1 for the "?"
    if base >= max_url_bytes:
        raise ValueError("the query without values is already longer than the URL budget")
    comma = len(quote_plus(","))
    chunk: list[str] = []
    size = base
    for value in values:
        literal = quote(value)
        cost = len(quote_plus(literal)) + (comma if chunk else 0)
        if chunk and size + cost > max_url_bytes:
            yield head + ",".join(chunk) + tail
            chunk, size = [], base
            cost = len(quote_plus(literal))
        if size + cost > max_url_bytes:
            raise ValueError(f"a {match_field} value of {len(value)} characters cannot fit in a query URL")
        chunk.append(literal)
        size += cost
    if chunk:
        yield head + ",".join(chunk) + tail
