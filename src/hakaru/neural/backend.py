"""``--backend neural``: a real (tiny) trained transformer behind the :class:`Backend` interface.

``create_backend("neural", model="neural-sum")`` loads the committed weights
(:mod:`hakaru.neural.weights`) and answers requests of the ``sum`` task kind with the model's own
tokens: the prompt text is read by :class:`~hakaru.neural.tokenizer.SumTokenizer`, the answer is
generated token by token and decoded back to ``sum = N`` (or to its raw tokens, which the strict
parser red-flags). Nothing about the answer comes from an oracle: its errors are the model's.
``model="neural-hanoi"`` serves the MAKER step model the same way: a ``hanoi-step`` prompt is read
into its own tokens (:class:`~hakaru.neural.hanoi_data.HanoiTokenizer`) and the answer comes back
as ``move = [...]`` / ``next_state = [[...], [...], [...]]`` for the strict red-flag parser.

Counting. ``Usage`` reports the model's real tokens: ``input_tokens`` n (the prompt's tokens),
``output_tokens`` o (the generated ones, ``<eos>`` included). Generation runs with the HBPO
decoder's KV cache: o forward passes computing n + o − 1 positions. The ledger's AALP cost
(m·Σ_{j<o}(n + j), :mod:`hakaru.costs`) counts the positions *without* a cache — the paper's
cost model — and :attr:`NeuralBackend.work` holds both, measured: the positions each call needs
with and without a cache, and the forward passes and positions the batches really ran.

Batching. Concurrent calls are queued; the queue is flushed into one forward pass per step
when ``max_batch`` calls wait or ``max_wait`` seconds after the first one came (a bounded
wait). Calls with prompts of different lengths run as separate groups of the flush (the model
has learned positions, so prompts are not padded). Each call samples with its own generator,
seeded from the request's seed (else the backend's), its sample index and its tokens, so its
answer does not depend on the calls it is batched with; temperature 0 decodes greedily.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from hakaru.errors import ConfigError, ContextOverflow
from hakaru.neural.generate import generate, positions_cached, positions_uncached
from hakaru.neural.hanoi_data import HanoiTokenizer, step_of_prompt
from hakaru.neural.tokenizer import ANSWER_TOKENS, SumTokenizer, numbers_of_prompt
from hakaru.neural.weights import default_weights, load_weights
from hakaru.types import ModelSpec, Request, Response, Usage

if TYPE_CHECKING:
    from hakaru.hbpo.model import GPT

__all__ = ["MODELS", "NeuralBackend", "NeuralWork"]

MODELS = {"neural-sum": "sum", "neural-hanoi": "hanoi"}  #: model name -> task it was trained on


@dataclass
class NeuralWork:
    """What the backend computed. Per call: ``calls``, ``input_tokens``, ``output_tokens``, and
    the positions they need with a KV cache (``positions_cached``) and without
    (``positions_uncached``, the AALP sum). Per batch run: ``batches`` (flush groups),
    ``forward_passes`` and ``positions`` really computed (a batch's rows counted together)."""

    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    positions_cached: int = 0
    positions_uncached: int = 0
    batches: int = 0
    forward_passes: int = 0
    positions: int = 0
    batch_sizes: list[int] = field(default_factory=list)


@dataclass
class _Job:
    tokens: list[int]
    max_new: int
    temperature: float
    seed: int
    future: asyncio.Future[list[int]]


class NeuralBackend:
    """The trained ``neural-sum`` or ``neural-hanoi`` model, batched. See the module docstring."""

    def __init__(
        self,
        model: str = "neural-sum",
        *,
        weights: str | Path | None = None,
        seed: int = 0,
        max_batch: int = 64,
        max_wait: float = 0.002,
        threads: int | None = None,
    ) -> None:
        if model not in MODELS:
            raise ConfigError(
                f"Unknown neural model '{model}'. Choose one of: {', '.join(sorted(MODELS))}."
            )
        if max_batch < 1 or max_wait < 0:
            raise ConfigError("Give max_batch >= 1 and max_wait >= 0 seconds.")
        self.default_model = model
        self.task = MODELS[model]
        self.net: GPT = load_weights(weights or default_weights(self.task), self.task)
        if threads:
            import torch

            torch.set_num_threads(threads)
        self.tokenizer = SumTokenizer()
        self.hanoi = HanoiTokenizer()
        self.eos = self.hanoi.eos if self.task == "hanoi" else self.tokenizer.eos
        vocab = len(self.hanoi if self.task == "hanoi" else self.tokenizer)
        if self.net.cfg.vocab_size != vocab:
            path = weights or default_weights(self.task)
            raise ConfigError(
                f"The weights at {path} use a {self.net.cfg.vocab_size}-token vocabulary, not "
                f"this tokenizer's {vocab} (they predate it). "
                f"Train them again: hakaru neural train {self.task} --out {path}"
            )
        self.seed = seed
        self.max_batch = max_batch
        self.max_wait = max_wait
        self.work = NeuralWork()
        self._pending: list[_Job] = []
        self._timer: asyncio.TimerHandle | None = None
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()

    def model_spec(self, name: str) -> ModelSpec | None:
        if (name or self.default_model) != self.default_model:
            return None
        return ModelSpec(
            self.default_model,
            size=self.net.n_params() / 1e9,
            context_window=self.net.cfg.block_size,
            price_in=0.0,
            price_out=0.0,
            capabilities=frozenset({"hanoi-step" if self.task == "hanoi" else self.task}),
        )

    @property
    def models(self) -> dict[str, ModelSpec]:
        """The one model this backend serves, by name (what ``hakaru sim serve --neural`` lists)."""
        return {self.default_model: self.model(self.default_model)}

    def model(self, name: str) -> ModelSpec:
        """The spec of ``name``; a :class:`ConfigError` names the model served."""
        spec = self.model_spec(name)
        if spec is None or not name:
            raise ConfigError(
                f"This neural backend serves '{self.default_model}', not '{name}'. "
                f"Start one with --model {name}"
            )
        return spec

    def reseed(self, seed: int) -> None:
        """Sample later requests that carry no seed of their own from ``seed``."""
        self.seed = int(seed)

    async def complete(self, request: Request) -> Response:
        model = request.model or self.default_model
        if model != self.default_model:
            raise ConfigError(
                f"This neural backend serves '{self.default_model}', not '{model}'. "
                f"Start one with --model {model}"
            )
        started = time.perf_counter()
        if self.task == "hanoi":
            step = step_of_prompt(request.prompt_text())
            tokens, answer_tokens = self.hanoi.encode_step(step), step.disks + 4
        else:
            tokens = self.tokenizer.encode_numbers(numbers_of_prompt(request.prompt_text()))
            answer_tokens = ANSWER_TOKENS
        block = self.net.cfg.block_size
        if len(tokens) + answer_tokens > block:
            raise ContextOverflow(
                f"The prompt is {len(tokens)} tokens; with its {answer_tokens}-token answer that "
                f"exceeds {model}'s context of {block} tokens. Add fewer numbers per call"
            )
        max_new = min(answer_tokens, request.max_tokens or answer_tokens)
        seed = self.seed if request.seed is None else request.seed
        key = f"{seed}:{request.sample}:{request.vote}:{tokens}".encode()
        job = _Job(
            tokens,
            max_new,
            request.temperature,
            int.from_bytes(hashlib.sha256(key).digest()[:7], "big"),
            asyncio.get_running_loop().create_future(),
        )
        self._enqueue(job)
        out = await job.future
        n, o = len(tokens), len(out)
        self.work.calls += 1
        self.work.input_tokens += n
        self.work.output_tokens += o
        self.work.positions_cached += positions_cached(n, o)
        self.work.positions_uncached += positions_uncached(n, o)
        finished = bool(out) and out[-1] == self.eos
        text = (
            self.hanoi.answer_text(out, step.disks)
            if self.task == "hanoi"
            else self.tokenizer.answer_text(out)
        )
        return Response(
            text=text,
            usage=Usage(input_tokens=n, output_tokens=o),
            model=model,
            finish_reason="stop" if finished else "length",
            latency=time.perf_counter() - started,
        )

    def _enqueue(self, job: _Job) -> None:
        self._pending.append(job)
        if len(self._pending) >= self.max_batch:
            self._flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.max_wait, self._flush)

    def _flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        jobs, self._pending = self._pending, []
        if jobs:
            task = asyncio.get_running_loop().create_task(self._run(jobs))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _run(self, jobs: list[_Job]) -> None:
        groups: dict[tuple[int, int], list[_Job]] = {}
        for job in jobs:
            groups.setdefault((len(job.tokens), job.max_new), []).append(job)
        async with self._lock:  # one batch computes at a time; the next ones queue meanwhile
            for group in groups.values():
                try:
                    outs = await asyncio.to_thread(self._compute, group)
                except Exception as exc:  # pragma: no cover - a torch failure reaches the callers
                    for job in group:
                        if not job.future.done():
                            job.future.set_exception(exc)
                    continue
                for job, out in zip(group, outs, strict=True):
                    if not job.future.done():
                        job.future.set_result(out)

    def _compute(self, group: list[_Job]) -> list[list[int]]:
        import torch

        outs, work = generate(
            self.net,
            torch.tensor([job.tokens for job in group]),
            max_new=group[0].max_new,
            eos=self.eos,
            temperatures=[job.temperature for job in group],
            generators=[torch.Generator().manual_seed(job.seed) for job in group],
        )
        self.work.batches += 1
        self.work.forward_passes += work.passes
        self.work.positions += work.positions
        self.work.batch_sizes.append(len(group))
        return outs

    async def aclose(self) -> None:
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
