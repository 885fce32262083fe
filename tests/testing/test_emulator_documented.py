"""The example of Marketo's Bulk Program Member Extract page, reproduced byte for byte over plain HTTP.

The page advertises ``fileChecksum`` sha256:b3c8e7...7212: the sha256 of its header and 12 rows joined by
``\\n`` with no newline after the last row (1740 bytes). Its ``fileSize`` 1752 fits ``\\r\\n`` line ends.
"""

from __future__ import annotations

import hashlib
import json
import time
import urllib.request

import pytest
from emulator_client import DOC_FIELDS, DOC_HEADERS, EXPORT, parse_rows

from airflow_provider_marketo_pm.testing import MarketoEmulator
from airflow_provider_marketo_pm.testing.emulator.dataset import DOCUMENTED_CHECKSUM

DOCUMENTED_REQUEST = {
    "format": "CSV",
    "fields": DOC_FIELDS,
    "filter": {"programId": 1044},
    "columnHeaderNames": DOC_HEADERS,
}
DOCUMENTED_FIRST_ROW = (
    "Meera,Reed,mree@housestark.com,2020-01-08T18:10:26Z,PMCF Program,On List,1789,false,"
    "Lead01_Value,Lead02_Value,PM01_Value,PM02_Value"
)
DOCUMENTED_LAST_ROW = (
    "Septa,Mordane,smor@housestark.com,2020-01-08T18:10:26Z,PMCF Program,On List,1800,false,"
    "Lead01_Value,Lead02_Value,PM01_Value,PM02_Value"
)


def test_the_documented_checksum_is_the_one_on_marketos_page():
    assert DOCUMENTED_CHECKSUM == "sha256:b3c8e70e6e501cf1025e345a66b409d4fd07364c7da773cfa68a2b68ce1a7212"


def test_the_documented_request_returns_the_documented_file_byte_for_byte(start_emulator):
    _, api = start_emulator(dataset="documented")

    record, content = api.export(DOCUMENTED_REQUEST)

    assert record["fileChecksum"] == DOCUMENTED_CHECKSUM
    assert "sha256:" + hashlib.sha256(content).hexdigest() == DOCUMENTED_CHECKSUM
    assert record["fileSize"] == len(content) == 1740
    assert record["numberOfRecords"] == 12
    lines = content.decode("utf-8").split("\n")
    assert lines[0] == (
        "firstName,lastName,email,Member Date,Program,Status,Lead Id,Success,"
        "leadCustomField01,leadCustomField02,pMCustomField01,pMCustomField02"
    )
    assert (lines[1], lines[-1]) == (DOCUMENTED_FIRST_ROW, DOCUMENTED_LAST_ROW)
    assert [row[1] for row in parse_rows(content)[1:]].count("null") == 2  # Hodor and Osha
    assert not content.endswith(b"\n")


def test_with_a_standard_library_client_only():
    """Nothing but urllib: the checksum does not depend on any client library of ours."""
    with MarketoEmulator(dataset="documented") as emulator:
        base = emulator.base_url
        form = (
            f"grant_type=client_credentials&client_id={emulator.client_id}&client_secret={emulator.client_secret}"
        ).encode()
        token_request = urllib.request.Request(
            f"{base}/identity/oauth/token", data=form, method="POST"
        )  # urlencoded form body, like curl -d
        with urllib.request.urlopen(token_request) as answer:
            token = json.load(answer)["access_token"]
        auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

        def call(method: str, path: str, body: dict | None = None) -> dict:
            data = None if body is None else json.dumps(body).encode()
            request = urllib.request.Request(f"{base}{path}", data=data, method=method, headers=auth)
            with urllib.request.urlopen(request) as answer:
                return json.load(answer)

        export_id = call("POST", f"{EXPORT}/create.json", DOCUMENTED_REQUEST)["result"][0]["exportId"]
        call("POST", f"{EXPORT}/{export_id}/enqueue.json")
        record: dict = {}
        for _ in range(90):  # well under the rate limit; the fast pace completes in about 0.2 s
            record = call("GET", f"{EXPORT}/{export_id}/status.json")["result"][0]
            if record["status"] == "Completed":
                break
            time.sleep(0.05)
        download = urllib.request.Request(f"{base}{EXPORT}/{export_id}/file.json", headers=auth)
        with urllib.request.urlopen(download) as answer:
            content = answer.read()

    assert record["status"] == "Completed"
    assert "sha256:" + hashlib.sha256(content).hexdigest() == record["fileChecksum"] == DOCUMENTED_CHECKSUM


def test_crlf_line_endings_give_the_pages_file_size(start_emulator):
    _, api = start_emulator(dataset="documented", line_ending="\r\n")

    record, content = api.export(DOCUMENTED_REQUEST)

    assert record["fileSize"] == len(content) == 1752  # the page's fileSize: it was measured with CRLF
    assert content.count(b"\r\n") == 12
    assert not content.endswith(b"\r\n")
    assert "sha256:" + hashlib.sha256(content.replace(b"\r\n", b"\n")).hexdigest() == DOCUMENTED_CHECKSUM


@pytest.mark.parametrize(("options", "ending"), [({}, b"\n"), ({"line_ending": "\r\n"}, b"\r\n")])
def test_final_newline_is_an_option(start_emulator, options, ending):
    _, api = start_emulator(dataset="documented", final_newline=True, **options)

    record, content = api.export(DOCUMENTED_REQUEST)

    assert content.endswith(ending)
    assert record["fileSize"] == len(content) == (1740 if ending == b"\n" else 1752) + len(ending)
    assert record["fileChecksum"] == "sha256:" + hashlib.sha256(content).hexdigest()


def test_every_export_ends_without_a_newline_by_default(api):
    record, content = api.export({"fields": ["leadId", "firstName"], "filter": {"programIds": [1001, 1002]}})

    assert not content.endswith(b"\n")
    assert record["numberOfRecords"] == len(parse_rows(content)) - 1


def test_an_export_without_rows_is_the_header_alone(start_emulator):
    _, api = start_emulator(dataset="documented")

    record, content = api.export(
        {"fields": ["leadId"], "filter": {"programId": 1044, "statusNames": ["Member"]}}
    )

    assert content == b"leadId"
    assert record["numberOfRecords"] == 0


def test_the_documented_dataset_has_program_1044_only(start_emulator):
    _, api = start_emulator(dataset="documented")

    programs = api.call("GET", "/rest/asset/v1/programs.json")["result"]

    assert [(p["id"], p["name"]) for p in programs] == [(1044, "PMCF Program")]
