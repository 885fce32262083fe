"""
Where an export file goes: the destination URL's rules, and the proof that it can be written.

A destination that cannot take the file must fail before the export is created: a typo in a bucket name
otherwise costs a queue slot and the day's export quota per job, and only the upload fails, with the
store's own error. :func:`prove_writable` writes a tiny probe where the file will go and deletes it again.
"""

from __future__ import annotations

import re
import shutil
import uuid
from pathlib import Path
from typing import Any

from airflow.providers.common.compat.sdk import AirflowNotFoundException, BaseHook
from airflow.sdk import ObjectStoragePath
from airflow.sdk.io import attach

from airflow_provider_marketo_pm.exceptions import MarketoDestinationError, MarketoRequestError

LOCAL_PROTOCOLS = ("file", "local")

_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_NOTHING_SPENT = "checked before the export is created, so no queue slot or daily quota was spent"


def destination_url(value: Any, field: str = "destination") -> str:
    """
    An object storage URL with a scheme, stripped; refused when it could mean something else.

    A bare path would land relative to the worker's cwd; a list rendered as text (``"['s3://b/a.csv']"``)
    is not one destination; ``..`` segments that climb out of the root (local) or the bucket (object
    stores), and on object stores any ``.``/``..`` segment, which the store keeps literally in the key.
    """
    if not isinstance(value, str) or not value.strip():
        raise MarketoRequestError(field, value, "must be a non-empty object storage URL")
    url = value.strip()
    if url[0] in "[({" or _CONTROL.search(url):
        raise MarketoRequestError(
            field,
            value,
            "must be one URL: this looks like a list (or a value with control characters) rendered as text; "
            "map the task over the list (expand) to write several files",
        )
    scheme, separator, rest = url.partition("://")
    if not separator or not _SCHEME.fullmatch(scheme) or not rest:
        raise MarketoRequestError(
            field, value, "must be a URL with a scheme, e.g. file:///data/members.csv or s3://b/k"
        )
    segments = rest.split("/")
    if scheme.lower() in LOCAL_PROTOCOLS:
        if climbs_out(segments):
            raise MarketoRequestError(field, value, "its '..' segments climb out of the root directory")
    elif {".", ".."} & set(segments[1:]):
        rule = (
            "its '..' segments climb out of the bucket"
            if climbs_out(segments[1:])
            else "an object store keeps '.' and '..' literally in the key: write the key without them"
        )
        raise MarketoRequestError(field, value, rule)
    return url


def climbs_out(segments: list[str]) -> bool:
    """True when ``..`` segments go above where the path started (``a/../..``)."""
    depth = 0
    for segment in segments:
        if segment == "..":
            depth -= 1
            if depth < 0:
                return True
        elif segment not in ("", "."):
            depth += 1
    return False


def object_storage_path(value: Any, conn_id: str | None) -> ObjectStoragePath:
    """The destination as a path of a registered filesystem, before anything is asked of Marketo."""
    url = destination_url(value)
    try:
        path = ObjectStoragePath(url, conn_id=conn_id)
        if is_local(path):
            attach_local_filesystem(path)
        path.fs  # noqa: B018  # Airflow < 3.3 only refuses an unknown scheme here
    except (ValueError, ImportError) as err:  # "Unsupported filesystem: 'ftp2'", no s3fs installed, ...
        raise MarketoRequestError("destination", value, f"is not a usable object storage URL: {err}") from err
    return path


def is_local(path: ObjectStoragePath) -> bool:
    """A file on this machine's disks (or a disk mounted there), not an object store."""
    return path.protocol in LOCAL_PROTOCOLS


def attach_local_filesystem(path: ObjectStoragePath) -> None:
    """
    Give a local path's store the filesystem Airflow would give it (fsspec's ``LocalFileSystem``), so that
    reaching it does not first import every provider's filesystem: Airflow's ``get_fs`` registers them all
    on first use, whatever the scheme, which for a ``file://`` download meant importing the Amazon
    provider's S3 hook and boto (about 0.2-0.5 s of a task's start). A store already attached for this
    protocol and connection (by the user, or earlier) is kept as it is.
    """
    from fsspec.implementations.local import LocalFileSystem

    attach(path.protocol, path.storage_options.get("conn_id"), fs=LocalFileSystem())


