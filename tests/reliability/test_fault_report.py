"""The fault matrix rewrites docs/reliability.md: the sections other suites keep by hand survive it."""

from __future__ import annotations

from fault_report import DOC_PATH, FaultReport


def test_a_rewrite_keeps_the_hand_written_sections_and_replaces_its_own(tmp_path):
    doc = tmp_path / "reliability.md"
    doc.write_text(
        "# Reliability: fault matrix\n\nold table\n\n## Through a real DAG run\n\nold DAG rows\n\n"
        "## Hostile inputs: arguments, destinations and disks\n\n| case |\n| --- |\n| kept |\n",
        encoding="utf-8",
    )

    FaultReport([], []).write(doc)

    text = doc.read_text(encoding="utf-8")
    assert "old table" not in text
    assert "old DAG rows" not in text
    assert text.count("## Through a real DAG run") == 1
    assert text.endswith(
        "## Hostile inputs: arguments, destinations and disks\n\n| case |\n| --- |\n| kept |\n"
    )


def test_the_document_holds_the_hostile_inputs_section():
    assert "\n## Hostile inputs: arguments, destinations and disks\n" in DOC_PATH.read_text(encoding="utf-8")
