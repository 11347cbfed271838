"""OpenTelemetry: runs exported as GenAI traces, and traces of others imported as runs.

- :mod:`~hakaru.otel.attributes`  the attribute names: GenAI conventions, OpenInference, hakaru.*
- :mod:`~hakaru.otel.spans`       a record as the SDK's span; the run's root span with its totals
- :mod:`~hakaru.otel.export`      a stored run → OTLP/JSON file or OTLP/HTTP, the SDK's exporters
- :mod:`~hakaru.otel.live`        spans streamed while a session runs (``otlp_endpoint=``)
- :mod:`~hakaru.otel.reader`      OTLP/JSON files read as a stream of spans (bounded memory)
- :mod:`~hakaru.otel.importer`    spans → call records → runs in the store (``hakaru import``)

Nothing here imports OpenTelemetry until it is used: it is the ``otel`` extra. docs/otel.md.
"""

from __future__ import annotations

__all__: list[str] = []