def nearest_existing_directory(path: ObjectStoragePath, url: str) -> Path:
    """
    The deepest existing directory at or above a local ``path`` (the download creates what is missing);
    a file on the way is refused, naming it.
    """
    local = Path(path.path)
    while not local.exists() and local.parent != local:
        local = local.parent
    if not local.is_dir():
        raise MarketoDestinationError(
            "destination", url, f"cannot be created: {local} is a file, not a directory"
        )
    return local


def free_bytes(path: ObjectStoragePath) -> int | None:
    """Bytes free where a local file ``path`` will be written; ``None`` for object stores (no such limit)."""
    if not is_local(path):
        return None
    return shutil.disk_usage(nearest_existing_directory(path.parent, public_uri(path))).free


def public_uri(path: ObjectStoragePath) -> str:
    """URL of a path without its connection id (``s3://conn@bucket/k`` -> ``s3://bucket/k``)."""
    return f"{path.protocol}://{path.path}"


def checked_destination(
    value: Any, conn_id: str | None, *, overwrite: bool = True, directory: bool = False
) -> ObjectStoragePath:
    """
    The destination of a start, proven usable before the export is created: a URL by
    :func:`destination_url`, a ``conn_id`` that exists, a file that does not exist yet unless
    ``overwrite``, and a store that takes a write (:func:`prove_writable`). ``directory``: a prefix that
    files will go under (the task group's destination), for which nothing is checked for existence.
    """
    url = destination_url(value)
    check_dest_conn_id(conn_id)
    path = object_storage_path(url, conn_id)
    if not directory and not overwrite and path.exists():
        raise MarketoRequestError(
            "destination",
            value,
            f"exists already: set overwrite=True to replace it, or choose another path ({_NOTHING_SPENT})",
        )
    prove_writable(path, url, conn_id, directory=directory)
    return path


def check_dest_conn_id(conn_id: str | None) -> None:
    """
    A ``dest_conn_id`` must name a connection: an unknown one is no error to the stores (S3 falls back to
    the worker's default credentials), so a typo would write with other credentials, or fail late.
    """
    if not conn_id:
        return
    try:
        BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        raise MarketoDestinationError(
            "dest_conn_id",
            conn_id,
            f"no Airflow connection has this id (a store would fall back to default credentials; "
            f"{_NOTHING_SPENT})",
        ) from None


def prove_writable(
    destination: ObjectStoragePath, url: str, conn_id: str | None, *, directory: bool = False
) -> None:
    """
    Prove that ``destination`` (a file, or with ``directory`` a prefix files go under) can be written:
    a tiny probe is written beside the file and deleted again.

    Locally the probe goes into the nearest existing directory (nothing is created); on object stores it
    is a sibling key, so the bucket (or container), the credentials and the prefix's permissions are what
    the real upload will meet. Any failure is a :class:`MarketoDestinationError` naming the field.
    """
    folder = destination if directory else destination.parent
    where = str(nearest_existing_directory(folder, url)) if is_local(destination) else folder.path
    probe = f"{where.rstrip('/')}/.{destination.name or 'marketo-pm'}.{uuid.uuid4().hex}.probe"
    fs = destination.fs
    step = "writing"
    try:
        with fs.open(probe, mode="wb") as out:
            out.write(b"")
        step = "deleting"
        fs.rm(probe)
    # The store's own errors are of its library (OSError, botocore, azure, gcsfs ...): each one means the
    # file could not be written, which is what the user must read, with the field named.
    except Exception as err:
        raise MarketoDestinationError(
            "destination",
            url,
            f"is not writable with dest_conn_id={conn_id!r}: {step} a probe {destination.protocol}://{probe} "
            f"failed with {type(err).__name__}: {err} ({_NOTHING_SPENT})",
        ) from err


__all__ = [
    "LOCAL_PROTOCOLS",
    "attach_local_filesystem",
    "check_dest_conn_id",
    "checked_destination",
    "climbs_out",
    "destination_url",
    "free_bytes",
    "is_local",
    "nearest_existing_directory",
    "object_storage_path",
    "prove_writable",
    "public_uri",
]
