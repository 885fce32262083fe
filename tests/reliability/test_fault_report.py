"""docs/reliability.md: the fault matrix regenerates its own sections and keeps the hand-written ones."""

from __future__ import annotations

from fault_report import DOC_PATH, FaultReport, Observation


def test_regenerating_the_matrix_keeps_the_hand_written_sections_after_it(tmp_path):
    report = FaultReport(["no fault"], ["no fault"])
    report.record(Observation("no fault", "nothing", "success", "success", "", "", "", "", "", True))
    report.record_dag("no fault", "all success")
    doc = tmp_path / "reliability.md"
    hand_written = (
        "## Hostile answers: envelopes and numbers\n\n| case | before |\n| --- | --- |\n| a | b |\n"
    )
    doc.write_text("# old generated text\n\n## Through a real DAG run\n\nold rows\n\n" + hand_written)

    report.write(doc)
    report.write(doc)  # twice: nothing doubles

    text = doc.read_text()
    assert text.startswith(report.render())
    assert text.count(hand_written) == 1
    assert "old generated text" not in text
    assert "old rows" not in text


def test_the_document_holds_the_hostile_inputs_section():
    assert "\n## Hostile inputs: arguments, destinations and disks\n" in DOC_PATH.read_text(encoding="utf-8")
