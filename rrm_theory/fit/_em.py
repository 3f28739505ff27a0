"""Two-coin Dawid-Skene EM over every node at once, and the information its estimates keep.

Notation (docs/fit.md). At node v an *item* i is one task; its *reference* R_i is what
the node's error channel acts on (MODEL.md section 2.3): the truth Y_v at a leaf, the
input U_v at an internal node. A *slot* s is one worker at one node; its labels l have

    fa_s = P(l = 1 | R = 0),    fr_s = P(l = 0 | R = 1),    pi_v = P(R = 1),

and the labels of an item are independent given R (Dawid and Skene 1979, two classes).
R is known on some items (gold, or a given input) and latent on the others.

EM (Dempster, Laird and Rubin 1977): the E-step gives q_i = P(R_i = 1 | labels);
the M-step sets each rate to its expected count of errors over its expected count of
labels (maximum likelihood), pi_v to the mean of q over the node's items. Nodes do not
share parameters, so one vectorised pass runs them all; each node stops counting
iterations once its largest parameter change is at most ``tol``.

Information (Louis 1982): the observed information is the complete-data information
less the missing information, ``I_obs = E[B_c | l] - sum_i q_i (1 - q_i) d_i d_i^T``,
where d_i is the change of item i's complete-data score when R_i goes from 0 to 1.
For each rate, ``information = 1 / (I_c * [I_obs^-1])`` (in [0, 1]) is the share of
the complete-data information (every R known) that the labels keep; it is 1 when R
is known on every item, and 0 for a rate the labels do not identify.

References
----------
A. P. Dawid, A. M. Skene (1979). Maximum likelihood estimation of observer error-rates
using the EM algorithm. Journal of the Royal Statistical Society C 28(1), 20-28.
T. A. Louis (1982). Finding the observed information matrix when using the EM
algorithm. Journal of the Royal Statistical Society B 44(2), 226-233.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy.special import expit

__all__ = ["EMResult", "two_coin_em", "MAX_DENSE_PARAMETERS"]

#: Nodes with more parameters (2 per worker, plus the prevalence) get the diagonal of the
#: observed information instead of its inverse (the rates' variances given the others).
MAX_DENSE_PARAMETERS = 2001

_CLIP = 1e-12  # rates are kept this far inside (0, 1) in logarithms: a rate of 0 is legitimate


@dataclass(frozen=True)
class EMResult:
    """Per slot (worker at a node): ``counts[s] = (false accepts, labels on R = 0, false
    rejects, labels on R = 1)``, expected counts at the fixed point (the maximum-likelihood
    rates are their ratios); ``information[s] = (fa, fr)`` shares. Per node: ``pooled``
    information shares of the pooled rates (fa, fr), ``pi``, ``iterations``, ``converged``.
    Per item: ``q`` = P(R = 1 | labels)."""

    counts: np.ndarray
    information: np.ndarray
    pooled: np.ndarray
    pi: np.ndarray
    iterations: np.ndarray
    converged: np.ndarray
    q: np.ndarray


def two_coin_em(
    item: np.ndarray,
    slot: np.ndarray,
    label: np.ndarray,
    known: np.ndarray,
    item_node: np.ndarray,
    slot_node: np.ndarray,
    n_nodes: int,
    *,
    prior: tuple[float, float],
    max_iter: int,
    tol: float,
) -> EMResult:
    """Fit every node's two-coin model; see the module docstring.

    ``item``, ``slot``, ``label`` are per label; ``known`` (0, 1, or -1 = latent) and
    ``item_node`` per item; ``slot_node`` per slot. Items whose node has gold are started
    from the gold estimates (posterior means under ``prior``); the others from the
    majority vote of their labels, as Dawid and Skene start.
    """
    a, b = prior
    S, I, V = len(slot_node), len(known), n_nodes
    item_node = np.asarray(item_node, dtype=np.int64)
    slot_node = np.asarray(slot_node, dtype=np.int64)
    is_known = known[item] >= 0
    kc = np.bincount(slot[is_known] * 4 + known[item[is_known]] * 2 + label[is_known], minlength=4 * S)
    kc = kc.reshape(S, 2, 2).astype(float)  # [slot, R, label]
    latent = np.flatnonzero(known < 0)
    E = len(latent)
    remap = np.full(I, -1, dtype=np.int64)
    remap[latent] = np.arange(E)
    e_item = remap[item[~is_known]]
    e_sl = slot[~is_known] * 2 + label[~is_known]
    e_label = label[~is_known].astype(float)
    ec = np.bincount(e_sl, minlength=2 * S).astype(float).reshape(S, 2)
    e_node = item_node[latent]
    known_items = known >= 0
    kn = np.bincount(item_node[known_items], minlength=V).astype(float)
    kn1 = np.bincount(item_node[known_items], weights=(known[known_items] == 1).astype(float), minlength=V)
    en = np.bincount(e_node, minlength=V).astype(float)

    def m_step(q: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        s1 = np.bincount(e_sl, weights=q[e_item], minlength=2 * S).reshape(S, 2)
        c0 = kc[:, 0, :] + (ec - s1)  # labels (by value) on items with R = 0
        c1 = kc[:, 1, :] + s1
        with np.errstate(invalid="ignore", divide="ignore"):
            pi = (kn1 + np.bincount(e_node, weights=q, minlength=V)) / (kn + en)
        return c0, c1, pi

    def rates(c0: np.ndarray, c1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n0, n1 = c0.sum(1), c1.sum(1)
        mean = a / (a + b)  # a rate with no labels in its class does not act on any item
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(n0 > 0, c0[:, 1] / n0, mean), np.where(n1 > 0, c1[:, 0] / n1, mean)

    def e_step(fa: np.ndarray, fr: np.ndarray, pi: np.ndarray) -> np.ndarray:
        fa, fr = np.clip(fa, _CLIP, 1 - _CLIP), np.clip(fr, _CLIP, 1 - _CLIP)
        pi = np.clip(np.nan_to_num(pi, nan=0.5), _CLIP, 1 - _CLIP)
        table = np.empty((S, 2))
        table[:, 1] = np.log1p(-fr) - np.log(fa)  # log P(l=1 | R=1) / P(l=1 | R=0)
        table[:, 0] = np.log(fr) - np.log1p(-fa)
        logit = (np.log(pi) - np.log1p(-pi))[e_node] + np.bincount(e_item, weights=table.ravel()[e_sl], minlength=E)
        return expit(logit)

    # Start: majority vote, or, where the node has gold, an E-step from the gold estimates.
    with np.errstate(invalid="ignore", divide="ignore"):
        q = np.bincount(e_item, weights=e_label, minlength=E) / np.bincount(e_item, minlength=E)
    has_gold = kn > 0
    if E and has_gold[e_node].any():
        mv0, mv1, _ = m_step(q)
        seeds = []
        for r, wrong in ((0, 1), (1, 0)):  # (class, the label that is an error in it)
            cascade = [kc[:, r, :], _pool(kc[:, r, :], slot_node, V), _pool((mv0, mv1)[r], slot_node, V)]
            k, n = cascade[0][:, wrong].copy(), cascade[0].sum(1)
            for counts in cascade[1:]:
                fill = n == 0
                k[fill], n[fill] = counts[fill, wrong], counts[fill].sum(1)
            seeds.append((a + k) / (a + b + n))
        q = np.where(has_gold[e_node], e_step(seeds[0], seeds[1], (1 + kn1) / (2 + kn)), q)
    iterations = np.zeros(V, dtype=np.int64)
    converged = np.ones(V, dtype=bool)
    previous = None
    if E:
        moving = en > 0  # nodes without latent items have nothing to iterate
        for it in range(1, max_iter + 1):
            c0, c1, pi = m_step(q)
            fa, fr = rates(c0, c1)
            if previous is not None:
                change = np.abs(np.nan_to_num(pi - previous[2]))
                np.maximum.at(change, slot_node, np.maximum(np.abs(fa - previous[0]), np.abs(fr - previous[1])))
                settled = moving & (change <= tol)
                iterations[settled] = it  # the iteration at which the node's largest change fell to tol
                moving &= ~settled
            previous = (fa, fr, pi)
            if not moving.any():
                break
            q = e_step(fa, fr, pi)
        iterations[moving] = max_iter
        converged = ~moving
    c0, c1, pi = m_step(q)
    counts = np.stack([c0[:, 1], c0.sum(1), c1[:, 0], c1.sum(1)], axis=1)
    information, pooled = _information(counts, c0, c1, pi, kn, kn1, en, e_item, e_sl, e_node, slot_node, V,
                                       e_step, m_step, rates)  # fmt: skip
    return EMResult(counts=counts, information=information, pooled=pooled, pi=pi, iterations=iterations,
                    converged=converged, q=q)  # fmt: skip


def _pool(counts: np.ndarray, slot_node: np.ndarray, V: int) -> np.ndarray:
    """Each slot's node total of ``counts`` (per slot, 2 columns)."""
    total = np.zeros((V, counts.shape[1]))
    np.add.at(total, slot_node, counts)
    return total[slot_node]


