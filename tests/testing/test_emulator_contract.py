"""The lead, activity and custom object endpoints against the Swagger slice: every operation is served,
under the spec's parameter names, with the properties the spec's answer definitions require."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from emulator_client import ACTIVITIES, CARS, LEADS, SAMPLE_REQUESTS, error_of
from swagger_contract import (
    DEFINITIONS,
    OPERATION_SPEC_ERRORS,
    OPERATIONS,
    REQUEST_SPEC_ERRORS,
    SWAGGER_FILE,
    Operation,
    from_swagger,
    missing,
)

REPOSITORY = Path(__file__).resolve().parents[2]
KIND_PATHS = {"leads": LEADS, "activities": ACTIVITIES, "customobjects": CARS}
CREATE_REQUESTS = {
    "ExportLeadRequest": (LEADS, SAMPLE_REQUESTS[LEADS]),
    "ExportActivityRequest": (ACTIVITIES, {"fields": ["leadId"], **SAMPLE_REQUESTS[ACTIVITIES]}),
    "ExportCustomObjectRequest": (CARS, SAMPLE_REQUESTS[CARS]),
}


def _swagger_file() -> Path | None:
    for root in (REPOSITORY.parent, REPOSITORY.parent.parent):
        candidate = root / "shared" / "marketo" / SWAGGER_FILE
        if candidate.is_file():
            return candidate
    return None


def test_the_transcription_is_the_swagger_slice():
    path = _swagger_file()
    if path is None:
        pytest.skip(f"{SWAGGER_FILE} is not beside the repository (shared/marketo/)")

    operations, definitions = from_swagger(path)

    assert operations == OPERATIONS
    assert definitions == DEFINITIONS


def _kind_path(operation: Operation) -> str:
    kind = operation.path.split("/")[3]
    return KIND_PATHS[kind]


def _call(api, operation: Operation) -> Any:
    """Make the operation's request with every parameter the spec names for it, as a client following the
    spec would; returns the response."""
    path = operation.path.replace("{apiName}", "car_c").replace("{customObjectName}", "car_c")
    params: dict[str, str] = {}
    headers: dict[str, str] = {}
    body = None
    if "{exportId}" in path:
        export_path = _kind_path(operation)
        export_id = api.create_job(path=export_path)
        if not path.endswith(("enqueue.json", "cancel.json")):
            api.enqueue(export_id, export_path)
            api.wait_for(export_id, "Completed", path=export_path)
        path = path.replace("{exportId}", export_id)
    if operation.request is not None:
        body = CREATE_REQUESTS[operation.request][1]
    for name in operation.parameters:
        if name == "status":
            params[name] = "Created,Completed"
        elif name == "batchSize":
            params[name] = "1"
        elif name == "names":
            params[name] = "car_c"
        elif name == "Range":
            headers[name] = "bytes=0-9"
    if "nextPageToken" in operation.parameters:  # two jobs, one per page: the token must lead to the second
        export_path = _kind_path(operation)
        for _ in range(2):
            api.create_job(path=export_path)
        first = api.call("GET", path, params=params)
        params["nextPageToken"] = first["nextPageToken"]
    return api.request(operation.method, path, params=params, headers=headers, json=body)


@pytest.mark.parametrize("operation", OPERATIONS, ids=[f"{op.method} {op.path}" for op in OPERATIONS])
def test_every_operation_answers_what_its_definition_requires(api, operation):
    response = _call(api, operation)

    if operation.response == "ObservableOfInputStreamRangeContent":  # the file: CSV, by range
        assert response.status_code == 206
        assert len(response.content) == 10
        return
    assert response.status_code == 200
    payload = response.json()
    assert payload["success"] is True, payload
    assert payload["result"], payload
    ignored = OPERATION_SPEC_ERRORS.get(operation.path, set())
    assert missing(payload, operation.response, ignored) == []


def test_list_parameters_filter_and_page_as_named(api):
    created = api.create_job(path=LEADS)
    queued = api.create_job(path=LEADS)
    api.enqueue(queued, LEADS)

    page = api.call("GET", f"{LEADS}.json", params={"status": "Created", "batchSize": "1"})

    assert [job["exportId"] for job in page["result"]] == [created]
    assert "nextPageToken" not in page


@pytest.mark.parametrize("definition", sorted(CREATE_REQUESTS))
def test_create_requests_need_what_the_spec_requires(api, definition):
    path, body = CREATE_REQUESTS[definition]

    assert api.create(body, path)["success"] is True
    for key in DEFINITIONS[definition].required:
        if (definition, key) in REQUEST_SPEC_ERRORS:
            assert api.create({k: v for k, v in body.items() if k != key}, path)["success"] is True
            continue
        code, message = error_of(api.create({k: v for k, v in body.items() if k != key}, path))
        assert code == "1003"
        assert key in message
