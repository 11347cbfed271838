"""Run the HBPO reproduction (``make hbpo-repro``): SFT, GRPO, GRPO+cosine, HBPO, evaluation.

    python experiments/hbpo/run.py            # the full run, ~30 min on 2 CPU cores (at most 1 h)
    python experiments/hbpo/run.py --quick    # the same pipeline in a few minutes

Writes ``results.json``, ``accuracy_tokens.png`` and ``training.png`` (and the checkpoints,
``*.pt``, which are not committed) into ``--out``; a killed run resumes from its checkpoints
when started again with the same arguments. Seeds and the exact command are in results.json.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from hakaru.hbpo.config import Config, preset
from hakaru.hbpo.experiment import run_experiment

HERE = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the short configuration")
    parser.add_argument("--out", default=None, help="run directory [experiments/hbpo/results]")
    parser.add_argument("--threads", type=int, default=None, help="torch threads [2]")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    cfg = preset("quick" if args.quick else "full")
    if args.threads is not None:
        cfg = Config.from_dict({"threads": args.threads}, cfg)
    out = Path(args.out) if args.out else HERE / ("results-quick" if args.quick else "results")
    command = "python " + " ".join(shlex.quote(a) for a in sys.argv)
    run_experiment(
        cfg,
        out,
        log=lambda line: print(line, flush=True),
        progress=not args.no_progress,
        command=command,
    )


if __name__ == "__main__":
    main()
