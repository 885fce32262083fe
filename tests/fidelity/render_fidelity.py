"""Renders docs/fidelity.md from ``fidelity_rows.ROWS``: ``python tests/fidelity/render_fidelity.py``."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from fidelity_rows import PENDING, ROWS, FidelityRow

TARGET = Path(__file__).resolve().parents[2] / "docs" / "fidelity.md"
HEADER = """# Fidelity: Marketo, the emulator and the provider

Generated from `tests/fidelity/fidelity_rows.py` by `python tests/fidelity/render_fidelity.py`; the test
suite `tests/fidelity` fails when this page and the rows disagree, or when a named test does not exist.
Every named test runs in `make test`.

"Provider" is what the hook and operators do today; **{pending}** marks behaviour still to be built on top
of the emulator's fault. Sources are pages of Marketo's developer docs or the code and trackers of other
Marketo clients (Airbyte's source-marketo, singer's tap-marketo, marketorestpython).
"""


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _tests(row: FidelityRow) -> str:
    return "<br>".join(f"`{node}`" for node in row.tests)


def _table(rows: list[FidelityRow]) -> list[str]:
    lines = ["| Behaviour | Source | Emulator | Provider | Shown by |", "| --- | --- | --- | --- | --- |"]
    for row in rows:
        provider = f"**{PENDING}**" if row.provider == PENDING else row.provider
        cells = (row.behaviour, row.source, row.emulator, provider)
        lines.append("| " + " | ".join(_cell(c) for c in cells) + f" | {_tests(row)} |")
    return lines


def render(rows: tuple[FidelityRow, ...] = ROWS) -> str:
    documented = [row for row in rows if not row.production]
    production = [row for row in rows if row.production]
    pending = sum(PENDING in row.provider for row in rows)
    lines = [
        HEADER.format(pending=PENDING).rstrip(),
        "",
        f"{len(rows)} rows: {len(documented)} documented behaviours, {len(production)} production oddities; "
        f"{pending} with provider work pending.",
        "",
        "## Documented behaviour",
        "",
        *_table(documented),
        "",
        "## Production oddities (injectable faults)",
        "",
        *_table(production),
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    TARGET.write_text(render(), encoding="utf-8")
    print(f"wrote {TARGET}")
