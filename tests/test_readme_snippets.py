"""The README's Python snippets: every one compiles, and every complete DAG in it runs as pasted.

A fenced ``python`` block is a *complete DAG* when it defines one (``DAG(`` or ``@dag``), is not a pytest
module (no ``def test_``: the README's example tests are the pytest plugin's to run) and the line before
its fence is not ``<!-- snippet: fragment -->``. Those run end to end with ``dag.test()`` against the
emulator, with two edits only, both for the test's sake: the destination goes to ``tmp_path`` instead of
``/tmp``, and a 60 s poll interval (Marketo's pace) becomes 1 s (the emulator's).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

import pendulum
import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
FRAGMENT_MARK = "<!-- snippet: fragment -->"
#: The DAGs the README promises run as pasted; more may come, none of these may go.
EXPECTED_DAG_IDS = {
    "marketo_program_1044_members_daily",
    "marketo_program_members_by_batch",
    "marketo_program_members_last_31_days",
}


@dataclass(frozen=True)
class Snippet:
    line: int  # of the opening fence, 1-based
    code: str
    fragment: bool

    @property
    def defines_a_dag(self) -> bool:
        if self.fragment or re.search(r"^\s*(async )?def test_", self.code, re.MULTILINE):
            return False
        return bool(re.search(r"\bDAG\(|@dag\b", self.code))

    @property
    def dag_ids(self) -> list[str]:
        return re.findall(r"dag_id=\"([^\"]+)\"", self.code)


def readme_snippets() -> list[Snippet]:
    lines = README.read_text(encoding="utf-8").splitlines()
    snippets, index = [], 0
    while index < len(lines):
        if lines[index].strip() == "```python":
            end = lines.index("```", index + 1)
            previous = next((line.strip() for line in reversed(lines[:index]) if line.strip()), "")
            code = "\n".join(lines[index + 1 : end]) + "\n"
            snippets.append(Snippet(index + 1, code, fragment=previous == FRAGMENT_MARK))
            index = end
        index += 1
    return snippets


SNIPPETS = readme_snippets()
DAG_SNIPPETS = [snippet for snippet in SNIPPETS if snippet.defines_a_dag]


def test_the_readme_has_its_complete_dags():
    assert {dag_id for snippet in DAG_SNIPPETS for dag_id in snippet.dag_ids} >= EXPECTED_DAG_IDS


@pytest.mark.parametrize("snippet", SNIPPETS, ids=[f"README.md:{s.line}" for s in SNIPPETS])
def test_every_python_snippet_compiles(snippet):
    compile(snippet.code, f"README.md:{snippet.line}", "exec")


def as_run_against_the_emulator(code: str, destination: str) -> str:
    edited = code.replace("file:///tmp/", destination.rstrip("/") + "/")
    assert "file:///tmp/" not in edited.replace(destination, "")
    return edited.replace("poll_interval=60", "poll_interval=1")


@pytest.mark.slow
@pytest.mark.e2e
@pytest.mark.parametrize(
    "snippet", DAG_SNIPPETS, ids=[",".join(s.dag_ids) or f"README.md:{s.line}" for s in DAG_SNIPPETS]
)
def test_each_complete_dag_runs_as_pasted(snippet, emulator, use_dags_folder, tmp_path, monkeypatch):
    from airflow.utils.state import DagRunState

    try:
        from airflow.dag_processing.dagbag import DagBag
    except ImportError:  # Airflow < 3.1
        from airflow.models.dagbag import DagBag  # type: ignore[no-redef]

    out = tmp_path / "out"
    out.mkdir()
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / f"readme_snippet_line_{snippet.line}.py").write_text(
        as_run_against_the_emulator(snippet.code, out.as_uri())
    )
    use_dags_folder(dags)
    # What a snippet reads from Variables (the task group's settings), pointed at the test's folder.
    monkeypatch.setenv("AIRFLOW_VAR_MARKETO_PM_DESTINATION", out.as_uri())
    monkeypatch.setenv("AIRFLOW_VAR_MARKETO_PM_POLL_INTERVAL", "1")
    for name in ("PROGRAM_IDS", "DEST_CONN_ID", "FIELDS", "CONN_ID"):
        monkeypatch.delenv(f"AIRFLOW_VAR_MARKETO_PM_{name}", raising=False)

    bag = DagBag(dag_folder=str(dags))
    assert bag.import_errors == {}
    assert bag.dags
    for dag in bag.dags.values():
        run = dag.test(logical_date=pendulum.datetime(2024, 3, 5, tz="UTC"))
        assert run.state == DagRunState.SUCCESS, dag.dag_id

    filters = [json.loads(call.body)["filter"] for call in emulator.calls("create")]
    assert filters, "the DAG created at least one export"
    for export_filter in filters:
        if "updatedAt" in export_filter:  # never the zero-length interval of a plain cron schedule
            window = export_filter["updatedAt"]
            assert pendulum.parse(window["startAt"]) < pendulum.parse(window["endAt"])
    files = [path for path in sorted(out.rglob("*")) if path.is_file()]
    assert len(files) == len(filters)
    enqueued = {call.path.split("/")[-2] for call in emulator.calls("enqueue")}
    served = {emulator.job(export_id)["fileChecksum"].removeprefix("sha256:") for export_id in enqueued}
    assert {hashlib.sha256(path.read_bytes()).hexdigest() for path in files} == served


def test_the_hook_snippet_runs_as_pasted(emulator):
    """The MarketoHook section's lifecycle, against the emulator (a 60 s poll becomes 1 s)."""
    (snippet,) = [s for s in SNIPPETS if "hook.create_export(" in s.code]
    namespace: dict[str, object] = {}
    code = as_run_against_the_emulator(snippet.code, "file:///unused/")
    exec(compile(code, f"README.md:{snippet.line}", "exec"), namespace)
    record = namespace["record"]
    assert isinstance(record, dict)
    assert record["status"] == "Completed"
    assert emulator.calls("file")[-1].status == 200
