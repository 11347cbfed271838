"""Fixtures of the capture tests (defined in capture_sim.py, which tests import helpers from)."""

from capture_sim import sim, sim_server, slow_sim, slow_sim_server

__all__ = ["sim", "sim_server", "slow_sim", "slow_sim_server"]
