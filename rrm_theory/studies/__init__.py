"""Simulation studies: declarative sweeps, a resumable results database, local processes and Dask.

A study file (TOML, in ``sims/``; docs/studies.md) names a model, the methods to
run and the axes to vary. :func:`load_study` validates it, :meth:`Study.points`
lists its points, :func:`run_study` computes the points a :class:`Store` lacks
(storing each as it finishes, so a killed run loses nothing and a resumed one
repeats nothing), and :func:`results` returns the tidy table as a pandas DataFrame.

>>> from rrm_theory.studies import load_study, run_study, results, Store
"""

from .executors import Dask, Executor, InProcess, Processes, default_workers, executor_for
from .run import RunSummary, compute, run_study
from .store import Store, StoreBusy
from .study import KINDS, METHODS, Point, Study, axis_values, load_study, study_from_dict
from .table import METRIC_COLUMNS, export, results

__all__ = [
    "load_study",
    "study_from_dict",
    "Study",
    "Point",
    "run_study",
    "RunSummary",
    "compute",
    "Store",
    "StoreBusy",
    "results",
    "export",
    "Executor",
    "InProcess",
    "Processes",
    "Dask",
    "executor_for",
    "default_workers",
    "axis_values",
    "METHODS",
    "KINDS",
    "METRIC_COLUMNS",
]
