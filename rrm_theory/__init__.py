"""rrm-theory: error propagation in recursive reward modeling.

Evaluation trees (MODEL.md) as networkx graphs, read from spec files, and
their oversight error computed exactly.

>>> import rrm_theory as rrm
>>> tree = rrm.chain(2, error=0.1, prior=0.5)
>>> round(rrm.exact_analysis(tree).root.error, 6)
0.244

The names below load their modules on first use (PEP 562), so that
``import rrm_theory`` and the command line start at once; ``dir`` and
``from rrm_theory import *`` see all of them.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any

__version__ = "0.2.0"

# public name -> the module that defines it (relative to this package)
_SOURCES = {
    "RRMError": "errors",
    "SpecError": "errors",
    "ExactRefused": "errors",
    "exact_analysis": "exact",
    "compile_tree": "_compile",
    "Compiled": "_compile",
    "monte_carlo": "montecarlo",
    "MonteCarloResult": "montecarlo",
    "Estimate": "montecarlo",
    "robustness": "adversary",
    "Robustness": "adversary",
    "check_assumptions": "assumptions",
    "Check": "assumptions",
    "counterexample": "counterexamples",
    "Counterexample": "counterexamples",
    "bounds": "bounds",
    "fast_bounds": "bounds",
    "lp_bounds": "bounds",
    "Bounds": "bounds",
    "concentration": "bounds",
    "importance": "importance",
    "Importance": "importance",
    "NodeImportance": "importance",
    "balanced": "generators",
    "chain": "generators",
    "METRICS": "results",
    "Analysis": "results",
    "Metrics": "results",
    "NodeMetrics": "results",
    "Rule": "rules",
    "parse_rule": "rules",
    "load_spec": "spec",
    "from_dict": "spec",
    "to_dict": "spec",
    "write_spec": "spec",
    "dumps_spec": "spec",
    "validate_tree": "tree",
    "tree_root": "tree",
    "tree_depth": "tree",
    "tree_leaves": "tree",
}
_MODULES = ("homogeneous", "levels", "nso", "uncertainty", "fit", "readwrite")

__all__ = [
    "RRMError",
    "SpecError",
    "ExactRefused",
    "exact_analysis",
    "compile_tree",
    "Compiled",
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
    "uncertainty",
    "fit",
    "readwrite",
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


def __getattr__(name: str) -> Any:
    if name in _MODULES:
        return importlib.import_module(f".{name}", __name__)
    source = _SOURCES.get(name)
    if source is None:
        raise AttributeError(f"module 'rrm_theory' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{source}", __name__), name)
    globals()[name] = value  # later look-ups are plain attribute reads
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


class _Package(types.ModuleType):
    """Keeps ``rrm_theory.bounds`` and ``rrm_theory.importance`` the functions: importing the
    submodules of the same names would otherwise bind them over the functions (as the eager
    ``from .bounds import bounds`` used to undo). The submodules stay importable by name."""

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, types.ModuleType) and _SOURCES.get(name) == name:
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
