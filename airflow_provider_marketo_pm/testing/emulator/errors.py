"""The one exception the emulator's internals raise to make an endpoint answer a Marketo error envelope."""

from __future__ import annotations


class MarketoApiFault(Exception):
    """Answered as ``{"success": false, "errors": [{"code": code, "message": message}]}`` with HTTP 200."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code} {message}")
        self.code = code
        self.message = message


def invalid(message: str) -> MarketoApiFault:
    """1003 is what Marketo answers for invalid data in a bulk request."""
    return MarketoApiFault("1003", message)
