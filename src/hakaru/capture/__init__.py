"""In-process capture: the LLM calls of programs we did not write, recorded as hakaru runs.

The program's own ecosystem reports each LLM call as an OpenTelemetry span (OpenInference's
instrumentors and the OTel GenAI conventions); a span processor turns each into a
:class:`~hakaru.types.CallRecord` in the run store. Next to the recording proxy
(:mod:`hakaru.proxy`, which sees calls on the wire), capture sees them in the process:
frameworks' span nesting included. docs/capture.md explains what is captured and its limits.

- :mod:`~hakaru.capture.spans`        what an LLM span says (OpenInference and ``gen_ai.*``)
- :mod:`~hakaru.capture.recording`    ids, parents (timing + span context), prices, commits
- :mod:`~hakaru.capture.processor`    the ``SpanProcessor``: spans → calls, one record a call
- :mod:`~hakaru.capture.instruments`  the tracer provider and the instrumentors, by name
- :mod:`~hakaru.capture.session_run`  calls captured into a live ``Session`` (its frontier)
- :mod:`~hakaru.capture.api`          ``with hakaru.capture(store, name) as run:`` (or ``session=``)
- :mod:`~hakaru.capture.boot`         ``hakaru trace``'s side in the traced program
- :mod:`~hakaru.capture.trace`        ``hakaru trace``: run a command with capture on

OpenTelemetry is imported only when a capture starts (the ``capture`` extra).
"""

from hakaru.capture.api import Capture, capture

__all__ = ["Capture", "capture"]
