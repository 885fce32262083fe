"""A tiny Marketo client made of plain ``requests`` calls, so emulator tests do not depend on the hook."""

from __future__ import annotations

import csv
import io
import time
from typing import Any

import pytest
import requests

from airflow_provider_marketo_pm.testing import MarketoEmulator

EXPORT = "/bulk/v1/program/members/export"
DOC_FIELDS = [
    "firstName",
    "lastName",
    "email",
    "membershipDate",
    "program",
    "statusName",
    "leadId",
    "reachedSuccess",
    "leadCustomField01",
    "leadCustomField02",
    "pMCustomField01",
    "pMCustomField02",
]
DOC_HEADERS = {
    "membershipDate": "Member Date",
    "program": "Program",
    "statusName": "Status",
    "leadId": "Lead Id",
    "reachedSuccess": "Success",
}


class RawMarketoClient:
    """Marketo calls as any HTTP client would make them, with a form-body token request."""

    def __init__(self, emulator: MarketoEmulator) -> None:
        self.emulator = emulator
        self.base_url = emulator.base_url
        self.session = requests.Session()
        self._token: str | None = None

    def fetch_token(self) -> dict[str, Any]:
        response = self.session.post(
            f"{self.base_url}/identity/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": self.emulator.client_id,
                "client_secret": self.emulator.client_secret,
            },
        )
        response.raise_for_status()
        payload: dict[str, Any] = response.json()
        self._token = payload["access_token"]
        return payload

    @property
    def token(self) -> str:
        if self._token is None:
            self.fetch_token()
        assert self._token is not None
        return self._token

    def request(self, method: str, path: str, *, headers: dict[str, str] | None = None, **kwargs: Any):
        all_headers = {"Authorization": f"Bearer {self.token}", **(headers or {})}
        return self.session.request(method, f"{self.base_url}{path}", headers=all_headers, **kwargs)

    def call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """A JSON API call; Marketo answers API errors with HTTP 200 too."""
        response = self.request(method, path, **kwargs)
        assert response.status_code == 200, response.text
        payload: dict[str, Any] = response.json()
        return payload

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        return self.call("POST", f"{EXPORT}/create.json", json=body)

    def create_job(self, body: dict[str, Any] | None = None) -> str:
        payload = self.create(body or {"fields": ["leadId", "firstName"], "filter": {"programId": 1044}})
        assert payload["success"], payload
        return str(payload["result"][0]["exportId"])

    def enqueue(self, export_id: str) -> dict[str, Any]:
        return self.call("POST", f"{EXPORT}/{export_id}/enqueue.json")

    def status(self, export_id: str) -> dict[str, Any]:
        return self.call("GET", f"{EXPORT}/{export_id}/status.json")

    def cancel(self, export_id: str) -> dict[str, Any]:
        return self.call("POST", f"{EXPORT}/{export_id}/cancel.json")

    def file(self, export_id: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", f"{EXPORT}/{export_id}/file.json", **kwargs)

    def wait_for(self, export_id: str, *statuses: str, attempts: int = 500) -> dict[str, Any]:
        """Poll until the job reaches one of ``statuses`` (fails, rather than hangs, if it never does)."""
        wanted = statuses or ("Completed", "Failed", "Cancelled")
        record: dict[str, Any] = {}
        for _ in range(attempts):
            record = self.status(export_id)["result"][0]
            if record["status"] in wanted:
                return record
            time.sleep(0.02)
        pytest.fail(f"job {export_id} never reached {wanted}; last record {record}")

    def export(self, body: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
        """Create, enqueue, wait and download: the completed status record and the file bytes."""
        export_id = self.create_job(body)
        assert self.enqueue(export_id)["success"]
        record = self.wait_for(export_id, "Completed")
        response = self.file(export_id)
        assert response.status_code == 200
        return record, response.content


def parse_rows(content: bytes, delimiter: str = ",") -> list[list[str]]:
    """Parse an export the only correct way: with a CSV parser, never by splitting lines."""
    return list(csv.reader(io.StringIO(content.decode("utf-8"), newline=""), delimiter=delimiter))


def error_of(payload: dict[str, Any]) -> tuple[str, str]:
    assert payload["success"] is False, payload
    assert "result" not in payload
    (error,) = payload["errors"]
    return error["code"], error["message"]
