"""CLI: ``python -m airflow_provider_marketo_pm.testing.emulator --port 8766`` (for the demo and compose)."""

from __future__ import annotations

import argparse
import dataclasses
import errno
import os
import signal
import socket
import sys
from collections.abc import Sequence
from types import FrameType

import uvicorn

from airflow_provider_marketo_pm.testing.emulator.clock import iso_utc
from airflow_provider_marketo_pm.testing.emulator.options import EmulatorOptionError, EmulatorOptions
from airflow_provider_marketo_pm.testing.emulator.server import build_server
from airflow_provider_marketo_pm.testing.emulator.state import MarketoInstance

REALISTIC = {"processing_seconds": 90.0, "status_refresh_seconds": 60.0}
DEFAULT_CLIENT_ID = "emulator-client"
DEFAULT_CLIENT_SECRET = "emulator-secret"
LINE_ENDINGS = {"lf": "\n", "crlf": "\r\n"}
EXIT_BAD_OPTION = 2
EXIT_PORT_BUSY = 3
#: The signals that stop the CLI (see StopSignals), each with the shell's exit status: 128 + its number.
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
_DEFAULTS = EmulatorOptions(client_id="x", client_secret="x")


def build_parser() -> argparse.ArgumentParser:
    """The CLI's options; each help text ends with its default in brackets."""
    d = _DEFAULTS
    parser = argparse.ArgumentParser(
        prog="python -m airflow_provider_marketo_pm.testing.emulator",
        description=(
            "Serve an emulated Marketo instance: identity, the bulk exports of program members, leads, "
            "activities and custom objects (one queue, one daily quota), their describes, and the Asset API's"
            " program browse. Every default is shown in brackets."
        ),
        epilog=(
            f"Exit status: {EXIT_BAD_OPTION} for a bad option, {EXIT_PORT_BUSY} when the port is already "
            "in use (reported before anything is served)."
        ),
    )
    serve = parser.add_argument_group("serving")
    serve.add_argument(
        "--host", default="127.0.0.1", help="interface to bind; 0.0.0.0 in a container [127.0.0.1]"
    )
    serve.add_argument("--port", type=int, default=8766, help="TCP port; 0 picks a free one [8766]")
    serve.add_argument(
        "--client-id",
        default=os.environ.get("MARKETO_EMULATOR_CLIENT_ID", DEFAULT_CLIENT_ID),
        help="the client id the token endpoint accepts "
        f"[$MARKETO_EMULATOR_CLIENT_ID, else {DEFAULT_CLIENT_ID!r}; --realistic keeps it]",
    )
    serve.add_argument(
        "--client-secret",
        default=None,
        help="the client secret it accepts; prefer the variable, as a command line shows in ps "
        f"[$MARKETO_EMULATOR_CLIENT_SECRET, else {DEFAULT_CLIENT_SECRET!r}]",
    )
    serve.add_argument(
        "--data-dir", help="where export files are written [a temporary directory, removed on exit]"
    )
    serve.add_argument("--log-level", default="info", help="uvicorn's log level [info]")

    pace = parser.add_argument_group("pace and limits")
    pace.add_argument(
        "--realistic",
        action="store_true",
        help=f"Marketo's pace: status refreshed every {REALISTIC['status_refresh_seconds']:g} s, "
        f"jobs Processing {REALISTIC['processing_seconds']:g} s (credentials unchanged) "
        "[off: the fast test pace]",
    )
    pace.add_argument(
        "--processing-seconds", type=float, help=f"time a job spends Processing [{d.processing_seconds:g}]"
    )
    pace.add_argument(
        "--status-refresh-seconds",
        type=float,
        help=f"status changes only on ticks this far apart; 0 = at once [{d.status_refresh_seconds:g}]",
    )
    pace.add_argument(
        "--token-ttl", type=float, help=f"lifetime of an access token, in seconds [{d.token_ttl:g}]"
    )
    pace.add_argument(
        "--daily-quota-bytes", type=int, help=f"daily export quota, in bytes [{d.daily_quota_bytes} = 500 MB]"
    )
    pace.add_argument(
        "--quota-day-seconds",
        type=float,
        help="make each quota day this long, for tests [off: days end at 00:00 America/Chicago]",
    )
    pace.add_argument(
        "--start-at",
        help="ISO-8601 instant where the emulated clock starts, e.g. 2026-03-07T12:00:00-06:00 [now]",
    )
    pace.add_argument(
        "--no-updated-at-filter",
        action="store_true",
        help="answer 1035 to updatedAt filters, like subscriptions without it [off]",
    )
    pace.add_argument(
        "--no-smart-list-filter",
        action="store_true",
        help="answer 1035 to smartListId/smartListName filters, like subscriptions without them [off]",
    )

    data = parser.add_argument_group("data and files")
    data.add_argument(
        "--dataset",
        choices=("generated", "documented"),
        help="'documented' = the 12-row example of Marketo's docs (program 1044), byte for byte [generated]",
    )
    data.add_argument("--seed", type=int, help=f"seed of the generated data [{d.seed}]")
    data.add_argument(
        "--data-until",
        metavar="YYYY-MM-DD",
        help="the generated memberships' updatedAt values span the ~4.8 years before this day; "
        "pin it for the same rows on any day [today, UTC: the last days always have rows]",
    )
    data.add_argument(
        "--programs", type=int, help=f"number of generated programs, ids from 1001 [{d.programs}]"
    )
    data.add_argument("--members", type=int, help=f"number of generated program memberships [{d.members}]")
    data.add_argument(
        "--lead-custom-field",
        action="append",
        dest="lead_custom_fields",
        metavar="NAME",
        help="add a lead custom field of your own (repeat for more) [none]",
    )
    data.add_argument("--line-ending", choices=tuple(LINE_ENDINGS), help="line ending of export files [lf]")
    data.add_argument(
        "--final-newline",
        action="store_true",
        help="end files with a line ending, unlike Marketo's example [off]",
    )
    data.add_argument(
        "--utf8-bom", action="store_true", help="start files with a UTF-8 byte order mark [off]"
    )
    data.add_argument(
        "--nul-bytes", action="store_true", help="put NUL bytes inside some custom field values [off]"
    )
    data.add_argument(
        "--cancelled-spelling",
        choices=("Cancelled", "Canceled"),
        help="how status answers spell a cancelled job [Cancelled]",
    )
    data.add_argument("--large-file-mb", type=float, help="pad every export file to this many MB [off]")
    return parser


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    return build_parser().parse_args(argv)


