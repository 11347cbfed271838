"""Without torch, hakaru imports, and the neural backend fails with one line saying what to do.

torch is blocked in a subprocess of its own (``sys.modules['torch'] = None`` makes every
``import torch`` fail as on an install without the ``train`` extra).
"""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    "args",
    [
        ["run", "tree-sum", "--backend", "neural", "--no-store"],
        ["demo", "--neural"],
        ["sim", "serve", "--neural", "--port", "0"],
    ],
)
def test_without_torch_one_clear_line(args: list[str]) -> None:
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "import hakaru\n"
        "from hakaru.cli.main import main\n"
        f"main({args!r})\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "pip install 'hakaru[train]'" in lines[0]


def test_without_torch_the_cli_still_works() -> None:
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "from hakaru.cli.main import main\n"
        "main(['neural', '--help'])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "train" in out.stdout


def test_without_torch_the_demo_skips_the_neural_row(tmp_path: object) -> None:
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "from hakaru.cli.main import main\n"
        f"main(['demo', '--quick', '--no-html', '--store', {str(tmp_path) + '/r.db'!r}])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    text = " ".join(out.stdout.split())
    assert "neural row skipped: The neural model needs torch" in text
    assert "pip install 'hakaru[train]'" in text
