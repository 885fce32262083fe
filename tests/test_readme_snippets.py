"""The Python snippets of the README and the docs pages: each compiles, each complete DAG runs as pasted.

A fenced ``python`` block is a *complete DAG* when it defines one (``DAG(`` or ``@dag``), is not a pytest
module (no ``def test_``: the example tests are the pytest plugin's to run) and the line before its fence
is not ``<!-- snippet: fragment -->``. Those run end to end with ``dag.test()`` against the emulator, with
two edits only, both for the test's sake: the destination goes to ``tmp_path`` instead of ``/tmp``, and a
60 s poll interval (Marketo's pace) becomes 1 s (the emulator's). A DAG shown on two pages runs once.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

import pendulum
import pytest

ROOT = Path(__file__).resolve().parents[1]
#: The pages whose snippets are checked: the README and every page of the documentation site.
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FRAGMENT_MARK = "<!-- snippet: fragment -->"
#: The DAGs the docs promise run as pasted; more may come, none of these may go.
EXPECTED_DAG_IDS = {
    "marketo_program_1044_members_daily",
    "marketo_program_members_by_batch",
    "marketo_program_members_last_31_days",
    "marketo_new_leads_daily",
    "marketo_web_activities_daily",
    "marketo_cars_daily",
}


@dataclass(frozen=True)
class Snippet:
    page: str  # relative to the repository root
    line: int  # of the opening fence, 1-based
    code: str
    fragment: bool

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"

    @property
    def defines_a_dag(self) -> bool:
        if self.fragment or re.search(r"^\s*(async )?def test_", self.code, re.MULTILINE):
            return False
        return bool(re.search(r"\bDAG\(|@dag\b", self.code))

    @property
    def dag_ids(self) -> list[str]:
        return re.findall(r"dag_id=\"([^\"]+)\"", self.code)


def page_snippets(page: Path) -> list[Snippet]:
    lines = page.read_text(encoding="utf-8").splitlines()
    name = page.relative_to(ROOT).as_posix()
    snippets, index = [], 0
    while index < len(lines):
        if lines[index].strip() == "```python":
            end = lines.index("```", index + 1)
            previous = next((line.strip() for line in reversed(lines[:index]) if line.strip()), "")
            code = "\n".join(lines[index + 1 : end]) + "\n"
            snippets.append(Snippet(name, index + 1, code, fragment=previous == FRAGMENT_MARK))
            index = end
        index += 1
    return snippets


SNIPPETS = [snippet for page in PAGES for snippet in page_snippets(page)]


def distinct_dags(snippets: list[Snippet]) -> list[Snippet]:
    """Each complete DAG once, where it first appears (the README's first DAG is the start page's too)."""
    by_code: dict[str, Snippet] = {}
    for snippet in snippets:
        if snippet.defines_a_dag:
            by_code.setdefault(snippet.code, snippet)
    return list(by_code.values())


DAG_SNIPPETS = distinct_dags(SNIPPETS)


def test_the_pages_have_their_complete_dags():
    assert {dag_id for snippet in DAG_SNIPPETS for dag_id in snippet.dag_ids} >= EXPECTED_DAG_IDS


def test_the_readme_s_first_dag_is_the_start_page_s():
    """The landing page's DAG is the one the start page explains, kept identical."""
    readme = [s.code for s in page_snippets(ROOT / "README.md") if s.defines_a_dag]
    start = [s.code for s in page_snippets(ROOT / "docs" / "start.md") if s.defines_a_dag]
    assert len(readme) == 1
    assert readme[0] in start


@pytest.mark.parametrize("snippet", SNIPPETS, ids=[s.where for s in SNIPPETS])
def test_every_python_snippet_compiles(snippet):
    compile(snippet.code, snippet.where, "exec")


def as_run_against_the_emulator(code: str, destination: str) -> str:
    edited = code.replace("file:///tmp/", destination.rstrip("/") + "/")
    assert "file:///tmp/" not in edited.replace(destination, "")
    return edited.replace("poll_interval=60", "poll_interval=1")


@pytest.mark.slow
@pytest.mark.e2e
@pytest.mark.parametrize("snippet", DAG_SNIPPETS, ids=[",".join(s.dag_ids) or s.where for s in DAG_SNIPPETS])
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
    module = re.sub(r"\W", "_", snippet.where)
    (dags / f"snippet_{module}.py").write_text(as_run_against_the_emulator(snippet.code, out.as_uri()))
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
    """The hook page's lifecycle, against the emulator (a 60 s poll becomes 1 s)."""
    (snippet,) = [s for s in SNIPPETS if "hook.create_export(" in s.code]
    namespace: dict[str, object] = {}
    code = as_run_against_the_emulator(snippet.code, "file:///unused/")
    exec(compile(code, f"{snippet.page}:{snippet.line}", "exec"), namespace)
    record = namespace["record"]
    assert isinstance(record, dict)
    assert record["status"] == "Completed"
    assert emulator.calls("file")[-1].status == 200
