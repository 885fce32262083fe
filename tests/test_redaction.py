"""Credentials out of every text we hand on: what Airflow's masker knows, and anything shaped like one."""

from __future__ import annotations

import pickle

import pytest

from airflow_provider_marketo_pm.exceptions import MarketoApiError, MarketoDownloadError
from airflow_provider_marketo_pm.redaction import redact_credential_shapes, redact_credentials
from airflow_provider_marketo_pm.version_compat import mask_secret

SECRET = "Rd4-redaction-SECRET-91c2"


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        (
            "grant_type=client_credentials&client_id=abc&client_secret=S%2Bx%2F9&x=1",
            "grant_type=client_credentials&client_id=abc&client_secret=***&x=1",
        ),
        ("GET /x?access_token=tok:ab HTTP/1.1", "GET /x?access_token=*** HTTP/1.1"),
        ('{"access_token": "tok:ab", "expires_in": 3599}', '{"access_token": ***, "expires_in": 3599}'),
        ("{'client_secret': 'a b'}", "{'client_secret': ***}"),
        ('"CLIENT_SECRET":"a\\"b"', '"CLIENT_SECRET":***'),
        ("Authorization: Bearer 5e2c8a41:ab; Host: x", "Authorization: Bearer ***; Host: x"),
    ],
)
def test_credential_shaped_values_are_redacted(text, redacted):
    assert redact_credential_shapes(text) == redacted


def test_our_own_words_are_left_alone():
    mask_secret("secret")  # a short test password: the masker would hide the word anywhere
    for text in (
        "Check the client id (login) and client secret (password).",
        "no access_token in the answer",
    ):
        assert redact_credential_shapes(text) == text
    error = MarketoApiError("Bad client credentials", endpoint="token", hint="Check the client secret.")
    assert str(error) == "Marketo token call failed with Bad client credentials. Check the client secret."


def test_a_secret_registered_with_airflows_masker_is_redacted_anywhere():
    mask_secret(SECRET)
    assert redact_credentials(f"the server said: {SECRET}!") == "the server said: ***!"


def test_exceptions_redact_their_message_attributes_and_hint():
    error = MarketoApiError(
        "echo: client_secret=Qx1&x", request_id="Bearer Tk2", endpoint="token", hint="sent access_token=Tk3"
    )
    # (the message is the server's: Airflow's masker may also hide a registered word of it, like "secret")
    assert error.message.startswith("echo: client_")
    assert error.message.endswith("=***&x")
    assert (error.request_id, error.hint) == ("Bearer ***", "sent access_token=***")
    assert all(value not in str(error) for value in ("Qx1", "Tk2", "Tk3"))
    error.hint = "a hint set later: Bearer late-token"
    error.args = (error._render(),)
    assert "late-token" not in str(error)
    assert str(pickle.loads(pickle.dumps(error))) == str(error)
    assert "s3cr3t" not in str(MarketoDownloadError("broke (last: client_secret=s3cr3t)"))
