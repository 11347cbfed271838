"""Profile programs that speak the OpenAI API: a simulated server, a recording proxy, faults.

- :mod:`~hakaru.proxy.http`      a small HTTP/1.1 server on ``asyncio.Protocol`` (keep-alive, SSE)
- :mod:`~hakaru.proxy.server`    the simulated LLM, OpenAI-compatible (``hakaru sim serve``)
- :mod:`~hakaru.proxy.faults`    fault injection for it: 429, 500, delays, drops, malformed JSON
- :mod:`~hakaru.proxy.upstream`  forwarding: a lean keep-alive HTTP/1.1 client, or httpx2
- :mod:`~hakaru.proxy.wire`      reading requests, answers and streams: usage, text, errors
- :mod:`~hakaru.proxy.hb`        happens-before inferred from timing
- :mod:`~hakaru.proxy.recorder`  the recording proxy (``hakaru proxy``): every call a record
- :mod:`~hakaru.proxy.profile`   a command per size behind the proxy, then fits (``hakaru profile``)
- :mod:`~hakaru.proxy.loadgen`   a lean load generator for the benchmark and the load test

docs/profile.md explains the design and the measurements.
"""
