"""``hakaru`` — the root command group and the one place errors become messages.

Each command group lives in its own module (``hakaru.cli.<group>``) and is loaded only when
invoked, so ``hakaru --help`` stays fast and never imports numpy, scipy or matplotlib.
User errors print one line, ``Error: <what was wrong>. <what to do>.``, and exit 2 (usage) or 1
(runtime); ``HAKARU_DEBUG=1`` shows the traceback instead.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from typing import Any

import click

from hakaru.errors import HakaruError

# command name -> (module, attribute, one-line help). Add a command group by adding a line.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "run": ("hakaru.cli.run", "run", "Run a workload once and print its ledger."),
    "models": ("hakaru.cli.models", "models", "List the built-in simulated models."),
    "runs": ("hakaru.cli.runs", "runs", "List, show and export stored runs."),
    "demo": ("hakaru.cli.demo", "demo", "Run the main job on the simulated LLM."),
    "sweep": ("hakaru.cli.sweep", "sweep", "Run a workload over a grid of sizes."),
    "fit": ("hakaru.cli.fit", "fit", "Fit complexity classes to a CSV column."),
    "diff": ("hakaru.cli.diff", "diff", "Compare two runs, sweeps or cassettes."),
    "report": ("hakaru.cli.report", "report", "Summarise runs or sweeps (--html: report)."),
    "gate": ("hakaru.cli.gate", "gate", "Quality gates: optimize, fit, frontier, sweep."),
    "maker": ("hakaru.cli.maker", "maker", "Reliable million-step runs: plan, calibrate, run."),
    "reasoning": (
        "hakaru.cli.reasoning",
        "reasoning",
        "Reasoning budgets: compare policies, sweep frontiers, probe servers.",
    ),
    "budget": ("hakaru.cli.reasoning", "budget", "Deprecated: the old name of 'reasoning'."),
    "train": ("hakaru.cli.train", "train", "Train a model with HBPO (and its baselines)."),
    "neural": ("hakaru.cli.neural", "neural", "Train the tiny neural model (--backend neural)."),
    "sim": ("hakaru.cli.sim", "sim", "Serve the simulated LLM over HTTP (OpenAI-compatible)."),
    "proxy": ("hakaru.cli.proxy", "proxy", "Record OpenAI-compatible traffic as calls."),
    "profile": ("hakaru.cli.profile", "profile", "Profile any agent program over sizes."),
    "trace": ("hakaru.cli.trace", "trace", "Run a Python program with capture on: its calls."),
    "import": ("hakaru.cli.otel_import", "import_", "Import OpenTelemetry traces as runs."),
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(name for name, (mod, _, _) in COMMANDS.items() if _exists(mod))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None or not _exists(entry[0]):
            return None
        module = importlib.import_module(entry[0])
        command = getattr(module, entry[1])
        assert isinstance(command, click.Command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][2]) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def _exists(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="hakaru")
def cli() -> None:
    """hakaru (測る) — count every LLM primitive an agent system spends, and how it grows."""


def fail(message: str, code: int = 2) -> None:
    """Exit with the one-line error format (for checks made in the CLI layer itself)."""
    raise click.exceptions.Exit(_emit(message, code))


def _emit(message: str, code: int) -> int:
    message = message.strip()
    if not message.endswith("."):
        message += "."
    click.echo(f"Error: {message}", err=True)
    return code


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``hakaru`` script."""
    debug = os.environ.get("HAKARU_DEBUG", "") not in ("", "0")
    try:
        code = cli.main(args=argv, standalone_mode=False, prog_name="hakaru")
    except HakaruError as exc:
        if debug:
            raise
        sys.exit(_emit(str(exc), exc.exit_code))
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        sys.exit(_emit("Interrupted. Run the command again to continue", 1))
    except click.ClickException as exc:
        if debug:
            raise
        msg = exc.format_message()
        hint = "See 'hakaru --help' or the command's --help for valid options"
        sys.exit(_emit(f"{msg.rstrip('.')}. {hint}", exc.exit_code))
    except KeyboardInterrupt:
        sys.exit(_emit("Interrupted. Run the command again to continue", 130))
    # Without standalone mode click returns (not raises) the code of an Exit raised inside.
    if isinstance(code, int) and code:
        sys.exit(code)


def echo_json(payload: dict[str, Any]) -> None:
    """Print one JSON object on stdout, and nothing else. JSON has no NaN or infinity: a value
    that is not finite is printed as ``null``."""
    import json

    click.echo(json.dumps(_finite(payload), sort_keys=True, default=str, ensure_ascii=False))


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if value - value == 0 else None  # NaN and ±inf are not
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


if __name__ == "__main__":
    main()
