"""How a status record reads in the task log."""

from __future__ import annotations

import pytest

from airflow_provider_marketo_pm.export_status import ExportState, counted, read_export_status


@pytest.mark.parametrize(
    ("records", "size", "words"),
    [
        (1, 1, "completed: 1 record, 1 byte."),
        (0, 0, "0 records, 0 bytes."),
        (13, 1740, "13 records, 1740 bytes."),
    ],
)
def test_a_completed_record_counts_in_good_english(records, size, words):
    status = read_export_status(
        {"exportId": "e1", "status": "Completed", "numberOfRecords": records, "fileSize": size}
    )
    assert status.state is ExportState.DONE
    assert status.message.endswith(words)


def test_counted_is_singular_for_one_only():
    words = [counted(n, "record") for n in (0, 1, 2, "1")]
    assert words == ["0 records", "1 record", "2 records", "1 record"]
    assert [counted(n, "batch", "batches") for n in (1, 2)] == ["1 batch", "2 batches"]
