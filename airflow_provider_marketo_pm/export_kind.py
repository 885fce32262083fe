"""An export kind (where its jobs live, how its create request is built) and the requests it builds.

Marketo's lead, activity, program member and custom object bulk extracts share one job lifecycle
(create, enqueue, status, cancel, file), one queue and one daily quota; they differ in the path of
their jobs and in the body of their create request. The hook, the operators, the sensor and the
trigger are written once against an :class:`ExportKind`; program members are :data:`PROGRAM_MEMBERS`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from airflow_provider_marketo_pm import arguments
from airflow_provider_marketo_pm.validation import build_export_request

RequestBuilder = Callable[..., dict[str, Any]]
"""Validates a kind's request arguments (before any network call) and returns the exact create body."""


@dataclass(frozen=True)
class ExportKind:
    """
    One bulk extract: ``path`` is its jobs' REST path, ``build_body`` its create request's builder.

    :param name: what the jobs are called in logs ("program member").
    :param path: e.g. ``/bulk/v1/program/members/export``; its jobs are ``<path>/<exportId>/<action>.json``.
    :param build_body: validates keyword arguments and returns the create body; ``None`` for a kind only
        watched (a trigger knows the path of the job it polls, not how it was asked for).
    """

    name: str
    path: str
    build_body: RequestBuilder | None = field(default=None, compare=False)

    def request(self, **arguments_: Any) -> ExportRequest:
        """Build and validate a create request of this kind once: no call is made if it is bad."""
        if self.build_body is None:
            raise TypeError(f"the {self.name} export kind has no request builder")
        return ExportRequest(self, _canonical_json(self.build_body(**arguments_)))

    def job_path(self, export_id: str, action: str) -> str:
        """The path of one action (``status``, ``enqueue``, ``cancel``, ``file``) on one job."""
        return f"{self.path}/{quote(arguments.export_id(export_id), safe='')}/{action}.json"

    @property
    def create_path(self) -> str:
        return f"{self.path}/create.json"

    @property
    def list_path(self) -> str:
        return f"{self.path}.json"


@dataclass(frozen=True)
class ExportRequest:
    """
    A validated create request: built once, then passed as is (to the hook, the fingerprint, the log).

    ``body_json`` is the canonical JSON text of the body (sorted keys), so the value is immutable and two
    equal requests are equal.
    """

    kind: ExportKind
    body_json: str

    @property
    def body(self) -> dict[str, Any]:
        """The create call's JSON body (a fresh copy each time)."""
        body: dict[str, Any] = json.loads(self.body_json)
        return body

    @property
    def fingerprint(self) -> str:
        """Identifies the request, so a retried task only re-attaches to a job asked with the same one."""
        return hashlib.sha256(self.body_json.encode()).hexdigest()


def _canonical_json(body: Mapping[str, Any]) -> str:
    # The fingerprint's text since 0.1.0: jobs saved by an earlier version still re-attach.
    return json.dumps(body, sort_keys=True, default=str)


PROGRAM_MEMBERS = ExportKind("program member", "/bulk/v1/program/members/export", build_export_request)
"""Bulk Program Member Extract, whose request is :func:`validation.build_export_request`."""


def program_member_export_request(
    fields: Any, filter: Any, format: str = "CSV", column_header_names: Any = None
) -> ExportRequest:
    """A program member create request, validated (see :func:`validation.build_export_request`)."""
    return PROGRAM_MEMBERS.request(
        fields=fields, filter=filter, format=format, column_header_names=column_header_names
    )


__all__ = ["PROGRAM_MEMBERS", "ExportKind", "ExportRequest", "program_member_export_request"]
