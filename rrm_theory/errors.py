"""The exception hierarchy of rrm-theory.

Every error rrm-theory raises on purpose derives from :class:`RRMError`, so a
caller can catch the package's errors without catching programming errors.
"""

from __future__ import annotations

__all__ = ["RRMError", "SpecError", "ExactRefused", "ExportRefused"]


class RRMError(Exception):
    """Base class of every error rrm-theory raises on purpose.

    Catching it catches every one of them (:class:`SpecError`,
    :class:`ExactRefused`, :class:`ExportRefused`, and those defined where they
    are raised, such as :class:`rrm_theory.uncertainty.UndefinedMetric`), but
    not the errors of a bug (``TypeError``,
    ``KeyError``, ...) nor a plain ``ValueError`` for an option out of range
    (``fit_rates(..., level=2)``, say).

    Examples
    --------
    >>> from rrm_theory import from_dict
    >>> from rrm_theory.errors import RRMError
    >>> try:
    ...     from_dict({"nodes": {}})
    ... except RRMError as exc:
    ...     print(type(exc).__name__, "-", exc)
    SpecError - spec 'tree': [nodes] is empty; a tree needs at least one node
    """


class SpecError(RRMError, ValueError):
    """An evaluation tree or spec file is not valid input.

    The message names the file (or tree), the node and the offending
    ``key=value``, and says what would be valid, for example::

        chip.toml: node 'heat': false_accept=1.3 is not a probability in [0, 1]

    It is also a ``ValueError``, so code that catches bad values that way
    catches it too. The command line prints it on one line and exits with
    status 2.

    Examples
    --------
    >>> from rrm_theory import from_dict
    >>> from rrm_theory.errors import SpecError
    >>> spec = {"defaults": {"prior": 0.5},
    ...         "nodes": {"root": {"rule": "all", "error": 0.0}, "heat": {"parent": "root", "error": 1.3}}}
    >>> try:
    ...     from_dict(spec, source="chip.toml")
    ... except SpecError as exc:
    ...     print(exc)
    chip.toml: node 'heat': error=1.3 is not a probability in [0, 1]
    >>> issubclass(SpecError, ValueError)
    True
    """


class ExactRefused(RRMError):
    """Exact analysis declines a tree it cannot handle cheaply.

    Raised when one node would condition on more shared events (the
    influence event and blind-spot groups) at once than exact analysis
    allows, or when the instances, the count states of a rule or the total
    work would pass their limits (see :func:`rrm_theory.exact_analysis`).
    The message names the limit and the alternatives (Monte Carlo and the
    bounds).

    Examples
    --------
    Chip design's shared blind spot is one event to condition on, more than
    ``max_shared_events=0`` allows:

    >>> import rrm_theory as rrm
    >>> tree = rrm.load_spec("models/chip-design.toml")
    >>> rrm.exact_analysis(tree, max_shared_events=0)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    rrm_theory.errors.ExactRefused: tree 'chip-design': ... more than max_shared_events=0; use Monte Carlo ...
    """


class ExportRefused(RRMError):
    """A tree cannot be written in an exchange format (see :mod:`rrm_theory.readwrite`).

    Raised, before anything is written, when a rule needs more distinct partial
    sums at one step than exact analysis allows (the same limit,
    :data:`rrm_theory.exact.MAX_RULE_STATES`), or when the file would hold more
    table entries than the ``max_entries`` a writer is given. The message names
    the node, the rule and the limit.

    Examples
    --------
    >>> from rrm_theory import chain
    >>> from rrm_theory.readwrite import to_bif
    >>> to_bif(chain(3, error=0.1, prior=0.5), max_entries=20)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    rrm_theory.errors.ExportRefused: tree 'chain-3': ... more than max_entries=20 table entries (at Y_L1_0); ...
    """