def _information(
    counts: np.ndarray, c0: np.ndarray, c1: np.ndarray, pi: np.ndarray, kn: np.ndarray, kn1: np.ndarray,
    en: np.ndarray, e_item: np.ndarray, e_sl: np.ndarray, e_node: np.ndarray, slot_node: np.ndarray, V: int,
    e_step: Callable[..., np.ndarray], m_step: Callable[..., tuple[np.ndarray, np.ndarray, np.ndarray]],
    rates: Callable[..., tuple[np.ndarray, np.ndarray]],
) -> tuple[np.ndarray, np.ndarray]:
    """The information shares of every rate, ``(S, 2)``, and of every node's pooled rates,
    ``(V, 2)`` (module docstring), from the fixed point's counts and the EM's own steps."""
    S, E = len(slot_node), len(e_node)
    fa, fr = rates(c0, c1)
    n0, n1 = counts[:, 1], counts[:, 3]
    # The maximum-likelihood point, half a count inside (0, 1) where it is on the boundary.
    fa = np.clip(fa, 0.5 / (n0 + 1), 1 - 0.5 / (n0 + 1))
    fr = np.clip(fr, 0.5 / (n1 + 1), 1 - 0.5 / (n1 + 1))
    items = kn + en
    with np.errstate(invalid="ignore", divide="ignore"):
        pi = np.clip(np.nan_to_num(pi, nan=0.5), 0.5 / (items + 1), 1 - 0.5 / (items + 1))
    q = e_step(fa, fr, pi) if E else np.zeros(0)
    d0, d1, _ = m_step(q)
    q_items = kn1 + np.bincount(e_node, weights=q, minlength=V)
    with np.errstate(invalid="ignore", divide="ignore"):  # complete-data information
        ic_pi = np.nan_to_num(q_items / pi**2 + (items - q_items) / (1 - pi) ** 2)
    ic_fa = d0[:, 1] / fa**2 + d0[:, 0] / (1 - fa) ** 2
    ic_fr = d1[:, 0] / fr**2 + d1[:, 1] / (1 - fr) ** 2
    share = np.ones((S, 2))
    pooled = np.ones((V, 2))
    order = np.argsort(slot_node, kind="stable")  # slots grouped by node
    starts = np.searchsorted(slot_node[order], np.arange(V + 1))
    rank = np.empty(S, dtype=np.int64)  # a slot's place among its node's slots
    rank[order] = np.arange(S) - starts[slot_node[order]]
    if E:
        s, lab = e_sl // 2, (e_sl % 2).astype(float)
        root = np.sqrt(q * (1 - q))  # the missing information is sum_i (root_i d_i) (root_i d_i)^T
        d_pi = 1 / (pi * (1 - pi))
        d_fa = -(lab / fa[s] - (1 - lab) / (1 - fa[s])) * root[e_item]  # d_i: score at R = 1 minus at R = 0
        d_fr = ((1 - lab) / fr[s] - lab / (1 - fr[s])) * root[e_item]
        item_order = np.argsort(e_node, kind="stable")  # latent items grouped by node
        item_starts = np.searchsorted(e_node[item_order], np.arange(V + 1))
        place = np.empty(E, dtype=np.int64)
        place[item_order] = np.arange(E)
        label_place = place[e_item]
        label_order = np.argsort(label_place, kind="stable")  # labels grouped by item, items by node
        label_place = label_place[label_order]
        c_item = d_pi[e_node] * root  # item i's pi entry of root_i d_i
    for v in np.flatnonzero(en > 0):  # a node without latent items keeps every bit: share 1
        slots = order[starts[v] : starts[v + 1]]
        J = len(slots)
        ic_v = np.concatenate([[ic_pi[v]], ic_fa[slots], ic_fr[slots]])  # local: pi, fa by rank, fr by rank
        dense = len(ic_v) <= MAX_DENSE_PARAMETERS
        la, lb = np.searchsorted(label_place, [item_starts[v], item_starts[v + 1]])
        at = label_order[la:lb]
        missing = _missing(c_item[item_order[item_starts[v] : item_starts[v + 1]]], label_place[la:lb]
                           - item_starts[v], rank[s[at]], d_fa[at], d_fr[at], c_item[e_item[at]], J, dense)  # fmt: skip
        keep = ic_v > 0  # a rate with no labels in its class: nothing to share
        if dense:
            observed = np.diag(ic_v[keep]) - missing[np.ix_(keep, keep)]
        else:
            observed = ic_v[keep] - missing[keep]
        # columns: each parameter alone, then the pooled rates' weights (their labels in the class)
        weights = np.zeros((len(ic_v), 2))
        weights[1 : 1 + J, 0] = counts[slots, 1]
        weights[1 + J :, 1] = counts[slots, 3]
        U = np.concatenate([np.eye(len(ic_v))[:, keep], weights], axis=1)[keep]
        observed_variance = (_inverse_form if dense else _diagonal_form)(observed, U)
        complete_variance = ((U**2) / ic_v[keep][:, None]).sum(0)
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = np.where(np.isfinite(observed_variance) & (observed_variance > 0),
                             complete_variance / observed_variance, 0.0)  # fmt: skip
        ratio = np.clip(np.nan_to_num(ratio), 0.0, 1.0)
        full = np.ones(len(ic_v))
        full[keep] = ratio[: int(keep.sum())]
        share[slots, 0], share[slots, 1] = full[1 : 1 + J], full[1 + J :]
        for column in range(2):
            if weights[:, column].any():
                pooled[v, column] = ratio[int(keep.sum()) + column]
    return share, pooled


