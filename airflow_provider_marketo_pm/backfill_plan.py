"""A backfill of several export kinds over one date range, planned together against the daily quota.

Program member, lead, activity and custom object exports share Marketo's one bulk queue and its 500 MB daily
quota, so a backfill of several kinds is one plan. The range is cut into the same windows for every kind
(``updatedAt`` for program members, ``updatedAt`` or ``createdAt`` for leads, ``createdAt`` for activities,
``updatedAt`` for custom objects); each window gets one job per program batch, one lead job, one job per
activity type and one job per custom object type. The order spends the quota
where the user wants it first: by default the newest windows first across kinds (recent data lands first;
a backfill the quota cuts short leaves the oldest windows for the next day), or kind by kind in the order
the kinds are given. Every job's request is built by its kind's builder here, before any call.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from airflow_provider_marketo_pm.exceptions import MarketoRequestError
from airflow_provider_marketo_pm.export_status import counted
from airflow_provider_marketo_pm.kinds.activities import build_activity_export_request
from airflow_provider_marketo_pm.kinds.custom_objects import (
    build_custom_object_export_request,
    parse_api_name,
)
from airflow_provider_marketo_pm.kinds.leads import build_lead_export_request
from airflow_provider_marketo_pm.kinds.program_members import build_request
from airflow_provider_marketo_pm.kinds.request_rules import id_list
from airflow_provider_marketo_pm.validation import MAX_UPDATED_AT_DAYS
from airflow_provider_marketo_pm.windows import (
    DateLike,
    checked_batches,
    checked_path,
    last_days,
    split_updated_at,
    to_utc,
    whole_second_bounds,
)

ORDERS = ("newest_first", "by_kind")
"""``newest_first``: window by window from the newest, every kind in each; ``by_kind``: each kind's
windows (newest first) before the next kind's, in the order the kinds are given."""
MAX_JOBS = 1024
"""The default cap on a plan's jobs: Airflow's default ``[core] max_map_length``, the most instances a
mapped task expands to."""
REQUEST_OPTIONS = ("fields", "format", "column_header_names")
"""Options passed to each job's request as they are (the kind's builder checks them)."""
COMMON_PLACEHOLDERS = ("start_day", "end_day", "last_day", "job", "ext")


_Unit = tuple[dict[str, Any], str, dict[str, Any], dict[str, Any]]


@dataclass(frozen=True)
class _Kind:
    """How one kind's jobs are planned: its options, its file paths, and its jobs of one window."""

    name: str
    noun: tuple[str, str]  # what one job of a window is, singular and plural ("program member batch")
    options: tuple[str, ...]
    required: tuple[str, ...]
    placeholders: tuple[str, ...]
    build: Callable[..., dict[str, Any]]
    # (options) -> each job of a window: its filter without the window, the filter key of the window, its
    # placeholder values, and its own request options (a custom object's fields)
    units: Callable[[Mapping[str, Any]], list[_Unit]]
    default_path: Callable[[Mapping[str, Any]], str]


