"""Credentials, URLs and CA files read from the environment, checked before the first call.

Each check raises ``ValueError`` naming the variable and what is wrong with it — never the
value: a token with a trailing line break would otherwise reach an HTTP library that quotes
the whole ``Authorization`` header in its traceback. ``dagster_pipeline.connect`` turns the
``ValueError`` into a configuration error (one line, exit code 2).

What is refused:

- in anything sent in an HTTP header (access tokens): any character outside printable ASCII,
  spaces included — tokens have none, so one there is a copy-and-paste or ``export`` accident;
- in user names, security tokens, client ids and secrets: spaces, tabs, line breaks and
  control characters; in passwords: tabs, line breaks and control characters (a space may be
  part of a password);
- URLs without ``scheme://host``, with another scheme than the CRM speaks, with a user name or
  password, a query string or a fragment, with whitespace, or with a port that is not a number;
- a CA file that does not exist, cannot be read, or holds no certificate the TLS library can load.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import unquote, urlsplit

#: Variables whose values are secrets: never printed, scrubbed from any text shown as a last resort.
SECRET_VARS = (
    "SALESFORCE_ACCESS_TOKEN", "SALESFORCE_PASSWORD", "SALESFORCE_SECURITY_TOKEN", "SALESFORCE_CLIENT_SECRET",
    "HUBSPOT_ACCESS_TOKEN",
)
_FROM_FILE_HINT = "set it again without it (a value copied from a file often ends with a line break)"


def _clip(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _bad_character(value: str, *, header: bool, spaces: bool) -> tuple[int, str] | None:
    """(position, kind) of the first character a credential may not hold, or ``None``."""
    for i, ch in enumerate(value):
        if ch in "\r\n":
            return i, "a line break"
        if ch == "\t":
            return i, "a tab"
        if ch == " ":
            if spaces:
                continue
            return i, "a space"
        if not ch.isprintable() or (ch.isspace() and not spaces):
            return i, "a control or blank character"
        if header and not ("!" <= ch <= "~"):
            return i, "a non-ASCII character"
    return None


def env_secret(env: Mapping[str, str], name: str, *, header: bool = False, spaces: bool = False) -> str | None:
    """The credential in ``env[name]`` (``None`` when unset or empty), checked character by character.

    ``header``: it travels in an HTTP header, so only printable ASCII is allowed; ``spaces``: a
    space inside is legitimate (passwords).
    """
    value = env.get(name) or None
    if value is None:
        return None
    bad = _bad_character(value, header=header, spaces=spaces)
    if bad is not None:
        i, kind = bad
        where = "starts with" if i == 0 else "ends with" if i == len(value) - 1 else "contains"
        raise ValueError(f"{name} {where} {kind}, which no credential holds; {_FROM_FILE_HINT}")
    return value


def env_url(env: Mapping[str, str], name: str, *, schemes: tuple[str, ...], required: bool = False,
            default: str | None = None) -> str | None:
    """The URL in ``env[name]`` without a trailing slash, checked for scheme, host and port."""
    raw = (env.get(name) or "").strip()
    if not raw:
        if required:
            raise ValueError(f"{name} is not set")
        return default
    example = f"{schemes[0]}://<host>[:port]"
    if any(ch.isspace() or not ch.isprintable() for ch in raw):
        raise ValueError(f"{name} contains a space or control character; write it as {example}")
    if "://" not in raw:
        raise ValueError(f"{name} has no scheme; write it as {example}")
    parts = urlsplit(raw)
    if parts.scheme.lower() not in schemes:
        allowed = " or ".join(f"{s}://" for s in schemes)
        raise ValueError(f"{name} must start with {allowed} (it starts with {_clip(parts.scheme, 20)}://)")
    if parts.username is not None or parts.password is not None:
        raise ValueError(f"{name} must not carry a user name or password; credentials go in their own variables")
    if not parts.hostname:
        raise ValueError(f"{name} has no host name; write it as {example}")
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port == 0:
        raise ValueError(f"{name} has a port that is not a number from 1 to 65535")
    if parts.query or parts.fragment or raw.endswith(("?", "#")):
        raise ValueError(f"{name} must not carry a query string or fragment; write it as {example}")
    return raw.rstrip("/")


def env_ca_file(env: Mapping[str, str], name: str) -> str | None:
    """The CA bundle in ``env[name]``: a readable PEM file (or a directory of them), checked now
    rather than at the first call, where it would surface as a TLS error."""
    raw = (env.get(name) or "").strip()
    if not raw:
        return None
    path = Path(raw).expanduser()
    shown = _clip(str(path))
    if not path.exists():
        raise ValueError(f"{name}: no such file: {shown}")
    if path.is_dir():
        if not os.access(path, os.R_OK | os.X_OK):
            raise ValueError(f"{name}: the directory cannot be read (permission denied): {shown}")
        return str(path)
    try:
        with path.open("rb") as f:
            f.read(1)
    except PermissionError:
        raise ValueError(f"{name}: the file cannot be read (permission denied): {shown}") from None
    except OSError as exc:
        raise ValueError(f"{name}: the file cannot be read ({exc.strerror or type(exc).__name__}): {shown}") from None
    try:
        ssl.create_default_context(cafile=str(path))
    except (ssl.SSLError, ValueError):
        raise ValueError(f"{name}: holds no PEM certificate the TLS library can load: {shown}") from None
    return str(path)


def redact_environment(text: str, env: Mapping[str, str] | None = None) -> str:
    """``text`` without the value of any secret variable (nor a warehouse URL's password).

    The last line of defence, for text nobody built on purpose (a traceback of a bug): every
    message we build is already free of credentials.
    """
    from connectors.errors import redact_bearer

    env = os.environ if env is None else env
    secrets = [env.get(name) or "" for name in SECRET_VARS]
    secrets += [v.strip() for v in secrets]
    try:
        password = urlsplit(env.get("WRITEBACK_WAREHOUSE_URL") or "").password
    except ValueError:
        password = None
    if password:
        secrets += [password, unquote(password)]
    for secret in sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True):
        text = text.replace(secret, "[redacted]")
    return redact_bearer(text)
