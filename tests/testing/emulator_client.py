"""A tiny Marketo client made of plain ``requests`` calls, so emulator tests do not depend on the hook."""

from __future__ import annotations

import csv
import io
import time
from datetime import UTC, datetime
from typing import Any

import pytest
import requests

from airflow_provider_marketo_pm.testing import MarketoEmulator

EXPORT = "/bulk/v1/program/members/export"
LEADS = "/bulk/v1/leads/export"
ACTIVITIES = "/bulk/v1/activities/export"
CARS = "/bulk/v1/customobjects/car_c/export"
CONTRACTS = "/bulk/v1/customobjects/contract_c/export"
# one small valid create request per bulk export kind, by path
SAMPLE_REQUESTS: dict[str, dict[str, Any]] = {
    EXPORT: {"fields": ["leadId", "firstName"], "filter": {"programId": 1044}},
    LEADS: {"fields": ["id", "email"], "filter": {"staticListName": "Car Buyers"}},
    ACTIVITIES: {
        "filter": {"createdAt": {"startAt": "2026-09-01T00:00:00Z", "endAt": "2026-10-01T00:00:00Z"}},
    },
    CARS: {"fields": ["leadId", "vin", "make"], "filter": {"staticListId": 1081}},
}
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

    # Bulk export calls: ``path`` is the kind's export path (program members unless told otherwise).
    def create(self, body: dict[str, Any], path: str = EXPORT) -> dict[str, Any]:
        return self.call("POST", f"{path}/create.json", json=body)

    def create_job(self, body: dict[str, Any] | None = None, path: str = EXPORT) -> str:
        payload = self.create(body or SAMPLE_REQUESTS[path], path)
        assert payload["success"], payload
        return str(payload["result"][0]["exportId"])

    def enqueue(self, export_id: str, path: str = EXPORT) -> dict[str, Any]:
        return self.call("POST", f"{path}/{export_id}/enqueue.json")

    def status(self, export_id: str, path: str = EXPORT) -> dict[str, Any]:
        return self.call("GET", f"{path}/{export_id}/status.json")

    def cancel(self, export_id: str, path: str = EXPORT) -> dict[str, Any]:
        return self.call("POST", f"{path}/{export_id}/cancel.json")

    def file(self, export_id: str, path: str = EXPORT, **kwargs: Any) -> requests.Response:
        return self.request("GET", f"{path}/{export_id}/file.json", **kwargs)

    def listed(self, path: str = EXPORT, **params: Any) -> list[str]:
        """The export ids the kind's list endpoint answers (one page)."""
        return [job["exportId"] for job in self.call("GET", f"{path}.json", params=params)["result"]]

    def wait_for(
        self, export_id: str, *statuses: str, attempts: int = 500, path: str = EXPORT
    ) -> dict[str, Any]:
        """Poll until the job reaches one of ``statuses`` (fails, rather than hangs, if it never does)."""
        wanted = statuses or ("Completed", "Failed", "Cancelled")
        record: dict[str, Any] = {}
        for _ in range(attempts):
            record = self.status(export_id, path)["result"][0]
            if record["status"] in wanted:
                return record
            time.sleep(0.02)
        pytest.fail(f"job {export_id} never reached {wanted}; last record {record}")

    def export(self, body: dict[str, Any], path: str = EXPORT) -> tuple[dict[str, Any], bytes]:
        """Create, enqueue, wait and download: the completed status record and the file bytes."""
        export_id = self.create_job(body, path)
        assert self.enqueue(export_id, path)["success"]
        record = self.wait_for(export_id, "Completed", path=path)
        response = self.file(export_id, path)
        assert response.status_code == 200
        return record, response.content


def stream_into(buffer: bytearray, response: requests.Response) -> None:
    """Keep every byte that arrived before the connection broke (one byte at a time, so none is lost)."""
    with response:
        for chunk in response.iter_content(1):
            buffer += chunk


def window_around(epoch: float, days: int = 30) -> dict[str, str]:
    """A ``{startAt, endAt}`` range of ``days`` centred on an instant, ISO-8601 without milliseconds."""
    half = days * 86400 / 2

    def iso(moment: float) -> str:
        return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    return {"startAt": iso(epoch - half), "endAt": iso(epoch + half)}


def parse_rows(content: bytes, delimiter: str = ",") -> list[list[str]]:
    """Parse an export the only correct way: with a CSV parser, never by splitting lines."""
    return list(csv.reader(io.StringIO(content.decode("utf-8"), newline=""), delimiter=delimiter))


def error_of(payload: dict[str, Any]) -> tuple[str, str]:
    assert payload["success"] is False, payload
    assert "result" not in payload
    (error,) = payload["errors"]
    return error["code"], error["message"]
