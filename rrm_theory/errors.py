"""The exception hierarchy of rrm-theory.

Every error rrm-theory raises on purpose derives from :class:`RRMError`, so a
caller can catch the package's errors without catching programming errors.
"""

from __future__ import annotations

__all__ = ["RRMError", "SpecError", "ExactRefused"]


class RRMError(Exception):
    """Base class of every error rrm-theory raises on purpose."""


class SpecError(RRMError, ValueError):
    """An evaluation tree or spec file is not valid input.

    The message names the file (or tree), the node and the offending
    ``key=value``, and says what would be valid, for example::

        chip.toml: node 'heat': false_accept=1.3 is not a probability in [0, 1]
    """


class ExactRefused(RRMError):
    """Exact analysis declines a tree it cannot handle cheaply.

    Raised when one node would condition on more shared events (the
    influence event and blind-spot groups) at once than exact analysis
    allows, or when the instances, the count states of a rule or the total
    work would pass their limits (see :func:`rrm_theory.exact_analysis`).
    The message names the limit and the alternatives (Monte Carlo and the
    bounds).
    """