def _missing(c: np.ndarray, item: np.ndarray, rank: np.ndarray, a: np.ndarray, b: np.ndarray, c_label: np.ndarray,
             J: int, dense: bool) -> np.ndarray:
    """One node's missing information ``sum_i x_i x_i^T`` (local parameters pi, fa by rank, fr by
    rank), where item i's ``x_i`` has ``c_i`` at pi and, for each of its labels, ``a`` at the
    labeller's fa and ``b`` at its fr. ``item`` (sorted) and ``rank`` are per label; ``c_label``
    is the label's item's ``c``. Only the diagonal unless ``dense``.

    Pairs of labels on one item are summed offset by offset (the k-th label with the
    (k + d)-th), so the work is the number of such pairs, without a dense matrix per item."""
    P = 1 + 2 * J
    if not dense:
        out = np.zeros(P)
        out[0] = np.sum(c**2)
        out[1 : 1 + J] = np.bincount(rank, weights=a**2, minlength=J)
        out[1 + J :] = np.bincount(rank, weights=b**2, minlength=J)
        return out
    out = np.zeros((P, P))
    out[0, 0] = np.sum(c**2)
    out[0, 1 : 1 + J] = out[1 : 1 + J, 0] = np.bincount(rank, weights=c_label * a, minlength=J)
    out[0, 1 + J :] = out[1 + J :, 0] = np.bincount(rank, weights=c_label * b, minlength=J)
    fa, fr = slice(1, 1 + J), slice(1 + J, P)
    for block, weights in ((out[fa, fa], a * a), (out[fr, fr], b * b), (out[fa, fr], a * b)):
        block[np.diag_indices(J)] += np.bincount(rank, weights=weights, minlength=J)
    out[fr, fa] = out[fa, fr].T
    pairs = {key: np.zeros(J * J) for key in ("aa", "ab", "ba", "bb")}
    later = np.flatnonzero(item[1:] == item[:-1])  # labels with a next label on the same item
    d = 1
    while len(later):
        j, k = later, later + d  # label j and the label d places after it, on one item
        cell = rank[j] * J + rank[k]
        for key, weights in (("aa", a[j] * a[k]), ("ab", a[j] * b[k]), ("ba", b[j] * a[k]), ("bb", b[j] * b[k])):
            pairs[key] += np.bincount(cell, weights=weights, minlength=J * J)
        d += 1
        later = later[(later + d < len(item))]
        later = later[item[later + d] == item[later]]
    aa, ab, ba, bb = (pairs[key].reshape(J, J) for key in ("aa", "ab", "ba", "bb"))
    out[fa, fa] += aa + aa.T
    out[fr, fr] += bb + bb.T
    cross = ab + ba.T  # (fa_s, fr_t): a of s's label with b of t's, in either order on the item
    out[fa, fr] += cross
    out[fr, fa] += cross.T
    return out


def _inverse_form(observed: np.ndarray, U: np.ndarray) -> np.ndarray:
    """u^T I_obs^-1 u for each column u of U; infinite where u leans on a direction the
    labels do not identify (an eigenvalue that is zero, or negative by rounding)."""
    scale = np.sqrt(np.diag(observed).clip(min=0))
    scale[scale == 0] = 1.0
    values, vectors = np.linalg.eigh(observed / np.outer(scale, scale))  # scaled: the rates' units differ
    null = values <= 1e-9 * max(values.max(), 1e-300)
    proj = vectors.T @ (U / scale[:, None])
    out = (proj[~null] ** 2 / values[~null, None]).sum(0)
    leans = (proj[null] ** 2).sum(0) > 1e-9 * (proj**2).sum(0)
    return np.where(leans, np.inf, out)


def _diagonal_form(diagonal: np.ndarray, U: np.ndarray) -> np.ndarray:
    """The same from the diagonal of I_obs alone (each parameter's variance given the others)."""
    bad = ((diagonal <= 0)[:, None] & (U != 0)).any(0)
    out = (U**2 / np.where(diagonal > 0, diagonal, np.inf)[:, None]).sum(0)
    return np.where(bad, np.inf, out)
