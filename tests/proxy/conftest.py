"""Fixtures of the proxy tests (defined in proxy_servers.py, which tests import helpers from)."""

from proxy_servers import loop_thread, servers, sim_url, store

__all__ = ["loop_thread", "servers", "sim_url", "store"]
