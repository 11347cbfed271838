"""The MAKER section of a report: where a step driver's votes went and where its errors came from.

The work is split in three modules beside this one. :mod:`hakaru.report.maker_votes` rebuilds
one step's votes from its stored call records — following a flagged or failed draw's redraw
through its only parent, tallying the slots in order and replaying the first-to-ahead-by-k rule
round by round — and fits the decay of undecided steps. :mod:`hakaru.report.maker_load` finds a
run's segments (a resumed run has several) and streams their stored calls once, step by step, to
rebuild the run's :class:`~hakaru.mdap.diagnostics.Diagnostics` in constant memory
(:func:`load_maker`, :class:`MakerReport`). :mod:`hakaru.report.maker_plots` draws the figures.
Their public names are re-exported here.

:func:`add_maker_reports` puts the summaries of the maker runs of a report under
``ReportData.extras["maker"]``; :func:`maker_sections` (registered as ``maker``, order 120,
between a run's ledger and its call DAG) shows them: totals and the planner's prediction against
what happened, collisions against the independent-errors prediction, undecided steps per
sampling round with the fitted exponential decay, the error rate against response length, and
the worst steps. Candidates are shown as escaped text.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from hakaru.report.maker_load import MakerReport, WorstStep, load_maker
from hakaru.report.maker_plots import MIN_DRAWS, _length_figure, _undecided_figure, length_bins
from hakaru.report.maker_votes import Decay, StepVotes, fit_decay, rebuild_step
from hakaru.report.sections import (
    Cell,
    Figure,
    ReportData,
    Section,
    Table,
    Tone,
    register_section,
)

if TYPE_CHECKING:
    from hakaru.store import RunStore

__all__ = [
    "Decay",
    "MakerReport",
    "StepVotes",
    "WorstStep",
    "add_maker_reports",
    "fit_decay",
    "load_maker",
    "maker_run_sections",
    "maker_sections",
    "rebuild_step",
]

EXTRAS_KEY = "maker"
_TEXT = 120  # characters of a candidate shown


def add_maker_reports(store: RunStore, data: ReportData) -> None:
    """Summarise each maker run of ``data.runs`` (once per chain of segments) into
    ``data.extras["maker"]``, for :func:`maker_sections`."""
    reports: list[MakerReport] = data.extras.setdefault(EXTRAS_KEY, [])
    seen = {s for r in reports for s in r.segments}
    for run in data.runs:
        if run.info.kind != "maker" or run.info.id in seen:
            continue
        report = load_maker(store, run.info.id)
        seen.update(report.segments)
        reports.append(report)


# -- the section ------------------------------------------------------------------------------


def _short(text: str) -> str:
    return text if len(text) <= _TEXT else text[: _TEXT - 1] + "…"


def _num(x: float | None, fmt: str = "{:,.0f}") -> str:
    return "–" if x is None else fmt.format(x)


def _usd(x: float) -> str:
    return f"${x:,.2f}" if abs(x) >= 1 else f"${x:.6f}"


def _totals_table(r: MakerReport) -> Table:
    d, t = r.diagnostics, r.totals
    kinds = ", ".join(f"{n:,} {kind}" for kind, n in sorted(d.flag_kinds.items()))
    tone: Tone = "good" if r.outcome == "solved" else "bad"
    rows: list[tuple[str, str | Cell]] = [
        ("outcome", Cell(r.outcome + (f": {r.reason}" if r.reason else ""), tone)),
        (
            "steps decided / task steps",
            f"{d.steps:,} / {r.steps:,}" if r.steps else f"{d.steps:,}",
        ),
        ("calls (every draw, every segment)", f"{t['calls']:,.0f}"),
        ("valid draws", f"{t['ok_calls']:,.0f}"),
        ("flagged (discarded)", f"{t['flagged_calls']:,.0f}" + (f" ({kinds})" if kinds else "")),
        ("failed attempts", f"{t['failed_calls']:,.0f}"),
        ("valid fraction v̂", _num(d.v_hat, "{:.5f}")),
        ("per-vote accuracy p̂", _num(d.p_hat, "{:.5f}")),
        ("wrong votes", f"{d.wrong_votes:,}"),
        ("votes per step", _num(d.votes / d.steps if d.steps else None, "{:.4f}")),
        ("most votes in one step", f"{max(d.decided_at, default=0):,}"),
        ("input / output tokens", f"{t['input_tokens']:,.0f} / {t['output_tokens']:,.0f}"),
        ("cost (USD)", _usd(t["dollars"])),
        ("USD per call", _usd(r.dollars_per_call)),
    ]
    return Table(("quantity", "value"), rows, caption="Totals over every segment.")


def _prediction_table(r: MakerReport) -> Table | None:
    pred = r.prediction()
    if pred is None:
        return None
    d, t = r.diagnostics, r.totals
    spent = d.samples  # the draws of the steps counted (redone steps left out)
    rows: list[tuple[str, str, str]] = [
        (
            "valid votes per step",
            f"{pred['votes_per_step']:.4f}",
            f"{d.votes / d.steps:.4f}",
        ),
        (f"calls for the {d.steps:,} steps voted", f"{pred['calls']:,.1f}", f"{spent:,}"),
        (
            "cost (USD) at the measured USD per call",
            _usd(pred["dollars"]),
            _usd(r.dollars_per_call * spent),
        ),
    ]
    if "p_full" in pred:
        done = r.outcome == "solved"
        rows += [
            (
                f"P(all {r.steps:,} steps right) at k = {r.k}",
                f"{pred['p_full']:.6f}",
                "solved" if done else r.outcome,
            ),
            (
                f"k_min for P(solved) ≥ {pred['target']:g}",
                f"{pred['k_min']:.0f}",
                f"k = {r.k} used",
            ),
            (
                f"calls for all {r.steps:,} steps",
                f"{pred['calls_all_steps']:,.0f}",
                f"{t['calls']:,.0f} so far" if d.steps < (r.steps or 0) else f"{t['calls']:,.0f}",
            ),
        ]
    return Table(
        ("quantity", "planner (p̂, v̂ of this run)", "measured"),
        rows,
        caption=f"The planner (hakaru.mdap) at p̂ = {pred['p_hat']:.5f}, "
        f"v̂ = {pred['v_hat']:.5f}, k = {r.k}: exact expected votes (gambler's ruin), calls "
        "= votes / v̂.",
    )


def _poisson_tail(observed: int, mean: float) -> float | None:
    """P(X ≥ observed) for X ~ Poisson(mean): how surprising the collisions are if independent.

    Summed from the probability mass in log space (no scipy import for one number): below the
    mean as 1 − P(X < observed), above it as the sum of the tail, whose terms fall at least
    geometrically, until they no longer change the sum.
    """
    if mean <= 0:
        return None
    if observed <= 0:
        return 1.0

    def mass(i: int) -> float:
        return math.exp(i * math.log(mean) - mean - math.lgamma(i + 1))

    if observed <= mean:
        return max(0.0, 1.0 - math.fsum(mass(i) for i in range(observed)))
    total, i = 0.0, observed
    while True:
        term = mass(i)
        total += term
        if term <= total * 1e-17:
            return min(total, 1.0)
        i += 1


def _collision_table(r: MakerReport) -> tuple[Table, str]:
    c = r.diagnostics.collision_summary()
    tail = _poisson_tail(c["observed"], c["predicted_independent"])
    ratio = c["ratio"]
    tone: Tone = "" if ratio is None else ("bad" if tail is not None and tail < 0.01 else "good")
    rows = [
        (
            f"{c['steps']:,}",
            f"{c['first_vote_error']:.5f}",
            f"{c['second_vote_error']:.5f}",
            f"{c['predicted_independent']:.2f}",
            f"{c['observed']:,}",
            f"{c['same_wrong']:,}",
            Cell("–" if ratio is None else f"{ratio:.2f}", tone),
            "–" if tail is None else f"{tail:.3g}",
        )
    ]
    if ratio is None:
        reading = (
            "No wrong first or second vote was seen, so independent errors predict no collision."
            if not c["observed"]
            else "Collisions were seen although the first or second votes' error rate is 0."
        )
    elif tail is not None and tail < 0.01:
        reading = (
            f"{c['observed']:,} collisions against {c['predicted_independent']:.2f} predicted "
            f"(ratio {ratio:.2f}; P ≤ {tail:.2g} if errors were independent): the samples' errors "
            "are correlated — voting cannot outvote an error that repeats."
        )
    else:
        reading = (
            f"{c['observed']:,} collisions against {c['predicted_independent']:.2f} predicted "
            f"(ratio {ratio:.2f}): consistent with independent errors at this sample size."
        )
    table = Table(
        (
            "steps with ≥ 2 votes",
            "ε₁ (1st vote wrong)",
            "ε₂ (2nd vote wrong)",
            "predicted n·ε₁·ε₂",
            "observed",
            "same wrong answer",
            "ratio",
            "P(≥ observed)",
        ),
        rows,
        caption="Collisions: steps whose first two valid votes are both wrong. P(≥ observed) is "
        "the Poisson tail at the independent-errors prediction.",
    )
    return table, reading


def _decay_text(r: MakerReport, decay: Decay | None) -> str:
    d = r.diagnostics
    if not d.steps:
        return "No step was decided."
    if decay is None:
        return (
            f"Every one of the {d.steps:,} steps was decided in its first round of k = {r.k} draws."
        )
    if decay.q == 0:
        return (
            f"{decay.start:,} steps needed a second round and it decided all of them: the "
            "decay is immediate."
        )
    fit = "" if decay.r2 is None else f"; R² of the log counts {decay.r2:.3f}"
    share = r.k * d.steps / d.votes if d.votes else 0.0  # round 1 draws k valid votes per step
    return (
        f"After the first round {decay.start:,} of {d.steps:,} steps were open; each later round "
        f"left a fraction q = {decay.q:.3g} of the open ones open: an exponential decay at rate "
        f"−ln q = {decay.rate:.3g} per round (÷{1 / decay.q:.3g} per round; q fitted by maximum "
        f"likelihood over all rounds{fit}). The first rounds drew {share:.1%} of all valid votes."
    )


def _tally_text(sequence: Sequence[str]) -> str:
    counts: dict[str, int] = {}
    for c in sequence:
        counts[c] = counts.get(c, 0) + 1
    ranked = sorted(counts.items(), key=lambda item: -item[1])
    return ", ".join(f"{n}×{_short(c)}" for c, n in ranked)


def _overview(r: MakerReport) -> Section:
    p = r.params
    head = f"MAKER run {r.run_id}: {r.name or p.get('task', '')}"
    if "disks" in p:
        head += f", {p['disks']} disks"
    head += f", k = {r.k}" + (f", {p['model']}" if p.get("model") else "")
    segments = (
        f"The run has {len(r.segments)} segments (resumed {len(r.segments) - 1}×): "
        f"{', '.join(r.segments)}; the figures cover all of them. "
        if len(r.segments) > 1
        else ""
    )
    paragraphs = [
        segments + "Every draw of every step is a stored call. Each step's vote is rebuilt from "
        "them (a flagged draw is redrawn in its slot and never votes); a vote is wrong when it "
        "differs from the answer the simulator accepted."
    ]
    tables = [_totals_table(r)]
    pred = _prediction_table(r)
    if pred is not None:
        tables.append(pred)
    else:
        paragraphs.append("The planner needs p̂ > 0.5: no prediction.")
    notes = list(r.notes)
    if r.open_step is not None:
        o = r.open_step
        tally = _tally_text(o.sequence)
        notes.append(
            f"Step {o.step} was left undecided: {o.draws} draws, {len(o.flagged_tokens)} flagged"
            + (f"; votes {tally}" if tally else "")
            + "."
        )
    return Section(
        head, key=f"maker-{r.run_id}", paragraphs=paragraphs, tables=tables, notes=tuple(notes)
    )


def _undecided_section(r: MakerReport) -> Section | None:
    d = r.diagnostics
    by_round = d.undecided_by_round()
    if not by_round:
        return None
    decay = r.decay()
    figure = _undecided_figure(r, decay)
    rows = [
        (
            str(row["round"]),
            f"{row['undecided']:,}",
            "–" if decay is None else f"{decay.predict(row['round']):,.1f}",
        )
        for row in by_round
    ]
    return Section(
        f"Undecided steps per sampling round (run {r.run_id})",
        key=f"maker-undecided-{r.run_id}",
        paragraphs=(
            "Round 1 draws k votes at once; each later round draws k − margin more valid votes, "
            "the fewest that could decide. Under independent errors the steps still open fall "
            "geometrically from round to round.",
            _decay_text(r, decay),
        ),
        figures=()
        if figure is None
        else (
            Figure(
                figure,
                "Log scale. Left: per sampling round (round 0: every step), with the fitted "
                "exponential decay. Right: per valid vote, with the gambler's-ruin prediction for "
                "two candidates at p̂.",
            ),
        ),
        tables=(
            Table(
                ("round", "undecided after it", "fitted"),
                rows,
                caption="Steps still undecided after each sampling round.",
            ),
        ),
    )


def _errors_section(r: MakerReport) -> Section:
    d = r.diagnostics
    coll, reading = _collision_table(r)
    tables = [coll]
    length_rows = [
        (
            row["tokens"],
            f"{row['votes']:,}",
            f"{row['wrong']:,}",
            _rate(row["error_rate"], row["error_interval"]),
            f"{row['flagged']:,}",
            _rate(row["flagged_share"], row["flagged_interval"]),
        )
        for row in length_bins(d.by_length())
    ]
    if length_rows:
        tables.append(
            Table(
                ("output tokens", "valid votes", "wrong", "error rate", "flagged", "flagged share"),
                length_rows,
                caption="Error rate of valid votes and share of flagged draws per bin of output "
                f"tokens (100-token bins; bins of fewer than {MIN_DRAWS} draws merged with the "
                "next), with 95 % Wilson intervals.",
            )
        )
    if r.worst:
        tables.append(
            Table(
                (
                    "step",
                    "valid votes",
                    "wrong",
                    "flagged",
                    "rounds",
                    "winner",
                    "most common wrong answer",
                ),
                [
                    (
                        f"{w.step:,}",
                        f"{w.votes:,}",
                        f"{w.wrong:,}",
                        f"{w.flagged:,}",
                        f"{w.rounds:,}",
                        Cell(_short(w.winner), "code" if w.winner_right else "bad"),
                        Cell(_short(w.wrong_answer), "code"),
                    )
                    for w in r.worst
                ],
                caption="The steps with the most wrong votes (a wrong winner in red).",
            )
        )
    figure = _length_figure(r)
    return Section(
        f"Where errors came from (run {r.run_id})",
        key=f"maker-errors-{r.run_id}",
        paragraphs=(
            "Collisions — steps whose first two valid votes are both wrong — against the count "
            "independent errors predict from the first and second votes' error rates. " + reading,
        ),
        figures=()
        if figure is None
        else (
            Figure(
                figure,
                "Wrong valid votes and flagged draws per bin of output tokens, with 95 % "
                f"intervals; each bin's draws under its label (bins of fewer than {MIN_DRAWS} "
                "draws merged).",
            ),
        ),
        tables=tables,
    )


def _rate(rate: float | None, interval: tuple[float, float] | None) -> str:
    if rate is None:
        return "–"
    return (
        f"{rate:.4f}" if interval is None else f"{rate:.4f} [{interval[0]:.4f}, {interval[1]:.4f}]"
    )


def maker_run_sections(r: MakerReport) -> list[Section]:
    """The sections of one maker run: overview and planner, undecided steps, errors."""
    return [s for s in (_overview(r), _undecided_section(r), _errors_section(r)) if s is not None]


@register_section("maker", order=120)
def maker_sections(data: ReportData) -> list[Section]:
    """One section per maker run in ``data.extras["maker"]`` (see :func:`add_maker_reports`)."""
    reports: Sequence[MakerReport] = data.extras.get(EXTRAS_KEY, ())
    return [s for r in reports for s in maker_run_sections(r)]