@dataclass(frozen=True)
class BackfillJob:
    """
    One export job of a plan.

    :ivar kind: ``program_members``, ``leads``, ``activities`` or ``custom_objects``.
    :ivar window: its date window, ``{"startAt", "endAt"}`` (ISO-8601, UTC, no milliseconds).
    :ivar arguments: the keyword arguments of the kind's request builder (``fields``, ``filter`` ...):
        :func:`validation.build_request`, :func:`kinds.leads.build_lead_export_request`,
        :func:`kinds.activities.build_activity_export_request` or
        :func:`kinds.custom_objects.build_custom_object_export_request`; already checked by it.
    :ivar path: the file's path, relative to the destination.
    :ivar api_name: the custom object type a ``custom_objects`` job exports (its path's ``apiName``); ``None``
        for the other kinds.
    """

    kind: str
    window: dict[str, str]
    arguments: dict[str, Any]
    path: str
    api_name: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The job as plain JSON values (for XCom or a mapped task's arguments); ``api_name`` when set."""
        job = {
            "kind": self.kind,
            "window": dict(self.window),
            "arguments": self.arguments,
            "path": self.path,
        }
        return job if self.api_name is None else {**job, "api_name": self.api_name}


@dataclass(frozen=True)
class BackfillPlan:
    """
    The export jobs of a multi-kind backfill, in the order they should run.

    ``str(plan)`` reads "2 windows x (2 program member batches + 1 lead job + 2 activity jobs) = 10 export
    jobs, newest windows first".
    """

    windows: list[dict[str, str]]
    jobs: list[BackfillJob]
    per_window: dict[str, int]
    """Each kind's jobs per window, in the order the kinds were given."""
    order: str

    def of_kind(self, kind: str) -> list[BackfillJob]:
        """The jobs of one kind, in plan order."""
        return [job for job in self.jobs if job.kind == kind]

    def __str__(self) -> str:
        return _describe(len(self.windows), self.per_window, self.order)


def plan_backfill(
    start: DateLike,
    end: DateLike,
    kinds: Mapping[str, Mapping[str, Any]],
    *,
    order: str = "newest_first",
    window_days: int = MAX_UPDATED_AT_DAYS,
    max_jobs: int = MAX_JOBS,
) -> BackfillPlan:
    """
    Plan the export jobs of several kinds over [start, end), ordered for the quota.

    :param kinds: each kind to export and its options, in the order they should run within a window
        (``by_kind``: overall). ``program_members``: ``fields`` and ``program_batches`` (lists of at most
        10 program ids, as :func:`windows.batch_program_ids` gives them). ``leads``: ``fields`` and
        ``date_filter`` (``"updatedAt"``, the default, or ``"createdAt"`` where the subscription lacks
        ``updatedAt``). ``activities``: optional ``activity_type_ids`` (ids; names are resolved by
        :func:`kinds.activities.resolve_activity_type_ids` first), one job per type, else one job of every
        type; optional ``fields``. ``custom_objects``: ``objects``, each custom object type's ``apiName``
        mapped to its fields (from its describe), one job per type. Every kind also takes ``format``,
        ``column_header_names`` and ``path``: a template of the file's path with ``{start_day}``,
        ``{end_day}`` (the job's window, YYYY-MM-DD, UTC), ``{last_day}`` (the plan's last day), ``{job}``
        (its number in the plan), ``{ext}`` (the format, lower case), and ``{batch}`` (program members),
        ``{activity_type}`` (activities: the id, or ``all``) or ``{api_name}`` (custom objects).
    :param order: one of :data:`ORDERS`.
    :param window_days: the windows' length, 1 to 31 days (the last one may be shorter).
    :param max_jobs: the most jobs the plan may have (default :data:`MAX_JOBS`).
    :raises MarketoRequestError: a bad range, kind, option or path, or more jobs than ``max_jobs``, with
        the numbers; before any call.
    """
    if order not in ORDERS:
        raise MarketoRequestError("order", order, f"must be one of {', '.join(ORDERS)}")
    if isinstance(max_jobs, bool) or not isinstance(max_jobs, int) or max_jobs < 1:
        raise MarketoRequestError("max_jobs", max_jobs, "must be a whole number of jobs >= 1")
    if isinstance(window_days, bool) or not isinstance(window_days, int):
        raise MarketoRequestError("window_days", window_days, "must be a whole number of days")
    if not 1 <= window_days <= MAX_UPDATED_AT_DAYS:
        rule = f"must be from 1 to {MAX_UPDATED_AT_DAYS} (Marketo's longest date filter)"
        raise MarketoRequestError("window_days", window_days, rule)
    planned = _checked_kinds(kinds)
    lower, upper = whole_second_bounds(start, end)
    seconds = upper.int_timestamp - lower.int_timestamp  # whole seconds: the windows, counted before made
    window_count = -(-seconds // (window_days * 86400))
    per_window = {kind.name: len(units) for kind, _, units in planned}
    if window_count * sum(per_window.values()) > max_jobs:
        raise MarketoRequestError(
            "max_jobs",
            max_jobs,
            f"the plan has {_describe(window_count, per_window, None)}, more than max_jobs={max_jobs}: "
            f"shorten the range, use longer windows (window_days={window_days}, at most "
            f"{MAX_UPDATED_AT_DAYS}), fewer batches or types, or raise max_jobs",
        )
    windows = split_updated_at(lower, upper, window_days)
    last_day = to_utc(windows[-1]["endAt"]).subtract(seconds=1).to_date_string()
    drafts = []
    for number, window in enumerate(windows):
        for rank, (kind, options, units) in enumerate(planned):
            for unit_rank, unit in enumerate(units):
                newest_first = (-number, rank, unit_rank)
                key = newest_first if order == "newest_first" else (rank, -number, unit_rank)
                drafts.append((key, kind, options, window, unit))
    drafts.sort(key=lambda draft: draft[0])
    jobs: list[BackfillJob] = []
    paths: set[str] = set()
    for _, kind, options, window, (unit_filter, date_key, values, unit_options) in drafts:
        arguments = {**_request_options(options), **unit_options}
        arguments["filter"] = {**unit_filter, date_key: dict(window)}
        _check_request(kind, arguments)
        days = {"start_day": window["startAt"][:10], "end_day": window["endAt"][:10], "last_day": last_day}
        ext = str(options.get("format", "CSV")).lower()
        path = _file_path(kind, options, {**days, "job": len(jobs), "ext": ext, **values})
        if path in paths:
            raise MarketoRequestError(
                f"kinds.{kind.name}.path", options.get("path"), f"gives two jobs the same file {path!r}"
            )
        paths.add(path)
        jobs.append(BackfillJob(kind.name, dict(window), arguments, path, values.get("api_name")))
    return BackfillPlan(windows=windows, jobs=jobs, per_window=per_window, order=order)


def plan_recent_days(
    days: int,
    until: DateLike,
    kinds: Mapping[str, Mapping[str, Any]],
    *,
    order: str = "newest_first",
    max_jobs: int = MAX_JOBS,
) -> BackfillPlan:
    """
    Plan the jobs of the last ``days`` days up to ``until`` (exclusive), [until - days x 24 h, until) in
    UTC, for any kinds (:func:`plan_backfill`'s ``kinds``): a daily DAG's rolling window. In a DAG, pass the
    run's ``data_interval_end`` (``"{{ data_interval_end | ts }}"``), as the example DAGs
    ``marketo_leads_daily`` and ``marketo_activities_daily`` do.

    :raises MarketoRequestError: ``days`` that is not a whole number >= 1, or anything
        :func:`plan_backfill` refuses; before any call.
    """
    return plan_backfill(*last_days(days, until), kinds, order=order, max_jobs=max_jobs)


def _checked_kinds(kinds: Any) -> list[tuple[_Kind, Mapping[str, Any], list[Any]]]:
    """Each kind given, its options checked (unknown or missing ones refused), and its jobs per window."""
    if not isinstance(kinds, Mapping) or not kinds:
        raise MarketoRequestError(
            "kinds",
            kinds,
            f"must map one or more of {', '.join(KINDS)} to their options, in the order to run",
        )
    planned = []
    for name, options in kinds.items():
        kind = KINDS.get(name)
        if kind is None:
            raise MarketoRequestError("kinds", name, f"is no kind a backfill plans; use {', '.join(KINDS)}")
        if not isinstance(options, Mapping):
            raise MarketoRequestError(f"kinds.{name}", options, "must be a mapping of the kind's options")
        unknown = sorted(str(option) for option in options if option not in kind.options)
        if unknown:
            rule = f"is no option of {name}; use {', '.join(kind.options)}"
            raise MarketoRequestError(f"kinds.{name}.{unknown[0]}", options[unknown[0]], rule)
        missing = [option for option in kind.required if option not in options]
        if missing:
            raise MarketoRequestError(f"kinds.{name}.{missing[0]}", None, f"is required for {name}")
        if "path" in options:
            checked_path(
                options["path"],
                kind.placeholders,
                key=f"kinds.{name}.path",
                example=kind.default_path(options),
            )
        planned.append((kind, options, kind.units(options)))
    return planned


def _request_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """The options every job of a kind passes to its request, as plain lists and dicts."""
    arguments: dict[str, Any] = {name: options[name] for name in REQUEST_OPTIONS if name in options}
    if isinstance(arguments.get("fields"), Sequence) and not isinstance(arguments["fields"], str):
        arguments["fields"] = list(arguments["fields"])
    if isinstance(arguments.get("column_header_names"), Mapping):
        arguments["column_header_names"] = dict(arguments["column_header_names"])
    return arguments


def _check_request(kind: _Kind, arguments: dict[str, Any]) -> None:
    """Build the job's request once, so that a bad one fails the plan; errors say which kind's it is."""
    try:
        kind.build(**arguments)
    except MarketoRequestError as error:
        raise MarketoRequestError(f"kinds.{kind.name}.{error.key}", error.value, error.rule) from None


def _file_path(kind: _Kind, options: Mapping[str, Any], values: dict[str, Any]) -> str:
    template = options.get("path", kind.default_path(options))
    try:
        return str(template.format(**values))
    except (ValueError, TypeError, KeyError) as error:
        raise MarketoRequestError(
            f"kinds.{kind.name}.path", template, f"is not a usable template: {error}"
        ) from None


def _describe(windows: int, per_window: Mapping[str, int], order: str | None) -> str:
    parts = " + ".join(counted(count, *KINDS[name].noun) for name, count in per_window.items())
    jobs = windows * sum(per_window.values())
    text = f"{counted(windows, 'window')} x ({parts}) = {counted(jobs, 'export job')}"
    if order is not None:
        text += ", newest windows first" if order == "newest_first" else ", kind by kind"
    return text


def _program_member_units(options: Mapping[str, Any]) -> list[_Unit]:
    try:
        batches = checked_batches(options["program_batches"])
    except MarketoRequestError as error:
        raise MarketoRequestError(f"kinds.program_members.{error.key}", error.value, error.rule) from None
    return [
        ({"programIds": batch}, "updatedAt", {"batch": number}, {}) for number, batch in enumerate(batches)
    ]


def _lead_date_filter(options: Mapping[str, Any]) -> str:
    date_filter = options.get("date_filter", "updatedAt")
    if date_filter not in ("updatedAt", "createdAt"):
        rule = "must be updatedAt, or createdAt where the subscription lacks updatedAt (new leads only)"
        raise MarketoRequestError("kinds.leads.date_filter", date_filter, rule)
    return str(date_filter)


def _lead_units(options: Mapping[str, Any]) -> list[_Unit]:
    return [({}, _lead_date_filter(options), {}, {})]


def _activity_units(options: Mapping[str, Any]) -> list[_Unit]:
    if options.get("activity_type_ids") is None:
        return [({}, "createdAt", {"activity_type": "all"}, {})]
    type_ids = id_list("kinds.activities.activity_type_ids", options["activity_type_ids"], "activity type id")
    return [
        ({"activityTypeIds": [type_id]}, "createdAt", {"activity_type": type_id}, {}) for type_id in type_ids
    ]


def _custom_object_units(options: Mapping[str, Any]) -> list[_Unit]:
    """One job per custom object type, each with its own fields (objects share no fields but the standard)."""
    objects = options["objects"]
    rule = "must map each custom object's apiName to its fields, e.g. {'car_c': ['vin', 'make']}"
    if not isinstance(objects, Mapping) or not objects:
        raise MarketoRequestError("kinds.custom_objects.objects", objects, rule)
    units: list[_Unit] = []
    for api_name, fields in objects.items():
        try:
            name = parse_api_name(api_name)
        except MarketoRequestError as error:
            raise MarketoRequestError("kinds.custom_objects.objects", error.value, error.rule) from None
        if isinstance(fields, str) or not isinstance(fields, Sequence):
            raise MarketoRequestError(f"kinds.custom_objects.objects.{name}", fields, rule)
        units.append(({}, "updatedAt", {"api_name": name}, {"fields": list(fields)}))
    return units


def _lead_path(options: Mapping[str, Any]) -> str:
    prefix = "created" if options.get("date_filter") == "createdAt" else "updated"
    return f"leads/{prefix}_from={{start_day}}/{prefix}_to={{end_day}}.{{ext}}"


KINDS: dict[str, _Kind] = {
    "program_members": _Kind(
        name="program_members",
        noun=("program member batch", "program member batches"),
        options=(*REQUEST_OPTIONS, "program_batches", "path"),
        required=("fields", "program_batches"),
        placeholders=(*COMMON_PLACEHOLDERS, "batch"),
        build=build_request,
        units=_program_member_units,
        default_path=lambda _: (
            "program_members/updated_from={start_day}/updated_to={end_day}/batch={batch:02d}.{ext}"
        ),
    ),
    "leads": _Kind(
        name="leads",
        noun=("lead job", "lead jobs"),
        options=(*REQUEST_OPTIONS, "date_filter", "path"),
        required=("fields",),
        placeholders=COMMON_PLACEHOLDERS,
        build=build_lead_export_request,
        units=_lead_units,
        default_path=_lead_path,
    ),
    "activities": _Kind(
        name="activities",
        noun=("activity job", "activity jobs"),
        options=(*REQUEST_OPTIONS, "activity_type_ids", "path"),
        required=(),
        placeholders=(*COMMON_PLACEHOLDERS, "activity_type"),
        build=build_activity_export_request,
        units=_activity_units,
        default_path=lambda _: (
            "activities/created_from={start_day}/created_to={end_day}/type={activity_type}.{ext}"
        ),
    ),
    "custom_objects": _Kind(
        name="custom_objects",
        noun=("custom object job", "custom object jobs"),
        options=("format", "column_header_names", "objects", "path"),
        required=("objects",),
        placeholders=(*COMMON_PLACEHOLDERS, "api_name"),
        build=build_custom_object_export_request,
        units=_custom_object_units,
        default_path=lambda _: (
            "custom_objects/{api_name}/updated_from={start_day}/updated_to={end_day}.{ext}"
        ),
    ),
}
"""The kinds a backfill plans, by name."""
KIND_NAMES: Sequence[str] = tuple(KINDS)

__all__ = [
    "KIND_NAMES",
    "MAX_JOBS",
    "ORDERS",
    "BackfillJob",
    "BackfillPlan",
    "plan_backfill",
    "plan_recent_days",
]
