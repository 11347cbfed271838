"""Profile programs that speak the OpenAI API: a simulated server, a recording proxy, faults.

- :mod:`~hakaru.proxy.serving`       serving with aiohttp: limits, timeouts, ``listen()``
- :mod:`~hakaru.proxy.server`        the simulated LLM, OpenAI-compatible (``hakaru sim serve``)
- :mod:`~hakaru.proxy.faults`        fault injection for it: 429, 500, delays, drops, bad JSON
- :mod:`~hakaru.proxy.upstream`      forwarding over aiohttp's client (or httpx2)
- :mod:`~hakaru.proxy.wire`          reading requests, answers and streams: usage, text, errors
- :mod:`~hakaru.dependencies`        which call may depend on which, inferred from timing (core)
- :mod:`~hakaru.proxy.recorder`      the recording proxy (``hakaru proxy``): every call a record
- :mod:`~hakaru.proxy.profile`       a command per size behind the proxy, then fits
- :mod:`~hakaru.proxy.loadgen`       a load generator for the benchmark and the load test

docs/profile.md explains the design and the measurements.
"""
