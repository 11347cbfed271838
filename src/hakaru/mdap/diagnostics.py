"""Where errors come from: the diagnostics of an MDAP run (MAKER, arXiv 2511.09030).

Voting assumes that samples err independently. These figures, gathered online step by step
against the task's ground truth (constant memory, so a million-step run can keep them and
store them in its checkpoints), show how far that holds:

- **collisions** — steps whose first two valid votes are both wrong, against the count the
  independent-errors model predicts from the error rates of the first and the second vote
  (observed / predicted ≫ 1 means correlated errors, which voting cannot fix); ``same_wrong``
  counts the collisions where both wrong votes agree, the really dangerous ones;
- **undecided steps per sampling round** — after n valid votes, how many steps are still open;
  under the two-candidate i.i.d. model this decays geometrically, and ``predicted`` gives the
  curve for the measured per-vote accuracy (a gambler's-ruin walk with barriers ±k);
- **error rate against response length** — wrong valid votes per 100-token bin, plus flagged
  samples per bin (MAKER: errors climb once responses pass about 700 tokens);
- **worst steps** — the steps with the most wrong votes (per-step outliers).
"""

from __future__ import annotations

import heapq
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

from hakaru.patterns.vote import VoteResult

__all__ = ["LENGTH_BIN", "Diagnostics", "undecided_curve"]

LENGTH_BIN = 100  # tokens per bin of the error-against-length table
_WORST = 5  # worst steps kept


def undecided_curve(p: float, k: int, n_max: int) -> list[float]:
    """P(a step is still undecided after n valid votes), n = 0..n_max, for two candidates.

    The margin (right − wrong votes) is a ±1 walk absorbed at ±k; p is one vote's accuracy.

    >>> [round(x, 4) for x in undecided_curve(0.9, 2, 4)]
    [1.0, 1.0, 0.18, 0.18, 0.0324]
    """
    q = 1.0 - p
    mass = {0: 1.0}
    out = [1.0]
    for _ in range(n_max):
        nxt: dict[int, float] = {}
        for m, w in mass.items():
            for step, pr in ((1, p), (-1, q)):
                j = m + step
                if -k < j < k:
                    nxt[j] = nxt.get(j, 0.0) + w * pr
        mass = nxt
        out.append(sum(mass.values()))
    return out


