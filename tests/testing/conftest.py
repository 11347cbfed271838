"""Fixtures of the hakaru.testing tests (the real upstream servers are in upstreams.py)."""

from upstreams import upstreams

__all__ = ["upstreams"]
