"""A count rule over two children in closed form (MODEL.md section 2.2; the kernel of binary trees).

With two unit-weight children ``a`` and ``b`` a count rule is ``all`` (T = 2: both
values must be 1) or ``any`` (T = 1); ``majority`` and ``at_least:K`` reduce to one of
them. For ``all``, the truth is 1 only when both children are good, and it is 0 when
``a`` is bad (whatever ``b``) or ``a`` is good and ``b`` bad: two disjoint sources,

    log P(Y = 1) = log P(Y_a = 1) + log P(Y_b = 1),
    log P(Y = 0) = logaddexp(log P(Y_a = 0), log P(Y_a = 1) + log P(Y_b = 0)),

and the input ``U = R_a AND R_b`` has, given each source, a law that is a product of
the children's report laws (``b``'s marginal one when its truth is free). Every
entry is a sum of non-negative products, with both complements kept, as in
:mod:`rrm_theory._kernel`; the truth logs are pairs of doubles
(:mod:`rrm_theory._logpair`). ``any`` is ``all`` with 0 and 1 exchanged in both
truths and reports. This is what the general rule program computes for two
children, in a few array operations instead of two folding steps.
"""

from __future__ import annotations

import numpy as np

from ._logpair import add, lse2

__all__ = ["binary_rule"]


def binary_rule(lp: np.ndarray, lq: np.ndarray | None, pr: np.ndarray, T: int
                ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:  # fmt: skip
    """The rule ``count >= T`` (T = 1 or 2) over two children.

    Parameters
    ----------
    lp, lq : ndarray, shape (G, 2, 2)
        ``log P(Y_c = y)`` of child c, as high and low parts (``lq`` may be None: plain doubles).
    pr : ndarray, shape (G, 2, 2, 2)
        ``P(R_c = x | Y_c = y)``, indexed ``[g, c, y, x]``.
    T : int
        1 (``any``) or 2 (``all``).

    Returns
    -------
    lp, lq : ndarray, shape (G, 2)
        ``log P(rule(Y) = y)`` (``lq`` None when it was given None).
    pu : ndarray, shape (G, 2, 2)
        ``P(rule(R) = u | rule(Y) = y)``.
    """
    q = np.zeros_like(lp) if lq is None else lq
    if T == 2:
        out = _all(lp[:, 0], q[:, 0], lp[:, 1], q[:, 1], pr[:, 0], pr[:, 1])
    else:  # any = all with both values flipped
        flip = _all(lp[:, 0, ::-1], q[:, 0, ::-1], lp[:, 1, ::-1], q[:, 1, ::-1], pr[:, 0, ::-1, ::-1],
                    pr[:, 1, ::-1, ::-1])  # fmt: skip
        out = (flip[0][:, ::-1], flip[1][:, ::-1], flip[2][:, ::-1, ::-1])
    return out[0], (None if lq is None else out[1]), out[2]


def _all(a: np.ndarray, aq: np.ndarray, b: np.ndarray, bq: np.ndarray, pa: np.ndarray, pb: np.ndarray
         ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """``all`` over children a and b: ``a``, ``b`` (G, 2) truth logs (``aq``, ``bq`` low parts),
    ``pa``, ``pb`` (G, 2, 2) their report laws."""
    G = len(a)
    good, good_q = add(a[:, 1], aq[:, 1], b[:, 1], bq[:, 1])
    only_b, only_b_q = add(a[:, 1], aq[:, 1], b[:, 0], bq[:, 0])  # a good, b bad
    bad, bad_q, w_a, w_b = lse2(a[:, 0], aq[:, 0], only_b, only_b_q)
    eb0, eb1 = np.exp(b[:, 0]), np.exp(b[:, 1])
    b_yes = eb0 * pb[:, 0, 1] + eb1 * pb[:, 1, 1]  # P(R_b = 1), b's truth free
    b_no = eb0 * pb[:, 0, 0] + eb1 * pb[:, 1, 0]
    pu = np.empty((G, 2, 2))
    pu[:, 1, 1] = pa[:, 1, 1] * pb[:, 1, 1]
    pu[:, 1, 0] = pa[:, 1, 0] + pa[:, 1, 1] * pb[:, 1, 0]
    pu[:, 0, 1] = w_a * pa[:, 0, 1] * b_yes + w_b * pa[:, 1, 1] * pb[:, 0, 1]
    pu[:, 0, 0] = w_a * (pa[:, 0, 0] + pa[:, 0, 1] * b_no) + w_b * (pa[:, 1, 0] + pa[:, 1, 1] * pb[:, 0, 0])
    out_lp = np.empty((G, 2))
    out_lq = np.empty((G, 2))
    out_lp[:, 0], out_lp[:, 1] = bad, good
    out_lq[:, 0], out_lq[:, 1] = bad_q, good_q
    return out_lp, out_lq, pu
