"""Fitting evaluator error rates from labelled data (docs/fit.md).

A label table (one row per label: ``task, node, worker, label``, optionally ``gold``
and ``input``) and a spec go in; every labelled node's ``false_accept`` and
``false_reject`` come out as Beta posteriors, pooled over the node's workers and per
worker, fitted from gold where the truth is known and by two-coin Dawid-Skene EM
where it is not; and the spec comes back with the fitted rates written in and their
posteriors in an ``[uncertainty]`` table.

>>> from rrm_theory.fit import fit_rates, read_labels
"""

from ._table import LABEL_COLUMNS, MAX_LABEL_BYTES, OPTIONAL_COLUMNS, read_labels
from .rates import DEFAULT_MAX_ITER, DEFAULT_TOL, fit_rates
from .results import Fit, NodeFit, Rate, WorkerFit

__all__ = [
    "fit_rates",
    "read_labels",
    "Fit",
    "NodeFit",
    "WorkerFit",
    "Rate",
    "LABEL_COLUMNS",
    "OPTIONAL_COLUMNS",
    "MAX_LABEL_BYTES",
    "DEFAULT_MAX_ITER",
    "DEFAULT_TOL",
]
