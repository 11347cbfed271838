"""The simulated LLM backend: an oracle that errs on purpose, deterministically and cheaply.

Each call is answered from the ground truth of its task kind (:mod:`hakaru.tasks`), then spoiled
according to the model's error model (:mod:`hakaru.backends.sim.models`). Every random choice is
drawn from a BLAKE2b digest of the call's canonical content — backend seed, model, task kind and
payload, messages, temperature, budget, max_tokens — so the outcome is a pure function of the
request, with no shared generator state: calls may run in any order, concurrently or in another
process, and still answer the same. At temperature 0 the digest leaves out ``request.sample``
and ``request.seed`` (a greedy model answers the same every time); at temperature > 0 they are
mixed in, so repeated samples are independent draws — except the *correlated* wrong answer,
which is drawn from the sample-free digest and is therefore the same for every sample.

The draws are read straight from the digest bytes; a ``random.Random`` is seeded only when a
wrong, malformed or rambling answer must be generated, so a typical call costs microseconds.
Latency is simulated, never slept, unless ``real_time=True``.
"""

from __future__ import annotations

import asyncio
import functools
import json
import random
import struct
from collections.abc import Iterable, Mapping
from dataclasses import fields
from hashlib import blake2b
from typing import Any

from hakaru.backends.sim.models import BUILTIN_MODELS, SimModel
from hakaru.errors import ConfigError, ContextOverflow
from hakaru.tasks import GenericKind, TaskKind, filler_text, task_kind
from hakaru.tokenizer import _TOKEN, count_tokens
from hakaru.types import ModelSpec, Request, Response, Usage

__all__ = ["SimBackend"]

_U64 = 2.0**-64  # maps a 64-bit word to a uniform float in [0, 1)
_DRAWS = struct.Struct("<5Q")  # wrong?, correlated?, malformed?, overlong?, generator seed

# System prompts repeat across millions of calls; counting each distinct content once keeps the
# per-call cost flat. Only short contents are cached, in a bounded LRU (at most ~16 MB), so that
# long unique prompts neither fill memory nor evict the repeating ones.
_CACHED_CHARS = 4096
_count_cached = functools.lru_cache(maxsize=4096)(count_tokens)


# A payload's canonical JSON, for the digest (json.dumps would build this encoder every call).
_canonical_json = json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=str).encode


def _count(content: str) -> int:
    return _count_cached(content) if len(content) <= _CACHED_CHARS else count_tokens(content)


def _truncate(text: str, tokens: int) -> str:
    """The prefix of ``text`` holding exactly its first ``tokens`` tokens."""
    for i, match in enumerate(_TOKEN.finditer(text), start=1):
        if i == tokens:
            return text[: match.end()]
    return text


