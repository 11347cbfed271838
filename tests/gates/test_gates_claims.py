"""docs/gates.md's claims table is the output of ``python -m hakaru.gates.claims``; lazy imports."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from hakaru.gates.claims import claims, render_markdown

DOC = Path(__file__).resolve().parents[2] / "docs" / "gates.md"
BEGIN, END = "<!-- claims:begin -->\n", "<!-- claims:end -->"


def test_docs_table_is_what_the_command_prints() -> None:
    text = DOC.read_text(encoding="utf-8")
    section = text[text.index(BEGIN) + len(BEGIN) : text.index(END)]
    out = subprocess.run(
        [sys.executable, "-m", "hakaru.gates.claims"], capture_output=True, text=True, check=True
    ).stdout
    assert out == render_markdown()
    assert section == out, "regenerate the table: python -m hakaru.gates.claims"


def test_the_headline_claims_are_refuted() -> None:
    rows = {(c.section, c.claim): c for c in claims()}
    g_star = rows[("§5", "g* for R0 = 0.258, β = 3.16, α = 0.30")]
    assert (g_star.document, g_star.verdict) == ("0.612", "wrong")
    assert g_star.hakaru.startswith("0.3164")
    assert all(
        c.verdict in {"holds", "wrong"} or c.verdict.startswith("holds") for c in rows.values()
    )


def test_importing_gates_does_not_import_scipy_or_matplotlib() -> None:
    code = (
        "import sys, hakaru.gates, hakaru.cli.gate, hakaru.gates.claims\n"
        "heavy = [m for m in ('scipy', 'matplotlib') if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
