"""CLI: ``python -m airflow_provider_marketo_pm.testing.emulator --port 8766`` (for the demo and compose)."""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from collections.abc import Sequence

from airflow_provider_marketo_pm.testing.emulator.options import EmulatorOptionError, EmulatorOptions
from airflow_provider_marketo_pm.testing.emulator.server import build_server
from airflow_provider_marketo_pm.testing.emulator.state import MarketoInstance

REALISTIC = {"processing_seconds": 90.0, "status_refresh_seconds": 60.0}


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m airflow_provider_marketo_pm.testing.emulator",
        description="Serve an emulated Marketo instance (identity + bulk program member export).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (0.0.0.0 in a container)")
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument(
        "--client-id", default=os.environ.get("MARKETO_EMULATOR_CLIENT_ID", "emulator-client")
    )
    parser.add_argument(
        "--client-secret",
        default=os.environ.get("MARKETO_EMULATOR_CLIENT_SECRET", "emulator-secret"),
        help="default from MARKETO_EMULATOR_CLIENT_SECRET (avoid secrets on command lines)",
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--programs", type=int, help="number of programs, ids from 1001 (default 60)")
    parser.add_argument(
        "--members", type=int, help="number of program memberships to generate (default 4000)"
    )
    parser.add_argument("--processing-seconds", type=float, help="time a job spends Processing")
    parser.add_argument("--status-refresh-seconds", type=float, help="status changes only on these ticks")
    parser.add_argument(
        "--realistic", action="store_true", help="Marketo's pace: 60 s status refresh, slow jobs"
    )
    parser.add_argument("--token-ttl", type=float)
    parser.add_argument("--daily-quota-bytes", type=int)
    parser.add_argument("--large-file-mb", type=float, help="pad every export file to this many MB")
    parser.add_argument(
        "--no-updated-at-filter", action="store_true", help="answer 1035 to updatedAt filters"
    )
    parser.add_argument("--data-dir", help="where export files are written (default: a temporary directory)")
    parser.add_argument("--log-level", default="info")
    return parser.parse_args(argv)


def options_from(args: argparse.Namespace) -> EmulatorOptions:
    chosen: dict[str, object] = dict(REALISTIC) if args.realistic else {}
    for field in dataclasses.fields(EmulatorOptions):
        value = getattr(args, field.name, None)
        if value is not None:
            chosen[field.name] = value
    if args.no_updated_at_filter:
        chosen["updated_at_filter"] = False
    return EmulatorOptions.from_kwargs(**chosen)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        options = options_from(args)
    except EmulatorOptionError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    instance = MarketoInstance(options)
    instance.start()
    print(
        f"Marketo emulator on http://{options.host}:{options.port} (client id {options.client_id!r})",
        flush=True,
    )
    try:
        build_server(instance, log_level=args.log_level).run()
    finally:
        instance.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