class SimBackend:
    """A simulated LLM backend, deterministic for a seed (registered as ``"sim"``).

    ``models`` adds to or overrides the built-in catalog (:data:`BUILTIN_MODELS`); it takes
    :class:`SimModel` objects, plain :class:`~hakaru.types.ModelSpec` objects (which get a
    perfect error model) or mappings of ``SimModel`` fields. ``generic`` configures the answers
    to requests without a task. With ``real_time=True`` each call sleeps ``latency·time_scale``
    seconds; otherwise latency is only reported.

    >>> import asyncio
    >>> from hakaru.tasks import task_kind
    >>> backend = SimBackend(seed=1)
    >>> req = task_kind("sum").request("sim-oracle", {"numbers": [1, 2, 3]})
    >>> asyncio.run(backend.complete(req)).text
    'sum = 6'
    """

    def __init__(
        self,
        seed: int = 0,
        models: Iterable[SimModel | ModelSpec | Mapping[str, Any]] | None = None,
        real_time: bool = False,
        time_scale: float = 1.0,
        generic: GenericKind | None = None,
    ) -> None:
        if time_scale < 0:
            raise ConfigError(f"time_scale is {time_scale}. Give a factor >= 0.")
        self.seed = int(seed)
        self.real_time = real_time
        self.answers_at_once = not real_time  # complete() suspends only to sleep
        self.time_scale = time_scale
        self._generic: TaskKind = generic if generic is not None else task_kind("generic")
        self._models: dict[str, SimModel] = dict(BUILTIN_MODELS)
        for m in models or ():
            model = _as_sim_model(m)
            self._models[model.name] = model
        self._specs = {name: m.spec for name, m in self._models.items()}
        self._prefix = f"{self.seed}\x00".encode()

    def reseed(self, seed: int) -> None:
        """Draw every later answer from ``seed`` instead (the same prompts, other draws)."""
        self.seed = int(seed)
        self._prefix = f"{self.seed}\x00".encode()

    @property
    def models(self) -> dict[str, SimModel]:
        """The models this backend simulates, by name."""
        return dict(self._models)

    def model(self, name: str) -> SimModel:
        """The simulated model called ``name``; a :class:`ConfigError` names the known ones."""
        try:
            return self._models[name]
        except KeyError:
            raise ConfigError(
                f"Unknown sim model '{name}'. Known: {', '.join(sorted(self._models))}. "
                "Add one with SimBackend(models=[SimModel(...)])."
            ) from None

    def model_spec(self, name: str) -> ModelSpec | None:
        return self._specs.get(name)

    async def aclose(self) -> None:
        return None

    async def complete(self, request: Request) -> Response:
        model = self._models.get(request.model) or self.model(request.model)
        n_in = 0  # tokens
        for m in request.messages:
            n_in += _count(m.content)
        requested = request.max_tokens or 0
        if n_in + requested > model.context_window:
            raise ContextOverflow(
                f"Model '{model.name}' has a maximum context length of {model.context_window} "
                f"tokens; the request needs {n_in + requested} ({n_in} in the messages, "
                f"{requested} requested for the completion). Shorten the prompt or lower "
                "max_tokens.",
                status=400,
            )
        text, n_out, finish, n_think = self._answer(model, request, n_in)
        latency = model.latency(n_in, n_out)  # seconds
        if self.real_time:
            await asyncio.sleep(latency * self.time_scale)
        return Response(
            text=text,
            usage=Usage(
                input_tokens=n_in, output_tokens=n_out, reasoning_tokens=n_think, source="reported"
            ),
            model=model.name,
            finish_reason=finish,
            latency=latency,
        )

    def _answer(self, model: SimModel, request: Request, n_in: int) -> tuple[str, int, str, int]:
        """The response text, its output tokens, the finish reason and the reasoning tokens."""
        task = request.task
        kind: TaskKind
        payload: Mapping[str, Any]
        if task is None:
            kind = self._generic
            asked: dict[str, Any] = {"messages": [[m.role, m.content] for m in request.messages]}
            if self.seed:  # another seed, other answers (seed 0: the prompt's answer)
                asked["seed"] = self.seed
            payload = asked
            payload_key = ""  # the messages, hashed below, are the whole payload
        else:
            kind = task_kind(task.kind)
            payload = task.payload
            payload_key = _canonical_json(payload)

        # Digest of the sample-free content; then the sample's own digest when T > 0.
        h = blake2b(self._prefix, digest_size=40)
        h.update(
            f"{model.name}\x00{kind.name}\x00{payload_key}\x00{request.temperature!r}\x00"
            f"{request.reasoning_budget}\x00{request.max_tokens}".encode()
        )
        for m in request.messages:
            h.update(f"\x00{m.role}\x01{m.content}".encode())
        shared = h.digest()
        draws = shared
        if request.temperature > 0:
            draws = blake2b(
                shared + f"{request.sample}\x00{request.seed}".encode(), digest_size=40
            ).digest()
        u_wrong, u_corr, u_malformed, u_overlong, gen_seed = _DRAWS.unpack(draws)

        truth = kind.solve(payload)
        overlong = u_overlong * _U64 < model.overlong_rate
        p_wrong = model.error_rate(n_in)
        if overlong:
            p_wrong = max(p_wrong, model.overlong_error)
        n_think = 0  # reasoning tokens, from the kind's optional hook (hakaru.reasoning.kind)
        think = getattr(kind, "reasoning", None)
        if think is not None:
            n_think, p_reason = think(
                payload, request.reasoning_budget, random.Random(gen_seed ^ 3)
            )
            p_wrong = 1.0 - (1.0 - p_wrong) * (1.0 - p_reason)
        answer = truth
        if u_wrong * _U64 < p_wrong:
            # The correlated wrong answer comes from the sample-free digest: same for all samples.
            seed = _DRAWS.unpack(shared)[4] if u_corr * _U64 < model.rho else gen_seed
            answer = kind.wrong(payload, truth, random.Random(seed))
        if u_malformed * _U64 < model.malformed_rate:
            text = kind.malformed(payload, answer, random.Random(gen_seed ^ 1))
        else:
            text = kind.render(answer)

        limit = request.max_tokens  # tokens
        if limit is None:
            limit = model.context_window - n_in
        if overlong:
            ramble = filler_text(min(model.overlong_tokens, limit), random.Random(gen_seed ^ 2))
            text = f"{ramble}\n{text}"
        n_out = _count(text)  # the k votes of a step often share one answer text
        if n_think + n_out > limit:  # cut off while reasoning (no answer) or answering
            cut = "" if n_think >= limit else _truncate(text, limit - n_think)
            return cut, limit, "length", min(n_think, limit)
        return text, n_think + n_out, "stop", n_think


def _as_sim_model(m: SimModel | ModelSpec | Mapping[str, Any]) -> SimModel:
    if isinstance(m, SimModel):
        return m
    if isinstance(m, ModelSpec):
        return SimModel(**{f.name: getattr(m, f.name) for f in fields(ModelSpec)})
    return SimModel.from_dict(m)
