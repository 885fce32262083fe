"""How a status record reads in the task log."""

from __future__ import annotations

import uuid

import pytest

from airflow_provider_marketo_pm.export_status import (
    ExportState,
    counted,
    read_export_status,
    resumed_poll_offset,
)


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


# --- the first poll of triggers resumed together (a triggerer restart) -------------------------------------

EXPORT_IDS = [str(uuid.uuid5(uuid.NAMESPACE_URL, f"export-{n}")) for n in range(1000)]


@pytest.mark.parametrize("seconds", [0.05, 60.0])
def test_a_resumed_polls_offset_is_within_one_interval_and_the_same_every_time(seconds):
    offsets = [resumed_poll_offset(export_id, seconds) for export_id in EXPORT_IDS]

    assert all(0 <= offset < seconds for offset in offsets)
    assert offsets == [resumed_poll_offset(export_id, seconds) for export_id in EXPORT_IDS]


def test_resumed_polls_of_many_jobs_are_spread_over_the_whole_interval():
    tenths = [0] * 10
    for export_id in EXPORT_IDS:
        tenths[int(resumed_poll_offset(export_id, 60.0) // 6.0)] += 1

    # 1,000 jobs, about 100 in each tenth of the minute: none is empty or holds twice its share.
    assert all(50 <= count <= 200 for count in tenths), tenths
