"""The span attributes hakaru writes and reads: OpenTelemetry GenAI, OpenInference, ``hakaru.*``.

Exported spans follow the OpenTelemetry semantic conventions for generative AI at version
1.44.0 (:data:`SEMCONV_VERSION`; every ``gen_ai.*`` attribute there is still marked
"Development", so names may change). What the conventions lack — forward passes, AALP cost,
dollars and whether they are known, the attempt and its status, the problem size, work and
span of a run — goes in ``hakaru.*`` attributes. Importing reads the same GenAI names, their
deprecated spellings (``gen_ai.usage.prompt_tokens``…, ``gen_ai.system``), and the
OpenInference names (``llm.*``, ``openinference.span.kind``) that Arize Phoenix's instrumentors
write. docs/otel.md lists every attribute.

Names only: this module imports nothing of OpenTelemetry.
"""

from __future__ import annotations

__all__ = [
    "CALL",
    "GEN_AI",
    "OPENINFERENCE",
    "RUN",
    "SCHEMA_URL",
    "SEMCONV_VERSION",
]

SEMCONV_VERSION = "1.44.0"
SCHEMA_URL = f"https://opentelemetry.io/schemas/{SEMCONV_VERSION}"


class GEN_AI:
    """OpenTelemetry GenAI attribute names (semantic conventions 1.44.0, "Development")."""

    OPERATION = "gen_ai.operation.name"
    PROVIDER = "gen_ai.provider.name"
    SYSTEM = "gen_ai.system"  # deprecated name of the provider, still written by older code
    REQUEST_MODEL = "gen_ai.request.model"
    RESPONSE_MODEL = "gen_ai.response.model"
    INPUT_TOKENS = "gen_ai.usage.input_tokens"  # cache classes included
    OUTPUT_TOKENS = "gen_ai.usage.output_tokens"  # reasoning included
    PROMPT_TOKENS = "gen_ai.usage.prompt_tokens"  # deprecated spelling of input_tokens
    COMPLETION_TOKENS = "gen_ai.usage.completion_tokens"  # deprecated spelling of output
    CACHE_READ = "gen_ai.usage.cache_read.input_tokens"
    CACHE_CREATION = "gen_ai.usage.cache_creation.input_tokens"
    REASONING = "gen_ai.usage.reasoning.output_tokens"
    AGENT_NAME = "gen_ai.agent.name"
    FINISH_REASONS = "gen_ai.response.finish_reasons"
    REQUEST_MAX_TOKENS = "gen_ai.request.max_tokens"
    ERROR_TYPE = "error.type"
    # operation names that are model calls (the rest — invoke_agent, execute_tool,
    # invoke_workflow, create_agent — are structure)
    MODEL_OPERATIONS = frozenset(("chat", "text_completion", "generate_content", "embeddings"))


class OPENINFERENCE:
    """OpenInference attribute names (Arize Phoenix's instrumentors)."""

    SPAN_KIND = "openinference.span.kind"  # LLM, CHAIN, AGENT, TOOL, RETRIEVER, EMBEDDING, ...
    MODEL = "llm.model_name"
    PROVIDER = "llm.provider"
    SYSTEM = "llm.system"
    PROMPT_TOKENS = "llm.token_count.prompt"
    COMPLETION_TOKENS = "llm.token_count.completion"
    CACHE_READ = "llm.token_count.prompt_details.cache_read"
    CACHE_WRITE = "llm.token_count.prompt_details.cache_write"
    REASONING = "llm.token_count.completion_details.reasoning"
    COST_TOTAL = "llm.cost.total"  # USD
    MODEL_KINDS = frozenset(("LLM", "EMBEDDING"))


class CALL:
    """``hakaru.call.*``: what a call's span carries beyond the GenAI conventions."""

    ID = "hakaru.call.id"
    ATTEMPT = "hakaru.call.attempt"
    STATUS = "hakaru.call.status"  # ok, error, cached, flagged
    ERROR = "hakaru.call.error"
    FORWARD_PASSES = "hakaru.call.forward_passes"  # output tokens of an executed attempt
    AALP_COST = "hakaru.call.aalp_cost"
    DOLLARS = "hakaru.call.dollars"  # USD; absent when unknown
    DOLLARS_KNOWN = "hakaru.call.dollars_known"
    USAGE_SOURCE = "hakaru.call.usage_source"  # reported or estimated
    MODEL_SIZE = "hakaru.call.model_size"  # m of the AALP cost
    LATENCY = "hakaru.call.latency"  # seconds (simulated on the sim)
    SIM_START = "hakaru.call.sim_start"
    SIM_END = "hakaru.call.sim_end"
    STEP = "hakaru.call.step"
    VOTE = "hakaru.call.vote"
    CANDIDATE = "hakaru.call.candidate"
    REASONING_BUDGET = "hakaru.call.reasoning_budget"
    PARENT_LINK = "hakaru.link"  # on a link: "happens_before"


class RUN:
    """``hakaru.run.*`` and ``hakaru.problem.size``: the root span of an exported run."""

    ID = "hakaru.run.id"
    KIND = "hakaru.run.kind"
    NAME = "hakaru.run.name"
    STATUS = "hakaru.run.status"
    SIZE = "hakaru.problem.size"  # the size of the problem the run solved (its n)
    CALLS = "hakaru.run.calls"
    WORK = "hakaru.run.work"  # forward passes of every executed call
    SPAN = "hakaru.run.span"  # forward passes on the critical path
    DEPTH = "hakaru.run.depth"  # calls on the critical path
    PARALLELISM = "hakaru.run.parallelism"  # work / span
    AALP_COST = "hakaru.run.aalp_cost"
    DOLLARS = "hakaru.run.dollars"
    DOLLARS_COMPLETE = "hakaru.run.dollars_complete"
    INPUT_TOKENS = "hakaru.run.input_tokens"
    OUTPUT_TOKENS = "hakaru.run.output_tokens"
