"""rrm-theory: error propagation in recursive reward modeling.

Evaluation trees (MODEL.md) as networkx graphs, read from spec files, and
their oversight error computed exactly.

>>> import rrm_theory as rrm
>>> tree = rrm.chain(2, error=0.1, prior=0.5)
>>> round(rrm.exact_analysis(tree).root.error, 6)
0.244
"""

from .errors import ExactRefused, RRMError, SpecError
from .exact import exact_analysis
from .adversary import Robustness, robustness
from .assumptions import Check, check_assumptions
from .bounds import Bounds, bounds, concentration, fast_bounds, lp_bounds
from . import homogeneous, levels, nso
from .generators import balanced, chain
from .importance import Importance, NodeImportance, importance
from .montecarlo import Estimate, MonteCarloResult, monte_carlo
from .results import METRICS, Analysis, Metrics, NodeMetrics
from .rules import Rule, parse_rule
from .spec import dumps_spec, from_dict, load_spec, to_dict, write_spec
from .tree import tree_depth, tree_leaves, tree_root, validate_tree

__all__ = [
    "RRMError",
    "SpecError",
    "ExactRefused",
    "exact_analysis",
    "monte_carlo",
    "robustness",
    "check_assumptions",
    "Check",
    "counterexample",
    "Counterexample",
    "Robustness",
    "bounds",
    "fast_bounds",
    "lp_bounds",
    "Bounds",
    "concentration",
    "homogeneous",
    "levels",
    "nso",
    "importance",
    "Importance",
    "NodeImportance",
    "MonteCarloResult",
    "Estimate",
    "balanced",
    "chain",
    "METRICS",
    "Analysis",
    "Metrics",
    "NodeMetrics",
    "Rule",
    "parse_rule",
    "load_spec",
    "from_dict",
    "to_dict",
    "write_spec",
    "dumps_spec",
    "validate_tree",
    "tree_root",
    "tree_depth",
    "tree_leaves",
]

__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    # The Hypothesis-based tools load on first use, so that importing rrm_theory
    # does not need Hypothesis (a test extra); rrm_theory.strategies needs it too.
    if name in ("counterexample", "Counterexample"):
        from . import counterexamples

        return getattr(counterexamples, name)
    raise AttributeError(f"module 'rrm_theory' has no attribute {name!r}")
