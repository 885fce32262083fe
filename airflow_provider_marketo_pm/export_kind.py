"""What an export kind is (data plus a request builder), and the validated requests it builds.

Marketo's lead, activity, program member and custom object bulk extracts share one job lifecycle
(create, enqueue, status, cancel, file), one queue and one daily quota; they differ in data: the path of
their jobs, the body of their create request, the describes that name their fields, the key their rows
are merged by. An :class:`ExportKind` holds that data, so the hook, the operators, the sensor, the trigger
and the task group are written once; each kind is a module of :mod:`airflow_provider_marketo_pm.kinds`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from airflow_provider_marketo_pm import arguments
from airflow_provider_marketo_pm._compat import moved_names
from airflow_provider_marketo_pm.exceptions import MarketoRequestError

if TYPE_CHECKING:
    from airflow_provider_marketo_pm.kind_tables import KindTable

RequestBuilder = Callable[..., dict[str, Any]]
"""Validates a kind's request arguments (before any network call) and returns the exact create body."""

RefusalHint = Callable[[Mapping[str, Any]], "str | None"]
"""What to check when Marketo refuses a create body with 1003 without naming a field (``None``: nothing)."""

UnsupportedFilterHint = Callable[[str], str]
"""What to use instead when Marketo refuses a filter with 1035 (from Marketo's message)."""

STATUS_TRIGGER = "airflow_provider_marketo_pm.triggers.bulk_export.MarketoExportStatusTrigger"
"""The classpath of the status trigger every kind defers to unless it names its own."""

_PATH_VALUE = re.compile(r"[A-Za-z0-9_]+")
"""A value bound into a path (a custom object's ``apiName``): letters, digits and underscores."""


@dataclass(frozen=True)
class ExportKind:
    """
    One bulk extract kind.

    :param name: what its rows are called in logs and errors ("program member").
    :param path: its jobs' REST path; jobs are ``<path>/<exportId>/<action>.json``. A ``{name}`` in it is
        a parameter bound per task with :meth:`bind` (``/bulk/v1/customobjects/{apiName}/export``).
    :param build_body: validates keyword arguments and returns the create body; ``None`` for a kind only
        watched (a trigger knows where the job it polls lives, not how it was asked for).
    :param state_key: the task state store key of a start's job (default ``marketo_<name>_export``); renaming
        it orphans the jobs of retries in flight.
    :param field_describes: describe paths whose field names a refused field name (1003) is matched against.
    :param refusal_hint: says what to check when Marketo refuses a create body with 1003 naming no field.
    :param table: how its rows land in a table (:class:`~airflow_provider_marketo_pm.kind_tables.KindTable`):
        key, newest-by column, column types; ``None`` for a kind not loaded.
    :param status_trigger: classpath of the trigger its waits defer to (stored with every deferred task).
    :param unsupported_filter_hint: says what to use instead when Marketo answers 1035 ("Unsupported filter
        type for target subscription") to a create; ``None`` keeps the generic hint.
    :param path_arguments: for each path parameter, the task argument that holds its value
        (``(("apiName", "api_name"),)``): the lifecycle's tasks bind their kind with :meth:`bound_for`.
    """

    name: str
    path: str
    build_body: RequestBuilder | None = field(default=None, compare=False)
    state_key: str = ""
    field_describes: tuple[str, ...] = ()
    refusal_hint: RefusalHint | None = field(default=None, compare=False)
    table: KindTable | None = field(default=None, compare=False)
    status_trigger: str = STATUS_TRIGGER
    unsupported_filter_hint: UnsupportedFilterHint | None = field(default=None, compare=False)
    path_arguments: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if not self.state_key:
            object.__setattr__(self, "state_key", f"marketo_{self.name.replace(' ', '_')}_export")

    @property
    def path_parameters(self) -> tuple[str, ...]:
        """The parameters still to bind into :attr:`path` (``("apiName",)``), in order."""
        return tuple(name for _, name, _, _ in string.Formatter().parse(self.path) if name)

    def bind(self, **values: Any) -> ExportKind:
        """
        This kind with its path parameters bound (``CUSTOM_OBJECTS.bind(apiName="car_c")``), checked before
        any call: every parameter given, each value letters, digits and underscores.
        """
        missing = [name for name in self.path_parameters if name not in values]
        unknown = sorted(set(values) - set(self.path_parameters))
        if missing or unknown:
            raise MarketoRequestError(
                (missing or unknown)[0],
                values.get((missing or unknown)[0]),
                f"the {self.name} export path {self.path} takes exactly {list(self.path_parameters)}",
            )
        for name, value in values.items():
            if not isinstance(value, str) or not _PATH_VALUE.fullmatch(value):
                raise MarketoRequestError(name, value, "must be a name of letters, digits and underscores")
        bound = {name: quote(value, safe="") for name, value in values.items()}

        def fill(path: str) -> str:
            # A describe path may use only some of the parameters: fill those it has.
            return string.Formatter().vformat(path, (), bound)

        table = self.table
        if table is not None:
            table = dataclasses.replace(table, describes=tuple(fill(path) for path in table.describes))
        return dataclasses.replace(
            self,
            path=fill(self.path),
            field_describes=tuple(fill(path) for path in self.field_describes),
            table=table,
            # One task state key per bound path: a retry asked for another object never re-attaches.
            state_key="_".join((self.state_key, *(values[name] for name in self.path_parameters))),
            path_arguments=(),
        )

    def bound_for(self, task: Any) -> ExportKind:
        """
        This kind bound with the values of ``task``'s path arguments (:attr:`path_arguments`, read when the
        task runs, templates rendered); a kind without path parameters is returned as it is.
        """
        if not self.path_parameters:
            return self
        names = dict(self.path_arguments)
        values = {name: getattr(task, names.get(name, name), None) for name in self.path_parameters}
        try:
            return self.bind(**values)
        except MarketoRequestError as err:  # name the task's argument, as the user wrote it
            raise MarketoRequestError(names.get(err.key, err.key), err.value, err.rule) from None

    def request(self, **arguments_: Any) -> ExportRequest:
        """Build and validate a create request of this kind once: no call is made if it is bad."""
        if self.build_body is None:
            raise TypeError(f"the {self.name} export kind has no request builder")
        self._check_bound()
        return ExportRequest(self, _canonical_json(self.build_body(**arguments_)))

    def job_path(self, export_id: str, action: str) -> str:
        """The path of one action (``status``, ``enqueue``, ``cancel``, ``file``) on one job."""
        return f"{self._check_bound()}/{quote(arguments.export_id(export_id), safe='')}/{action}.json"

    @property
    def create_path(self) -> str:
        return f"{self._check_bound()}/create.json"

    @property
    def list_path(self) -> str:
        return f"{self._check_bound()}.json"

    def _check_bound(self) -> str:
        if self.path_parameters:
            raise MarketoRequestError(
                self.path_parameters[0], None, f"bind it first: the {self.name} export path is {self.path}"
            )
        return self.path


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


__all__ = ["ExportKind", "ExportRequest"]

# PROGRAM_MEMBERS and program_member_export_request, now in kinds.program_members, warn and keep working.
__getattr__ = moved_names(__name__)
