"""The contract of the lead, activity and custom object bulk extracts, transcribed from the Swagger slice.

A slice of Marketo's official Swagger spec (the same spec file as the program member export's) gives,
for each operation, its parameters, its request body and its answer; for each definition, the
properties it requires and those that hold other definitions. This module is that slice, reduced to what
the emulator's answers are checked against; ``test_emulator_contract.py`` checks it still matches the
spec file when the file is at hand (``shared/marketo/bulk-extract-other-kinds.swagger.json`` beside the
repository), and checks the emulator against it.

``KNOWN_SPEC_ERRORS`` are the places where the spec disagrees with Marketo's own pages and answers; the
emulator follows the pages there.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, NamedTuple

SWAGGER_FILE = "bulk-extract-other-kinds.swagger.json"


class Operation(NamedTuple):
    method: str
    path: str
    parameters: tuple[str, ...]  # path, query and header parameters, in the spec's order
    request: str | None  # the definition of the JSON body, if any
    response: str  # the definition of the 200 answer


class Definition(NamedTuple):
    required: tuple[str, ...]
    nested: dict[str, tuple[str, bool]]  # property -> (definition, is an array of it)


OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "GET",
        "/bulk/v1/activities/export.json",
        ("status", "batchSize", "nextPageToken"),
        None,
        "ResponseOfExportResponseWithToken",
    ),
    Operation(
        "POST",
        "/bulk/v1/activities/export/create.json",
        (),
        "ExportActivityRequest",
        "ResponseOfExportResponse",
    ),
    Operation(
        "POST",
        "/bulk/v1/activities/export/{exportId}/cancel.json",
        ("exportId",),
        None,
        "ResponseOfExportResponse",
    ),
    Operation(
        "POST",
        "/bulk/v1/activities/export/{exportId}/enqueue.json",
        ("exportId",),
        None,
        "ResponseOfExportResponse",
    ),
    Operation(
        "GET",
        "/bulk/v1/activities/export/{exportId}/file.json",
        ("exportId", "Range"),
        None,
        "ObservableOfInputStreamRangeContent",
    ),
    Operation(
        "GET",
        "/bulk/v1/activities/export/{exportId}/status.json",
        ("exportId",),
        None,
        "ResponseOfExportResponse",
    ),
    Operation(
        "GET",
        "/bulk/v1/leads/export.json",
        ("status", "batchSize", "nextPageToken"),
        None,
        "ResponseOfExportResponseWithToken",
    ),
    Operation(
        "POST", "/bulk/v1/leads/export/create.json", (), "ExportLeadRequest", "ResponseOfExportResponse"
    ),
    Operation(
        "POST",
        "/bulk/v1/leads/export/{exportId}/cancel.json",
        ("exportId",),
        None,
        "ResponseOfExportResponse",
    ),
    Operation(
        "POST",
        "/bulk/v1/leads/export/{exportId}/enqueue.json",
        ("exportId",),
        None,
        "ResponseOfExportResponse",
    ),
    Operation(
        "GET",
        "/bulk/v1/leads/export/{exportId}/file.json",
        ("exportId", "Range"),
        None,
        "ObservableOfInputStreamRangeContent",
    ),
    Operation(
        "GET", "/bulk/v1/leads/export/{exportId}/status.json", ("exportId",), None, "ResponseOfExportResponse"
    ),
    Operation(
        "GET",
        "/bulk/v1/customobjects/{apiName}/export.json",
        ("apiName", "status", "batchSize", "nextPageToken"),
        None,
        "ResponseOfExportResponseWithToken",
    ),
    Operation(
        "POST",
        "/bulk/v1/customobjects/{apiName}/export/create.json",
        ("apiName",),
        "ExportCustomObjectRequest",
        "ResponseOfExportResponse",
    ),
    Operation(
        "POST",
        "/bulk/v1/customobjects/{apiName}/export/{exportId}/cancel.json",
        ("apiName", "exportId"),
        None,
        "ResponseOfExportResponse",
    ),
    Operation(
        "POST",
        "/bulk/v1/customobjects/{apiName}/export/{exportId}/enqueue.json",
        ("apiName", "exportId"),
        None,
        "ResponseOfExportResponse",
    ),
    Operation(
        "GET",
        "/bulk/v1/customobjects/{apiName}/export/{exportId}/file.json",
        ("apiName", "exportId", "Range"),
        None,
        "ObservableOfInputStreamRangeContent",
    ),
    Operation(
        "GET",
        "/bulk/v1/customobjects/{apiName}/export/{exportId}/status.json",
        ("apiName", "exportId"),
        None,
        "ResponseOfExportResponse",
    ),
    Operation("GET", "/rest/v1/activities/types.json", (), None, "ResponseOfActivityType"),
    Operation("GET", "/rest/v1/customobjects.json", ("names",), None, "ResponseOfObjectMetaData"),
    Operation(
        "GET",
        "/rest/v1/customobjects/{customObjectName}/describe.json",
        ("customObjectName",),
        None,
        "ResponseOfObjectMetaData",
    ),
    Operation("GET", "/rest/v1/leads/describe.json", (), None, "ResponseOfLeadAttribute"),
    Operation("GET", "/rest/v1/leads/describe2.json", (), None, "ResponseOfLeadAttribute2"),
)
DEFINITIONS: dict[str, Definition] = {
    "ActivityType": Definition(
        ("attributes", "id", "name", "primaryAttribute"),
        {"attributes": ("ActivityTypeAttribute", True), "primaryAttribute": ("ActivityTypeAttribute", False)},
    ),
    "ActivityTypeAttribute": Definition(("dataType", "name"), {}),
    "ColumnHeaderNames": Definition(("name", "value"), {}),
    "DateRange": Definition((), {}),
    "Error": Definition(("code", "message"), {}),
    "ExportActivityFilter": Definition(("createdAt",), {"createdAt": ("DateRange", False)}),
    "ExportActivityRequest": Definition(
        ("fields", "filter"),
        {"columnHeaderNames": ("ColumnHeaderNames", False), "filter": ("ExportActivityFilter", False)},
    ),
    "ExportCustomObjectFilter": Definition(
        ("updatedAt", "smartListId", "smartListName", "staticListId", "staticListName"),
        {"updatedAt": ("DateRange", False)},
    ),
    "ExportCustomObjectRequest": Definition(
        ("fields", "filter"),
        {"columnHeaderNames": ("ColumnHeaderNames", False), "filter": ("ExportCustomObjectFilter", False)},
    ),
    "ExportLeadFilter": Definition(
        ("createdAt", "smartListId", "smartListName", "staticListId", "staticListName", "updatedAt"),
        {"createdAt": ("DateRange", False), "updatedAt": ("DateRange", False)},
    ),
    "ExportLeadRequest": Definition(
        ("fields", "filter"),
        {"columnHeaderNames": ("ColumnHeaderNames", False), "filter": ("ExportLeadFilter", False)},
    ),
    "ExportResponse": Definition(("exportId", "status"), {}),
    "LeadAttribute": Definition(
        ("dataType", "displayName", "id"),
        {"rest": ("LeadMapAttribute", False), "soap": ("LeadMapAttribute", False)},
    ),
    "LeadAttribute2": Definition(
        ("name", "searchableFields", "fields"),
        {
            "searchableFields": ("LeadAttribute2SearchableFields", True),
            "fields": ("LeadAttribute2Fields", True),
        },
    ),
    "LeadAttribute2Fields": Definition(("name", "displayName", "dataType", "updateable", "crmManaged"), {}),
    "LeadAttribute2SearchableFields": Definition((), {}),
    "LeadMapAttribute": Definition(("name",), {}),
    "ObjectField": Definition((), {}),
    "ObjectMetaData": Definition(
        (
            "createdAt",
            "dedupeFields",
            "description",
            "displayName",
            "pluralName",
            "fields",
            "idField",
            "apiName",
            "relationships",
            "searchableFields",
            "updatedAt",
            "status",
            "version",
        ),
        {"fields": ("ObjectField", True), "relationships": ("ObjectRelation", True)},
    ),
    "ObjectRelation": Definition(("field", "relatedTo", "type"), {"relatedTo": ("RelatedObject", False)}),
    "ObservableOfInputStreamRangeContent": Definition((), {}),
    "RelatedObject": Definition(("field", "name"), {}),
    "ResponseOfActivityType": Definition(
        ("errors", "requestId", "result", "success", "warnings"),
        {"errors": ("Error", True), "result": ("ActivityType", True), "warnings": ("Warning", True)},
    ),
    "ResponseOfExportResponse": Definition(
        ("errors", "requestId", "result", "success", "warnings"),
        {"errors": ("Error", True), "result": ("ExportResponse", True), "warnings": ("Warning", True)},
    ),
    "ResponseOfExportResponseWithToken": Definition(
        ("errors", "requestId", "result", "success", "warnings"),
        {"errors": ("Error", True), "result": ("ExportResponse", True), "warnings": ("Warning", True)},
    ),
    "ResponseOfLeadAttribute": Definition(
        ("errors", "requestId", "result", "success", "warnings"),
        {"errors": ("Error", True), "result": ("LeadAttribute", True), "warnings": ("Warning", True)},
    ),
    "ResponseOfLeadAttribute2": Definition(
        ("errors", "requestId", "result", "success", "warnings"),
        {"errors": ("Error", True), "result": ("LeadAttribute2", True), "warnings": ("Warning", True)},
    ),
    "ResponseOfObjectMetaData": Definition(
        ("errors", "requestId", "result", "success", "warnings"),
        {"errors": ("Error", True), "result": ("ObjectMetaData", True), "warnings": ("Warning", True)},
    ),
    "Warning": Definition(("code", "message"), {}),
}

# (definition, property): why the emulator does not answer it although the spec requires it
KNOWN_SPEC_ERRORS: dict[tuple[str, str], str] = {
    **{
        (response, key): "success answers carry no errors or warnings (Marketo's pages and answers)"
        for response, definition in DEFINITIONS.items()
        if response.startswith("ResponseOf")
        for key in ("errors", "warnings")
    },
    (
        "ObjectMetaData",
        "status",
    ): "the spec requires `status` but defines `state`; the emulator answers `state`",
}
# per operation: the list call of the Custom Objects page carries no `fields` (its describe does)
OPERATION_SPEC_ERRORS: dict[str, set[tuple[str, str]]] = {
    "/rest/v1/customobjects.json": {("ObjectMetaData", "fields")},
}
# request properties the spec requires but Marketo's pages make optional or exclusive
REQUEST_SPEC_ERRORS: dict[tuple[str, str], str] = {
    ("ExportActivityRequest", "fields"): "optional: the default columns (Bulk Activity Extract page)",
    **{
        (name, key): "the filter types are exclusive: exactly one of them (Bulk Lead/Custom Object Extract)"
        for name in ("ExportLeadFilter", "ExportCustomObjectFilter")
        for key in DEFINITIONS[name].required
    },
}


def missing(
    value: Any, definition: str, ignored: frozenset[tuple[str, str]] | set[tuple[str, str]] = frozenset()
) -> list[str]:
    """Where ``value`` lacks a property ``definition`` requires (recursively), as dotted paths."""
    spec = DEFINITIONS[definition]
    if not isinstance(value, dict):
        return [f"<{definition} is not an object: {value!r}>"]
    found = [
        key
        for key in spec.required
        if key not in value
        and (definition, key) not in KNOWN_SPEC_ERRORS
        and (definition, key) not in ignored
    ]
    for key, (inner, is_array) in spec.nested.items():
        if key in value and DEFINITIONS[inner].required:
            items = enumerate(value[key]) if is_array else [(None, value[key])]
            for n, item in items:
                where = key if n is None else f"{key}[{n}]"
                found += [f"{where}.{path}" for path in missing(item, inner, ignored)]
    return found


def from_swagger(path: Path) -> tuple[tuple[Operation, ...], dict[str, Definition]]:
    """The same transcription, read from the spec file itself."""
    spec = json.loads(path.read_text())
    operations = []
    for route, methods in spec["paths"].items():
        for method, operation in methods.items():
            parameters = operation.get("parameters", [])
            bodies = [p["schema"]["$ref"].rsplit("/", 1)[1] for p in parameters if p["in"] == "body"]
            operations.append(
                Operation(
                    method.upper(),
                    route,
                    tuple(p["name"] for p in parameters if p["in"] in ("path", "query", "header")),
                    bodies[0] if bodies else None,
                    operation["responses"]["200"]["schema"]["$ref"].rsplit("/", 1)[1],
                )
            )
    definitions = {}
    for name, definition in spec["definitions"].items():
        nested = {}
        for key, prop in definition.get("properties", {}).items():
            if "$ref" in prop:
                nested[key] = (prop["$ref"].rsplit("/", 1)[1], False)
            elif prop.get("type") == "array" and "$ref" in prop.get("items", {}):
                nested[key] = (prop["items"]["$ref"].rsplit("/", 1)[1], True)
        definitions[name] = Definition(tuple(definition.get("required", ())), nested)
    return tuple(operations), definitions
