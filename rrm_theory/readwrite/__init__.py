"""Exporters: an evaluation tree in the exchange formats of other tools (docs/export.md).

So that exact analysis can be cross-checked by independent engines, a tree is
written as

* a **Bayesian network** of every random variable of MODEL.md section 2, in BIF
  (:func:`to_bif`) and XMLBIF (:func:`to_xmlbif`), which pgmpy and pyAgrum read:
  P(V_root = 1 | Y_root = 0) is the false-accept rate;
* an **Open-PSA MEF fault tree** (:func:`to_mef`), which SCRAM and XFTA read, whose
  top event "the root approves bad work" has probability P(V_root = 1, Y_root = 0)
  = false_accept x (1 - p_good).

Count and weighted rules are counting chains over classes of partial sums, never
tables over every subset of children; a weighted rule has the distinct-sum limit of
exact analysis (:class:`~rrm_theory.errors.ExportRefused` past it).

>>> from rrm_theory import chain
>>> from rrm_theory.readwrite import to_xmlbif
>>> to_xmlbif(chain(1, error=0.1, prior=0.5)).count("<VARIABLE ")
5
"""

from __future__ import annotations

from ..errors import ExportRefused
from ._common import DEFAULT_MAX_ENTRIES
from .bayesnet import to_bif, to_xmlbif
from .faulttree import to_mef
from .files import FORMATS, SUFFIXES, Exported, export_network, write_network

__all__ = [
    "to_bif",
    "to_xmlbif",
    "to_mef",
    "write_network",
    "export_network",
    "Exported",
    "FORMATS",
    "SUFFIXES",
    "DEFAULT_MAX_ENTRIES",
    "ExportRefused",
]