def options_from(args: argparse.Namespace) -> EmulatorOptions:
    chosen: dict[str, object] = dict(REALISTIC) if args.realistic else {}
    for field in dataclasses.fields(EmulatorOptions):
        value = getattr(args, field.name, None)
        if value is not None and value is not False:
            chosen[field.name] = value
    chosen["client_secret"] = args.client_secret or os.environ.get(
        "MARKETO_EMULATOR_CLIENT_SECRET", DEFAULT_CLIENT_SECRET
    )
    if args.no_updated_at_filter:
        chosen["updated_at_filter"] = False
    if args.no_smart_list_filter:
        chosen["smart_list_filter"] = False
    if args.line_ending is not None:
        chosen["line_ending"] = LINE_ENDINGS[args.line_ending]
    if args.lead_custom_fields:
        chosen["lead_custom_fields"] = tuple(args.lead_custom_fields)
    return EmulatorOptions.from_kwargs(**chosen)


def bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound before anything is announced, so a busy port is the first thing said."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def banner(instance: MarketoInstance, port: int) -> str:
    """Where it serves, whom it lets in, and the dates its data spans (what updatedAt filters can find)."""
    options = instance.options
    line = f"Marketo emulator on http://{options.host}:{port} (client id {options.client_id!r})"
    span = instance.dataset.updated_at_range()
    if span is not None:
        first, last = (iso_utc(stamp)[:10] for stamp in span)
        line += f"; memberships updated {first} to {last} (UTC)"
    return line


class StopSignals:
    """
    SIGTERM, SIGINT and SIGHUP stop the CLI through its ``finally`` block (which removes the data folder).

    Before the server runs, a signal raises SystemExit. While it runs, a signal asks uvicorn to shut down
    gracefully: uvicorn handles SIGINT and SIGTERM itself, then restores these handlers and raises the
    signal again, which, with Python's default handler, would kill the process before any cleanup.
    """

    def __init__(self) -> None:
        self.server: uvicorn.Server | None = None
        self.received: int | None = None

    def install(self) -> None:
        for signum in STOP_SIGNALS:
            signal.signal(signum, self._handle)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.received = self.received or signum
        if self.server is None:
            raise SystemExit(128 + signum)
        self.server.should_exit = True

    @property
    def exit_status(self) -> int:
        """0 after a normal end, else the shell's status for the signal: 128 + its number."""
        return 0 if self.received is None else 128 + self.received


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        options = options_from(args)
    except EmulatorOptionError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_OPTION
    try:
        sock = bind(options.host, options.port)
    except OSError as error:
        reason = (
            "is already in use" if error.errno == errno.EADDRINUSE else f"cannot be bound ({error.strerror})"
        )
        print(
            f"error: port {options.port} on {options.host} {reason}: stop what is listening there "
            "(another emulator?) or choose another --port",
            file=sys.stderr,
        )
        return EXIT_PORT_BUSY
    stop = StopSignals()
    stop.install()
    instance: MarketoInstance | None = None
    try:
        instance = MarketoInstance(options)  # makes the temporary data folder unless --data-dir is given
        instance.start()
        server = build_server(instance, log_level=args.log_level)
        print(banner(instance, sock.getsockname()[1]), flush=True)
        stop.server = server
        server.run(sockets=[sock])
    finally:
        if instance is not None:
            instance.close()  # removes the temporary data folder, whichever way the CLI ends
        sock.close()
    return stop.exit_status


if __name__ == "__main__":
    sys.exit(main())
