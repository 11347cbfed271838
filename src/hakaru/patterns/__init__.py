"""Building blocks of language-based algorithms (chain, map, tree-reduce, red-flag, vote, …)."""

from hakaru.patterns.redflag import sample_valid
from hakaru.patterns.tree_reduce import tree_reduce

__all__ = ["sample_valid", "tree_reduce"]
