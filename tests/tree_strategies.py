"""The suite's tree strategy: the public :func:`rrm_theory.strategies.spec_dicts` with every
feature on and a budget on random variables, so brute-force enumeration stays cheap."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from rrm_theory.strategies import FEATURES, spec_dicts


def tree_specs(*, max_nodes: int = 5, max_free: int = 16) -> st.SearchStrategy[dict[str, Any]]:
    """A spec dict with every value explicit, using every model feature."""
    return spec_dicts(max_nodes=max_nodes, max_free=max_free, features=FEATURES, max_groups=3)
