"""One emulated Marketo instance: the state shared by the HTTP app and the Python control API."""

from __future__ import annotations

import shutil
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path

from airflow_provider_marketo_pm.testing.emulator.clock import EmulatedClock
from airflow_provider_marketo_pm.testing.emulator.dataset import Dataset, build_dataset, documented_dataset
from airflow_provider_marketo_pm.testing.emulator.export_file import FileStyle, WrittenFile, write_export_file
from airflow_provider_marketo_pm.testing.emulator.faults import FaultScript
from airflow_provider_marketo_pm.testing.emulator.jobs import Job, JobBoard
from airflow_provider_marketo_pm.testing.emulator.kinds import Records
from airflow_provider_marketo_pm.testing.emulator.limits import CallLimits
from airflow_provider_marketo_pm.testing.emulator.options import EmulatorOptions
from airflow_provider_marketo_pm.testing.emulator.request_log import RequestLog
from airflow_provider_marketo_pm.testing.emulator.tokens import TokenStore


class MarketoInstance:
    """Owns the data directory (a temporary one unless ``data_dir`` is given) and the job scheduler."""

    def __init__(self, options: EmulatorOptions) -> None:
        self.options = options
        self.clock = EmulatedClock(start=options.start_epoch)
        #: The generated data's updatedAt values end before this day: the clock's day unless pinned.
        today = datetime.fromtimestamp(self.clock.now(), UTC).date()
        self.data_until: date = options.data_until_date or today
        self.dataset: Dataset = (
            documented_dataset()
            if options.dataset == "documented"
            else build_dataset(options.seed, options.programs, options.members, until=self.data_until)
        )
        self.records = Records(self.dataset)  # leads, activities and custom objects of this dataset
        self.file_style = FileStyle(
            line_ending=options.line_ending,
            final_newline=options.final_newline,
            utf8_bom=options.utf8_bom,
            nul_bytes=options.nul_bytes,
        )
        self.tokens = TokenStore(options.client_id, options.client_secret, options.token_ttl, self.clock)
        self.limits = CallLimits(
            options.rate_limit_calls, options.rate_limit_window, options.max_concurrent, self.clock
        )
        self.faults = FaultScript()
        self.log = RequestLog()
        # Last, after the slow part (the dataset): a stop signal meanwhile leaves no folder behind.
        self._own_dir = options.data_dir is None
        self.data_dir = Path(options.data_dir or tempfile.mkdtemp(prefix="marketo-emulator-"))
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.jobs = JobBoard(options, self.clock, self.data_dir, self._write_file)

    def start(self) -> None:
        self.jobs.start()

    def close(self) -> None:
        self.jobs.stop()
        if self._own_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def _write_file(self, job: Job) -> WrittenFile:
        assert job.spec is not None
        assert job.path is not None
        return write_export_file(
            job.path,
            job.spec,
            job.spec.rows(),
            pad_to_bytes=self.options.large_file_bytes,
            style=self.file_style,
        )