@dataclass
class Diagnostics:
    """Running error diagnostics of the votes of an MDAP run (see the module docstring)."""

    k: int
    steps: int = 0
    votes: int = 0  # valid votes
    wrong_votes: int = 0
    samples: int = 0  # all draws
    flagged: int = 0
    wrong_steps: int = 0  # steps whose winner was wrong
    flag_kinds: dict[str, int] = field(default_factory=dict)
    voted_steps: int = 0  # steps with at least one valid vote
    two_vote_steps: int = 0  # steps with at least two valid votes
    first_wrong: int = 0
    second_wrong: int = 0
    collisions: int = 0  # first two valid votes both wrong
    same_wrong: int = 0  # ... and equal
    decided_at: dict[int, int] = field(default_factory=dict)  # valid votes at decision → steps
    rounds: dict[int, int] = field(default_factory=dict)  # sampling rounds → steps
    length: dict[int, list[int]] = field(default_factory=dict)  # bin → [valid votes, wrong]
    flagged_length: dict[int, int] = field(default_factory=dict)  # bin → flagged samples
    worst: list[tuple[int, int, int]] = field(default_factory=list)  # (wrong, votes, step) heap

    def add(self, step: int, result: VoteResult[Any], truth: Hashable | None) -> bool:
        """Account one decided step; returns whether its winner is right (True without truth)."""
        self.add_samples(
            step, result.sequence, result.tokens, result.flagged_tokens, result.flag_kinds, truth
        )
        self.decided_at[len(result.sequence)] = self.decided_at.get(len(result.sequence), 0) + 1
        self.rounds[result.rounds] = self.rounds.get(result.rounds, 0) + 1
        if truth is None:
            return True
        ok = bool(result.winner == truth)
        self.wrong_steps += not ok
        return ok

    def add_samples(
        self,
        step: int,
        sequence: Sequence[Hashable],
        tokens: Sequence[int],
        flagged_tokens: Sequence[int],
        flag_kinds: dict[str, int],
        truth: Hashable | None,
    ) -> None:
        """Account the draws of one step: valid candidates in order with their output tokens,
        and the flagged draws (calibration calls this directly; a vote through :meth:`add`)."""
        seq = sequence
        self.steps += 1
        self.votes += len(seq)
        self.samples += len(seq) + len(flagged_tokens)
        self.flagged += len(flagged_tokens)
        for kind, n in flag_kinds.items():
            self.flag_kinds[kind] = self.flag_kinds.get(kind, 0) + n
        for n_out in flagged_tokens:
            b = n_out // LENGTH_BIN
            self.flagged_length[b] = self.flagged_length.get(b, 0) + 1
        if truth is None:
            return
        # Each candidate is compared with the truth once (a step's candidates are often the
        # same object, the parser's memo: identity first, then the comparison).
        bads = [cand is not truth and cand != truth for cand in seq]
        wrong = sum(bads)
        length = self.length
        for n_out, bad in zip(tokens, bads, strict=True):
            row = length.get(n_out // LENGTH_BIN)
            if row is None:
                row = length[n_out // LENGTH_BIN] = [0, 0]
            row[0] += 1
            row[1] += bad
        if wrong:
            self.wrong_votes += wrong
            self._worst(wrong, len(seq), step)
        if len(bads) >= 2:
            self.two_vote_steps += 1
            w1, w2 = bads[0], bads[1]
            self.first_wrong += w1
            self.second_wrong += w2
            if w1 and w2:
                self.collisions += 1
                self.same_wrong += seq[0] == seq[1]
        elif bads:
            self.first_wrong += bads[0]
        self.voted_steps += bool(seq)

    def _worst(self, wrong: int, votes: int, step: int) -> None:
        item = (wrong, votes, step)
        if len(self.worst) < _WORST:
            heapq.heappush(self.worst, item)
        elif item > self.worst[0]:
            heapq.heapreplace(self.worst, item)

    # -- summaries ---------------------------------------------------------------------------

    @property
    def p_hat(self) -> float | None:
        """Accuracy of one valid vote (None before any vote was checked)."""
        return None if not self.votes else 1.0 - self.wrong_votes / self.votes

    @property
    def v_hat(self) -> float | None:
        """Fraction of draws that passed the red flags."""
        return None if not self.samples else self.votes / self.samples

    def collision_summary(self) -> dict[str, Any]:
        """Observed collisions against the independent-errors prediction."""
        n = self.two_vote_steps
        e1 = self.first_wrong / self.voted_steps if self.voted_steps else 0.0
        e2 = self.second_wrong / n if n else 0.0
        predicted = n * e1 * e2
        return {
            "steps": n,
            "first_vote_error": e1,
            "second_vote_error": e2,
            "observed": self.collisions,
            "same_wrong": self.same_wrong,
            "predicted_independent": predicted,
            "ratio": None if predicted == 0 else self.collisions / predicted,
        }

    def undecided(self) -> list[dict[str, Any]]:
        """Steps still undecided after n valid votes (n ≥ k), observed and predicted."""
        if not self.decided_at:
            return []
        n_max = max(self.decided_at)
        p = self.p_hat
        curve = undecided_curve(p, self.k, n_max) if p is not None and p > 0.5 else None
        rows = []
        for n in range(self.k, n_max + 1):
            open_ = sum(c for at, c in self.decided_at.items() if at > n)
            predicted = None if curve is None else self.steps * curve[n]
            rows.append({"votes": n, "undecided": open_, "predicted": predicted})
        return rows

    def undecided_by_round(self) -> list[dict[str, int]]:
        """Steps still undecided after each sampling round (round 1: the first k votes)."""
        if not self.rounds:
            return []
        return [
            {"round": r, "undecided": sum(c for at, c in self.rounds.items() if at > r)}
            for r in range(1, max(self.rounds) + 1)
        ]

    def by_length(self) -> list[dict[str, Any]]:
        """Error rate of valid votes and flagged samples per 100-token bin of output length."""
        bins = sorted(set(self.length) | set(self.flagged_length))
        rows = []
        for b in bins:
            n, wrong = self.length.get(b, [0, 0])
            rows.append(
                {
                    "tokens": f"{b * LENGTH_BIN}-{(b + 1) * LENGTH_BIN - 1}",
                    "votes": n,
                    "wrong": wrong,
                    "error_rate": None if not n else wrong / n,
                    "flagged": self.flagged_length.get(b, 0),
                }
            )
        return rows

    def summary(self) -> dict[str, Any]:
        """Everything, JSON-ready (the ``diagnostics`` object of ``hakaru maker run --json``)."""
        return {
            "steps": self.steps,
            "votes": self.votes,
            "wrong_votes": self.wrong_votes,
            "samples": self.samples,
            "flagged": self.flagged,
            "flag_kinds": dict(sorted(self.flag_kinds.items())),
            "p_hat": self.p_hat,
            "v_hat": self.v_hat,
            "votes_per_step": self.votes / self.steps if self.steps else None,
            "max_votes": max(self.decided_at) if self.decided_at else 0,
            "wrong_steps": self.wrong_steps,
            "collisions": self.collision_summary(),
            "undecided": self.undecided(),
            "undecided_by_round": self.undecided_by_round(),
            "by_length": self.by_length(),
            "worst_steps": [
                {"step": s, "wrong_votes": w, "votes": v} for w, v, s in sorted(self.worst)[::-1]
            ],
        }

    # -- checkpoints ---------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready snapshot (for checkpoints); :meth:`from_json` restores it."""
        out = dict(self.__dict__)
        for name in ("decided_at", "rounds", "length", "flagged_length"):
            out[name] = {str(key): value for key, value in out[name].items()}
        out["worst"] = [list(w) for w in self.worst]
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Diagnostics:
        values = dict(data)
        for name in ("decided_at", "rounds", "length", "flagged_length"):
            values[name] = {int(key): value for key, value in values[name].items()}
        values["worst"] = [tuple(w) for w in values["worst"]]
        heapq.heapify(values["worst"])
        return cls(**values)
