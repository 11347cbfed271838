"""The repository stands alone: nothing in it cites a file that is not in it.

Every text file under src/, docs/, experiments/, examples/, benchmarks/ and tests/, and the
README, is read for two kinds of reference:

- markdown links ``[text](target)`` in markdown files — the target, without its ``#anchor``,
  must exist relative to the linking file (URLs and in-page anchors are exempt);
- path-like mentions such as ``docs/fit.md`` or ``tests/workloads/test_evolution.py`` — a
  relative path with a directory and a file extension must exist relative to the repository
  root, to the mentioning file's folder, to ``src/`` or to a package under ``src/hakaru``
  (module paths such as ``hakaru/costs.py`` or ``backends/base.py``).

Paths inside URLs or in the text of a link to a URL, absolute paths (``/usr/bin/chromium``),
and files a run writes (stores, ``.pt`` checkpoints, anything under ``.hakaru/``, paths with
placeholders such as ``…``, ``{n}`` or ``path/to/``) are not citations. The phrase "research
notes", which used to point at notes outside the repository, must not appear either.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).parents[1]
FOLDERS = ("src", "docs", "experiments", "examples", "benchmarks", "tests")
SUFFIXES = {".py", ".md", ".txt", ".toml", ".j2", ".cfg", ".ini", ".yaml", ".yml"}
EXTENSIONS = "md|py|txt|json|csv|toml|ipynb|png|svg|html|j2|yaml|yml|pt|db|jsonl|sh"

LINK = re.compile(r"\[[^\]\n]*\]\(([^)\s]+)\)")
URL = re.compile(r"[a-z][a-z0-9+.-]*://\S+")
PATH = re.compile(rf"(?<![\w/.$~-])((?:[\w.-]+/)+[\w.-]+\.(?:{EXTENSIONS}))(?![\w/])")
NOTES = re.compile(r"research notes", re.I)
PACKAGES = [
    p for p in (ROOT / "src" / "hakaru").rglob("*") if p.is_dir() and p.name != "__pycache__"
]


def _files() -> Iterator[Path]:
    yield ROOT / "README.md"
    for folder in FOLDERS:
        for path in sorted((ROOT / folder).rglob("*")):
            parts = set(path.relative_to(ROOT).parts)
            wanted = path.suffix in SUFFIXES and path.is_file() and not parts & {"__pycache__"}
            if wanted and path != Path(__file__):  # its own examples are broken on purpose
                yield path


def _exists(target: str, where: Path) -> bool:
    bases = (where.parent, ROOT, ROOT / "src", ROOT / "src" / "hakaru", *PACKAGES)
    return any((base / target).exists() for base in bases)


def _written_at_run_time(target: str) -> bool:
    """Run stores, checkpoints and placeholders: outputs of a run, not citations."""
    return (
        target.startswith((".hakaru/", "path/to/"))
        or target.endswith((".pt", ".db"))
        or any(c in target for c in "…*{}<>$")
    )


def broken_references(path: Path) -> list[str]:
    """The references in ``path`` to files that are not in the repository."""
    text = path.read_text(encoding="utf-8")
    bad = []
    for target in LINK.findall(text) if path.suffix == ".md" else ():
        target = target.split("#", 1)[0]
        if target and not URL.match(target) and not _exists(target, path):
            bad.append(target)
    plain = URL.sub(" ", LINK.sub(lambda m: " " if URL.match(m[1]) else m[0], text))
    for target in PATH.findall(plain):
        if target.startswith((".", "/")) and not target.startswith("./"):
            continue
        if not _written_at_run_time(target) and not _exists(target, path):
            bad.append(target)
    bad += NOTES.findall(text)
    return bad


def test_the_checker_finds_what_it_should(tmp_path: Path) -> None:
    sample = tmp_path / "sample.md"
    sample.write_text(
        "See [the notes](../research/aalp_maker.md#part-2), `research/hbpo.md` §1.5, the\n"
        "research notes (F10), [fit](docs/fit.md), docs/claims.md, https://x.org/a/b.md and\n"
        "[a page](https://example.org/x.md).\n",
        encoding="utf-8",
    )
    assert broken_references(sample) == [
        "../research/aalp_maker.md",
        "research/hbpo.md",
        "research notes",
    ]


def test_no_file_cites_a_path_that_is_not_in_the_repository() -> None:
    found = {
        str(path.relative_to(ROOT)): bad for path in _files() if (bad := broken_references(path))
    }
    assert found == {}
