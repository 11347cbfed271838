"""The tracer provider and the instrumentors of a process: set up once, reported by name.

:func:`hub` makes (once per process) the OpenTelemetry SDK ``TracerProvider`` that capture
listens on — the program's own when it already set an SDK provider, else a new one, made the
global provider so that libraries which trace through the global one are seen too — adds the
:class:`~hakaru.capture.processor.CaptureProcessor` to it, and switches on the maintained
instrumentors of the libraries that are installed:

======================  ===========================================================  ==========
name                    instrumentor                                                 library
======================  ===========================================================  ==========
openai                  ``openinference.instrumentation.openai.OpenAIInstrumentor``  openai
anthropic               ``openinference.instrumentation.anthropic.…``                anthropic
langchain               ``openinference.instrumentation.langchain.…`` (LangGraph)    langchain_core
openai-agents           ``openinference.instrumentation.openai_agents.…``            agents
dspy                    ``openinference.instrumentation.dspy.DSPyInstrumentor``      dspy
crewai                  ``openinference.instrumentation.crewai.CrewAIInstrumentor``  crewai
pydantic-ai             pydantic-ai's own: ``Agent.instrument_all(…)`` (GenAI spans) pydantic_ai
======================  ===========================================================  ==========

The anthropic SDK traces itself since its 2.x releases (``anthropic._tracing``: one GenAI
span per API call); where it does, its own spans are used instead of OpenInference's
instrumentor, which would report every call a second time. Each instrumentor is switched on when
the program imports its library (wrapt's post-import hooks), so a program pays for the
libraries it uses; :attr:`Hub.loaded` grows as it imports them. A library that is not
installed is skipped silently; one that is installed whose instrumentor is missing or fails
is *named* in :attr:`Hub.failed` with the reason, and capture goes on with the others.
``extra`` adds instrumentors by ``module:Class`` (any OpenTelemetry ``BaseInstrumentor``).
Nothing here patches a library: each instrumentor is the library's or OpenInference's own,
switched on through its public ``instrument()``.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from hakaru.capture.processor import CaptureProcessor

__all__ = ["INSTRUMENTORS", "SELF_TRACED", "Hub", "hub"]

#: name → (instrumentor "module:Class", the library it instruments, the package to install).
INSTRUMENTORS: dict[str, tuple[str, str, str]] = {
    "openai": (
        "openinference.instrumentation.openai:OpenAIInstrumentor",
        "openai",
        "openinference-instrumentation-openai",
    ),
    "anthropic": (
        "openinference.instrumentation.anthropic:AnthropicInstrumentor",
        "anthropic",
        "openinference-instrumentation-anthropic",
    ),
    "langchain": (
        "openinference.instrumentation.langchain:LangChainInstrumentor",
        "langchain_core",
        "openinference-instrumentation-langchain",
    ),
    "openai-agents": (
        "openinference.instrumentation.openai_agents:OpenAIAgentsInstrumentor",
        "agents",
        "openinference-instrumentation-openai-agents",
    ),
    "dspy": (
        "openinference.instrumentation.dspy:DSPyInstrumentor",
        "dspy",
        "openinference-instrumentation-dspy",
    ),
    "crewai": (
        "openinference.instrumentation.crewai:CrewAIInstrumentor",
        "crewai",
        "openinference-instrumentation-crewai",
    ),
}

#: Libraries that trace their own calls (GenAI spans, one per API call, streams and retries
#: included) in the versions that have this module: their own spans are used, and the
#: OpenInference instrumentor is not loaded beside them (it would report each call twice).
SELF_TRACED = {"anthropic": "anthropic._tracing"}


@dataclass
class Hub:
    """This process's tracer provider, capture processor and instrumentors."""

    provider: TracerProvider
    processor: CaptureProcessor
    loaded: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # name → why it could not load

    def report(self) -> dict[str, Any]:
        return {"loaded": list(self.loaded), "failed": dict(self.failed)}


_hub: Hub | None = None
_lock = threading.RLock()


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def _load(h: Hub, *, name: str, target: str, package: str = "") -> None:
    """Switch on the instrumentor ``module:Class`` as ``name``; a failure is named."""
    if name in h.loaded or name in h.failed:
        return
    module_name, _, class_name = target.partition(":")
    try:
        module = importlib.import_module(module_name)
        instrumentor = getattr(module, class_name)()
        instrumentor.instrument(tracer_provider=h.provider)
    except ModuleNotFoundError as exc:
        hint = f"; pip install {package}" if package else ""
        h.failed[name] = f"{exc}{hint}"
        return
    except Exception as exc:
        h.failed[name] = f"{type(exc).__name__}: {exc}"
        return
    h.loaded.append(name)


def _langchain(h: Hub) -> None:
    with _lock:
        if "langchain" in h.loaded or "langchain" in h.failed:
            return
        target, _, package = INSTRUMENTORS["langchain"]
        _load(h, name="langchain", target=target, package=package)
        if "langchain" in h.loaded:  # LangChain's spans stay out of OTel's context: ask it
            from openinference.instrumentation.langchain import get_current_span

            h.processor.resolvers.append(get_current_span)


def _pydantic_ai(h: Hub) -> None:
    """pydantic-ai traces itself (GenAI spans) once asked to, for every agent."""
    if "pydantic-ai" in h.loaded or "pydantic-ai" in h.failed:
        return
    try:
        from pydantic_ai import Agent
        from pydantic_ai.models.instrumented import InstrumentationSettings

        Agent.instrument_all(InstrumentationSettings(tracer_provider=h.provider))
    except Exception as exc:
        h.failed["pydantic-ai"] = f"{type(exc).__name__}: {exc}"
        return
    h.loaded.append("pydantic-ai")


def _provider() -> TracerProvider:
    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider):
        return current  # the program set up OpenTelemetry itself: listen on its provider
    provider = TracerProvider()
    trace.set_tracer_provider(provider)
    return provider


def _when_imported(h: Hub) -> None:
    """Switch each instrumentor on when the program imports its library (at once if it has
    already): a program pays only for the libraries it uses. wrapt's post-import hooks (the
    mechanism OpenTelemetry's instrumentation is built on) run it right after the import."""
    from wrapt import register_post_import_hook

    for name, (target, library, package) in INSTRUMENTORS.items():
        if not _installed(library):
            continue
        if name in SELF_TRACED and _installed(SELF_TRACED[name]):
            hook = functools.partial(_self_traced, h, name)
        elif name == "langchain":
            hook = functools.partial(_on_import, _langchain, h)
        else:
            hook = functools.partial(
                _on_import, functools.partial(_load, name=name, target=target, package=package), h
            )
        register_post_import_hook(hook, library)
    if _installed("pydantic_ai"):
        register_post_import_hook(functools.partial(_on_import, _pydantic_ai, h), "pydantic_ai")


def _on_import(switch_on: Callable[[Hub], None], h: Hub, module: object) -> None:
    with _lock:
        switch_on(h)


def _self_traced(h: Hub, name: str, module: object) -> None:
    with _lock:
        label = f"{name} (its own spans)"
        if label not in h.loaded:
            h.loaded.append(label)


def hub(extra: Iterable[str] = ()) -> Hub:
    """This process's :class:`Hub`, made on first use; ``extra`` instrumentors
    (``module:Class``) are switched on too (each once)."""
    global _hub
    with _lock:
        if _hub is None:
            provider = _provider()
            processor = CaptureProcessor()
            provider.add_span_processor(processor)
            _hub = Hub(provider, processor)
            _when_imported(_hub)
        for target in extra:
            _load(_hub, name=target, target=target)
        return _hub
