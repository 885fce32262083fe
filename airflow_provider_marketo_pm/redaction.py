"""Credentials out of every text this provider hands on: exception messages and trigger events.

A server may echo the request back in an error body (a proxy, a hostile or broken endpoint): the token
call's form with the client secret, or the ``Authorization`` header with the access token. The hook
registers the secret and every token with Airflow's secrets masker, which hides them in task logs; an
exception's text and a trigger event are not log lines, so they are redacted here. What a server said is
redacted both ways: what the masker knows, and anything shaped like a credential (``client_secret=…``,
``"access_token": "…"``, ``Bearer …``), even a value the masker was never told about or one it would not
recognise URL-encoded. Our own words get the second way only.
"""

from __future__ import annotations

import re

from airflow_provider_marketo_pm.version_compat import redact

REDACTED = "***"
_NAMES = r"client_secret|access_token|refresh_token"
_CREDENTIALS = (
    # a form or a query: client_secret=abc&... (URL-encoded or not)
    (re.compile(rf"(?i)\b({_NAMES})=[^&\s\"'<>;,]+"), rf"\1={REDACTED}"),
    # JSON or a Python repr: "access_token": "abc", 'client_secret': 'abc'
    (
        re.compile(
            rf"(?i)([\"']?(?:{_NAMES})[\"']?\s*:\s*)(\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'|[^\s,;}}]+)"
        ),
        rf"\1{REDACTED}",
    ),
    # the value of an Authorization header
    (re.compile(r"(?i)\b(bearer)\s+[^\s\"'<>;,]+"), rf"\1 {REDACTED}"),
)


def redact_credentials(text: str) -> str:
    """
    ``text`` from a server with the client secret and access tokens replaced by ``***``: anything shaped
    like a credential, then every secret Airflow's masker knows (wherever it appears).
    """
    text = redact_credential_shapes(text)
    masked = redact(text) if text else text
    return masked if isinstance(masked, str) else text


def redact_credential_shapes(text: str) -> str:
    """
    Only what is shaped like a credential, for our own texts: the masker would also hide a word of ours
    that happens to be a (short, test) secret, like "secret" in "client secret (password)".
    """
    for pattern, replacement in _CREDENTIALS:
        text = pattern.sub(replacement, text) if text else text
    return text


__all__ = ["REDACTED", "redact_credential_shapes", "redact_credentials"]
