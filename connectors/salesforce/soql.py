"""Building SOQL safely: validated identifiers, quoted values, ``IN`` and ``LIKE`` lists cut to fit a URL.

A REST query travels in the URL (``GET …/query?q=…``), and Salesforce refuses a request
whose URI and headers together pass 16,384 bytes (414 / 431). So a long ``IN`` list is cut
into several statements, each measured *as it will be sent*: percent-encoded, the way
``requests`` encodes ``params``. Counting values instead of bytes would either waste
calls (short values) or overflow (long, escape-heavy ones).

Values are quoted only by simple-salesforce's ``format_soql``, which escapes ``\\`` and
``'`` (and ``"``, newlines, tabs…) the way the SOQL reference documents; identifiers are
never quoted, so they are checked against a strict pattern instead. A text looked for with
``LIKE`` is also escaped for ``LIKE`` (``\\%``, ``\\_``), so it never acts as a wildcard.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from urllib.parse import quote_plus, urlencode

from simple_salesforce.format import format_soql, quote_soql_value

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
    """One SOQL literal, quoted and escaped as ``format_soql("{}", value)`` does.

    ``quote_soql_value`` is what ``format_soql`` calls for a plain ``{}``; called directly it
    skips the ``string.Formatter`` machinery, which dominated building a million keys' queries.
    """
    return quote_soql_value(value)


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
    for _, statement in in_query_chunks(query_url, sobject, match_field, values, fields, where=where,
                                        max_url_bytes=max_url_bytes):
        yield statement


def in_query_chunks(
    query_url: str,
    sobject: str,
    match_field: str,
    values: list[str],
    fields: list[str],
    *,
    where: str | None = None,
    max_url_bytes: int = MAX_QUERY_URL_BYTES,
) -> Iterator[tuple[list[str], str]]:
    """:func:`in_queries`, each statement with the values it carries (so a failed one names them)."""
    check_identifier(sobject, "object name")
    check_identifier(match_field, "field name")
    for f in fields:
        check_identifier(f, "field name")
    head = f"SELECT {', '.join(fields)} FROM {sobject} WHERE {match_field} IN ("
    tail = ")" + (f" AND ({where})" if where else "")
    for group, terms in _pack(query_url, head, tail, ",", [(v, [quote(v)]) for v in values], max_url_bytes,
                              what=match_field):
        yield group, head + ",".join(terms) + tail


def estimate_in_queries(query_url: str, head_bytes: int, values: list[str], *,
                        max_url_bytes: int = MAX_QUERY_URL_BYTES) -> int:
    """About how many ``IN`` statements ``values`` need, without quoting or encoding any of them.

    Each value costs its length plus its quotes and the encoded comma (``'…'%2C``: 3 + 2 bytes;
    escapes and multi-byte characters are rarer than that slack). For choosing a read path only:
    the statements themselves are always cut by :func:`in_query_chunks` on exact sizes.
    """
    room = max_url_bytes - len(query_url) - head_bytes - 3
    if not values:
        return 0
    if room <= 0:
        return len(values)
    total = sum(len(v) + 5 for v in values)
    return max(1, -(-total // room))


def like_contains(text: str) -> str:
    """A quoted SOQL ``LIKE`` pattern matching any value that contains ``text``.

    ``text`` is escaped as a string literal and then for ``LIKE`` (``%`` becomes ``\\%``, ``_``
    becomes ``\\_``, as the SOQL reference documents), by ``format_soql``'s ``:like`` spec, so
    it matches only itself.
    """
    return "'%" + format_soql("{:like}", text) + "%'"


def contains_query_chunks(
    query_url: str,
    sobject: str,
    match_field: str,
    needles: Sequence[tuple[str, Sequence[str]]],
    fields: list[str],
    *,
    max_url_bytes: int = MAX_QUERY_URL_BYTES,
) -> Iterator[tuple[list[str], str]]:
    """``SELECT … WHERE match_field LIKE '%n1%' OR match_field LIKE '%n2%' …`` statements.

    ``needles`` pairs a caller's key with the texts to look for on its behalf; every text of a
    key goes in the same statement, so each statement comes with the keys it covers. SOQL has
    no ``LIKE IN``, so the terms are OR-ed; statements are cut to the URL budget as in
    :func:`in_queries`. ``LIKE`` compares case-insensitively, as SOQL does.
    """
    check_identifier(sobject, "object name")
    check_identifier(match_field, "field name")
    for f in fields:
        check_identifier(f, "field name")
    head = f"SELECT {', '.join(fields)} FROM {sobject} WHERE "
    items = [(key, [f"{match_field} LIKE {like_contains(t)}" for t in texts]) for key, texts in needles if texts]
    for group, terms in _pack(query_url, head, "", " OR ", items, max_url_bytes, what=match_field):
        yield group, head + " OR ".join(terms)


def _pack(
    query_url: str, head: str, tail: str, sep: str, items: list[tuple[str, list[str]]], max_url_bytes: int,
    *, what: str,
) -> Iterator[tuple[list[str], list[str]]]:
    """Cut ``items`` (a key and its SOQL terms) into statements whose URL fits ``max_url_bytes``.

    urlencode / quote_plus encode character by character, so encoded lengths add up.
    """
    base = len(query_url) + len(urlencode({"q": head + tail})) + 1  # +1 for the "?"
    if base >= max_url_bytes:
        raise ValueError("the query without values is already longer than the URL budget")
    gap = len(quote_plus(sep))
    keys: list[str] = []
    terms: list[str] = []
    size = base
    for key, item_terms in items:
        cost = sum(len(quote_plus(t)) for t in item_terms) + gap * (len(item_terms) - 1)
        if terms and size + gap + cost > max_url_bytes:
            yield keys, terms
            keys, terms, size = [], [], base
        if size + (gap if terms else 0) + cost > max_url_bytes:
            raise ValueError(f"a {what} value of {len(key)} characters cannot fit in a query URL")
        size += (gap if terms else 0) + cost
        keys.append(key)
        terms.extend(item_terms)
    if terms:
        yield keys, terms
