"""What differs between the Airflow (and common-compat) releases we support, decided once at import.

As in apache/airflow's providers: the rest of the package imports these names and never tests versions.
"""

from __future__ import annotations

from typing import Any

from airflow.triggers.base import BaseTrigger

try:
    from airflow.sdk.log import amask_secret, mask_secret
except ImportError:  # pragma: no cover - older task SDKs
    from airflow.providers.common.compat.sdk import mask_secret

    async def amask_secret(secret: Any, name: str | None = None) -> None:  # type: ignore[misc]
        mask_secret(secret, name)


try:
    from airflow.sdk.log import redact
except ImportError:  # pragma: no cover - older task SDKs
    from airflow.sdk.execution_time.secrets_masker import redact  # type: ignore[no-redef]


TRIGGER_ON_KILL_SUPPORTED = hasattr(BaseTrigger, "on_kill")
"""Airflow 3.3 gave triggers an async ``on_kill`` (user actions); before it ``cancel_on_kill`` cannot act."""


async def aget_connection_and_extra(conn_id: str) -> tuple[Any, dict[str, Any]]:
    """The connection and its extras through the async lookup, safe inside the triggerer's event loop."""
    try:
        from airflow.providers.common.compat.connection import get_async_connection, get_async_extra_dejson
    except ImportError:  # pragma: no cover - older common-compat
        from airflow.providers.common.compat.sdk import BaseHook
        from asgiref.sync import sync_to_async

        conn = await sync_to_async(BaseHook.get_connection)(conn_id)
        extra = await sync_to_async(lambda: conn.extra_dejson)()
        return conn, extra
    conn = await get_async_connection(conn_id)
    return conn, await get_async_extra_dejson(conn)


__all__ = ["TRIGGER_ON_KILL_SUPPORTED", "aget_connection_and_extra", "amask_secret", "mask_secret", "redact"]
