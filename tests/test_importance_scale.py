"""Importance on deep and large trees: the scan over runs of one-child nodes and the grouped
pass against the former pass of one round per group (kept here as the reference) and
against exact reanalysis (docs/bounds.md section 6)."""

from __future__ import annotations

import copy
import importlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tree_strategies import tree_specs

import rrm_theory as rrm
from rrm_theory._kernel import apply_coverage, held_rule
from rrm_theory.exact import analysis_from, forward
from rrm_theory.importance import PARAMETERS, _adjoint, _by_extremes, _perfect, _segmented_prefix, _variant

TOL = 1e-12


def reference_adjoint(run, root) -> dict[str, np.ndarray]:
    """The former reverse pass: one round per group, one child position and (y, r) at a time."""
    c = run.plan.c
    lp, pu, pv, pr = run.lp, run.pu, run.pv, run.pr
    n = c.size
    D = np.zeros((n, 2, 2, 2))
    defined = np.array([root.false_accept is not None, root.false_reject is not None])
    D[0, 0, 0, 1] = float(defined[0])
    D[0, 1, 1, 0] = float(defined[1])
    keep = np.exp(run.plan.log_keep)
    others = np.where(run.plan.events.forced, 0.0, 1.0)
    if run.plan.events.influence_always:
        others = others * (1.0 - c.exposure)
    fa, fr, audit = c.false_accept, c.false_reject, c.audit
    Dv = np.zeros_like(D)
    inner = np.flatnonzero(c.shape >= 0)  # every internal node by (height, rule), as the exact pass groups them
    key = c.height[inner] * max(1, len(c.shapes)) + c.shape[inner]
    inner, key = inner[np.argsort(key, kind="stable")], np.sort(key, kind="stable")
    groups = [(g, c.shapes[c.shape[g[0]]].weights, c.shapes[c.shape[g[0]]].threshold)
              for g in np.split(inner, np.flatnonzero(np.diff(key)) + 1) if len(g)]  # fmt: skip
    for nodes, weights, T in reversed(groups):
        Dv[nodes] = (1.0 - audit[nodes])[:, None, None, None] * D[nodes]
        kids = c.first_child[nodes][:, None] + np.arange(len(weights))
        k, a, b = keep[nodes][:, None], fa[nodes][:, None], fr[nodes][:, None]
        silent0, silent1 = (1.0 - a) * k, b * k
        Du = np.empty_like(Dv[nodes])
        Du[..., 0] = Dv[nodes][..., 0] * silent0[:, None] + Dv[nodes][..., 1] * (1.0 - silent0)[:, None]
        Du[..., 1] = Dv[nodes][..., 0] * silent1[:, None] + Dv[nodes][..., 1] * (1.0 - silent1)[:, None]
        G, m = len(nodes), len(weights)
        if m == 1:
            lp_h = np.where(np.eye(2)[None, None, :, :] == 1, 0.0, -np.inf).repeat(G, 0)
            pu_h = np.broadcast_to(np.eye(2)[None, None, None, :, None, :], (G, 1, 2, 2, 2, 2))
        else:
            lp_h, pu_h = held_rule(lp[kids], pr[kids], weights, T)
        lp_x = np.broadcast_to(lp_h[:, :, :, None, :], (G, m, 2, 2, 2)).reshape(-1, 2)
        lp_c, pu_c = apply_coverage(lp_x, np.ascontiguousarray(pu_h).reshape(-1, 2, 2),
                                    np.repeat(c.coverage[nodes], m * 4))  # fmt: skip
        lp_held, pu_held = lp_c.reshape(G, m, 2, 2, 2), pu_c.reshape(G, m, 2, 2, 2, 2)
        for j in range(m):
            child = kids[:, j]
            for y in (0, 1):
                for r in (0, 1):
                    lp_f, pu_f = lp_held[:, j, y, r], pu_held[:, j, y, r]
                    with np.errstate(invalid="ignore"):
                        share = np.exp(lp[child, y][:, None] + lp_f - lp[nodes])
                    share = np.where(np.isfinite(lp[nodes]) & np.isfinite(lp_f), share, 0.0)
                    D[child, :, y, r] = np.einsum("gmyu,gyu->gm", Du, share[:, :, None] * pu_f)
    leaves = np.flatnonzero(c.is_leaf)
    Dv[leaves] = (1.0 - audit[leaves])[:, None, None, None] * D[leaves]
    diff = Dv[:, :, :, 1] - Dv[:, :, :, 0]
    pw0 = pu[:, :, 1] * fr[:, None] + pu[:, :, 0] * (1.0 - fa[:, None])
    d = {
        "false_accept": np.einsum("vy,vmy->vm", keep[:, None] * pu[:, :, 0], diff),
        "false_reject": -np.einsum("vy,vmy->vm", keep[:, None] * pu[:, :, 1], diff),
        "deception": np.einsum("vy,vmy->vm", others[:, None] * pw0, diff),
        "audit": np.einsum("vmyr,vyr->vm", D, np.eye(2)[None] - pv),
    }
    perfect = np.einsum("vmyx,vyx->vm", Dv, pu - pv)
    failed = np.einsum("vmyx,vyx->vm", Dv, np.array([[0.0, 1.0], [0.0, 1.0]])[None] - pv)
    base = np.array([root.false_accept or 0.0, root.false_reject or 0.0])
    undefined = np.where(defined, 0.0, np.nan)
    arrays = {}
    for m, name in enumerate(("false_accept", "false_reject")):
        for p in PARAMETERS:
            arrays[f"d_{name}/{p}"] = d[p][:, m] + undefined[m]
        arrays[f"{name}_if_perfect"] = np.clip(base[m] + perfect[:, m], 0.0, 1.0) + undefined[m]
    arrays["false_accept_if_failed"] = np.clip(base[0] + failed[:, 0], 0.0, 1.0) + undefined[0]
    for name in ("false_accept", "false_reject"):
        arrays[f"d_{name}/audit"][0] = np.nan
    return arrays


def reference_extremes(tree, nodes, root) -> dict[str, np.ndarray]:
    """The former exact differences: 9 exact analyses of edited copies of the graph per node."""

    def metrics(changes, node, perfect=False):
        G = _perfect(tree, node) if perfect else _variant(tree)
        G.nodes[node].update(changes)
        return rrm.exact_analysis(G).root

    def value(x):
        return np.nan if x is None else x

    names = [f"d_{m}/{p}" for m in ("false_accept", "false_reject") for p in PARAMETERS]
    names += ["false_accept_if_perfect", "false_reject_if_perfect", "false_accept_if_failed"]
    arrays = {k: np.full(len(nodes), np.nan) for k in names}
    for i, v in enumerate(nodes):
        for p in PARAMETERS:
            if p == "audit" and i == 0:
                continue
            lo, hi = metrics({p: 0.0}, v), metrics({p: 1.0}, v)
            for m in ("false_accept", "false_reject"):
                a, b = getattr(lo, m), getattr(hi, m)
                arrays[f"d_{m}/{p}"][i] = np.nan if a is None else b - a
            if p == "deception":
                arrays["false_accept_if_failed"][i] = value(hi.false_accept)
        best = metrics({}, v, perfect=True)
        arrays["false_accept_if_perfect"][i] = value(best.false_accept)
        arrays["false_reject_if_perfect"][i] = value(best.false_reject)
    return arrays


def assert_same(got: dict[str, np.ndarray], want: dict[str, np.ndarray], tol: float = TOL) -> None:
    assert got.keys() == want.keys()
    for key in want:
        a, b = got[key], want[key]
        assert a.shape == b.shape, key
        assert np.array_equal(np.isnan(a), np.isnan(b)), key
        ok = ~np.isnan(b)
        assert np.all(np.abs(a[ok] - b[ok]) <= tol), (key, np.abs(a[ok] - b[ok]).max())


def both(tree) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    run = forward(tree)
    assert run.plan.trivial
    root = analysis_from(tree, run).root
    return _adjoint(run, root), reference_adjoint(run, root)


def trivial(spec: dict, rng: np.random.Generator) -> dict:
    """The spec with its shared events made constants (probability 0 or 1): no conditioning."""
    spec = copy.deepcopy(spec)
    spec["influence"] = float(rng.integers(2)) if "influence" in spec else 0.0
    for group in spec.get("blind_spots", {}).values():
        group["probability"] = float(rng.integers(2))
    return spec


# Values that stress the engine: exact zeros and ones, tiny rates, ordinary ones.
RATES = (0.0, 1.0, 1e-30, 1e-12, 0.01, 0.3, 0.5)


def draw(rng: np.random.Generator, values: tuple[float, ...] = RATES, plain: float = 0.5) -> float:
    return float(rng.uniform()) if rng.uniform() < plain else float(values[rng.integers(len(values))])


def random_tree(rng: np.random.Generator, n: int, *, extend: float = 0.6, features: bool = True) -> dict:
    """A random spec with runs of one-child nodes among branching nodes, every feature on:
    node i hangs below node i - 1 with probability ``extend``, else below any earlier node."""
    parent = [-1] + [i - 1 if rng.uniform() < extend else int(rng.integers(i)) for i in range(1, n)]
    kids = [[] for _ in range(n)]
    for i in range(1, n):
        kids[parent[i]].append(i)
    nodes: dict[str, dict] = {}
    for i in range(n):
        t: dict = {"false_accept": draw(rng), "false_reject": draw(rng)}
        if i:
            t["parent"] = f"n{parent[i]}"
        if features:
            t["deception"] = draw(rng, (0.0, 0.0, 1.0, 1e-20, 0.1), plain=0.3)
            t["exposure"] = draw(rng, (0.0, 1.0, 0.2), plain=0.3)
            if i:
                t["audit"] = draw(rng, (0.0, 0.0, 1.0, 1e-20, 0.2), plain=0.3)
        if kids[i]:
            k = len(kids[i])
            kind = ["all", "any", "majority", "at_least", "weighted"][rng.integers(5)]
            t["rule"] = f"at_least:{int(rng.integers(1, k + 1))}" if kind == "at_least" else kind
            if kind == "weighted":
                t["threshold"] = float([0.25, 0.5, 0.75, 1.0, 0.3][rng.integers(5)])
            if features:
                t["coverage"] = draw(rng, (1.0, 1.0, 0.0, 0.999, 1 - 1e-12), plain=0.3)
        else:
            t["prior"] = draw(rng, (0.0, 1.0, 1e-300, 0.5, 0.9))
        nodes[f"n{i}"] = t
    for i in range(n):
        if kids[i] and nodes[f"n{i}"]["rule"] == "weighted":
            for j in kids[i]:
                nodes[f"n{j}"]["weight"] = float([1.0, 2.0, 0.5, 3.0, 0.1][rng.integers(5)])
    spec: dict = {"name": "runs", "nodes": nodes, "influence": float(rng.integers(2)) if features else 0.0}
    if features and n > 1:
        members = [f"n{j}" for j in rng.choice(n, size=min(n, 3), replace=False).tolist()]
        spec["blind_spots"] = {"always": {"probability": 1.0, "members": members[:2]},
                               "never": {"probability": 0.0, "members": members[2:] or members[:1]}}  # fmt: skip
    return spec


@settings(max_examples=80)
@given(tree_specs(max_nodes=8, max_free=60), st.integers(0, 2**32 - 1))
def test_equals_the_former_pass_on_drawn_trees(spec, seed):
    got, want = both(rrm.from_dict(trivial(spec, np.random.default_rng(seed))))
    assert_same(got, want)


@pytest.mark.parametrize("depth", range(1, 51))
def test_equals_the_former_pass_on_chains_with_mixed_features(depth):
    rng = np.random.default_rng(depth)
    got, want = both(rrm.from_dict(random_tree(rng, depth + 1, extend=1.0)))
    assert_same(got, want)


@pytest.mark.parametrize("seed", range(40))
def test_equals_the_former_pass_on_trees_with_runs(seed):
    rng = np.random.default_rng(1000 + seed)
    n = int(rng.integers(2, 400))
    extend = float(rng.choice([0.3, 0.6, 0.9, 0.97]))
    got, want = both(rrm.from_dict(random_tree(rng, n, extend=extend, features=seed % 4 != 0)))
    assert_same(got, want)


def test_parallel_runs_take_the_general_layout():
    # runs side by side interleave in breadth-first order: the anchors come from pointer doubling
    nodes = {"r": {"rule": "majority"}} | {f"m{i}": {"parent": "r", "rule": "any"} for i in range(3)}
    for k in range(9):
        up = f"m{k // 3}"
        for j in range(k % 4 + 3):
            v = f"c{k}-{j}"
            nodes[v] = {"parent": up, "rule": "all", "coverage": 0.9 - 0.1 * j, "audit": 0.05 * j,
                        "false_accept": 0.02 * (j + 1)}  # fmt: skip
            up = v
        nodes[f"leaf{k}"] = {"parent": up, "prior": 0.3 + 0.05 * k}
    tree = rrm.from_dict({"defaults": {"error": 0.1}, "nodes": nodes})
    got, want = both(tree)
    assert_same(got, want)


@pytest.mark.parametrize("seed", range(4))
def test_equals_exact_reanalysis_on_run_heavy_trees(seed):
    # every measure is a difference of two exact analyses (each rate enters affinely)
    rng = np.random.default_rng(seed)
    spec = random_tree(rng, 30, extend=0.8)
    for t in spec["nodes"].values():  # keep the metrics defined and away from the clipped ends
        t["prior"] = float(rng.uniform(0.2, 0.8)) if "prior" in t else None
        t["false_accept"], t["false_reject"] = float(rng.uniform(0, 0.3)), float(rng.uniform(0, 0.3))
        if "coverage" in t:
            t["coverage"] = float(rng.uniform(0.9, 1.0))
    spec["nodes"] = {v: {k: x for k, x in t.items() if x is not None} for v, t in spec["nodes"].items()}
    tree = rrm.from_dict(spec)
    result = rrm.importance(tree)
    assert result.method == "adjoint"
    order = list(rrm.compile_tree(tree).nodes)
    want = _by_extremes(tree, order, result.root)
    for i, v in enumerate(result.ranked):
        j = order.index(v)
        for key, values in want.items():
            assert result.array(key)[i] == pytest.approx(values[j], abs=1e-12, nan_ok=True), (seed, v, key)


def test_deep_chain_is_faithful():
    # P(Y = 1) = 0.9**5000 (about 1e-229) and rates of 1e-30: finite, in range, as the former pass
    tree = rrm.chain(5000, internal={"coverage": 0.9, "audit": 0.01}, false_accept=1e-30, false_reject=0.02,
                     prior=0.5)  # fmt: skip
    got, want = both(tree)
    assert_same(got, want, tol=1e-12)
    for key, a in got.items():
        assert np.isfinite(a[1:]).all(), key
        if "_if_" in key:
            assert ((a >= 0) & (a <= 1)).all(), key
    result = rrm.importance(tree)
    assert result["L2500_0"].false_accept_if_perfect <= result.root.false_accept


@pytest.mark.parametrize("k", [1, 5, 63, 64, 65, 130, 4097, 64 * 64 + 3, 64 * 1100, 64 * 1100 + 7])
def test_segmented_prefix_equals_sequential_products(k):
    rng = np.random.default_rng(k)
    E = rng.uniform(0.0, 1.0, size=(2, 2, 2, k))
    reset = rng.uniform(size=k) < 0.05
    reset[0] = True
    E[..., reset] = np.eye(2)[None, :, :, None]
    want = E.copy()
    for i in range(1, k):
        if not reset[i]:
            want[..., i] = np.einsum("wij,wjk->wik", E[..., i], want[..., i - 1])
    got = E.copy()
    _segmented_prefix(got, reset)
    assert np.allclose(got, want, rtol=1e-13, atol=0.0)


def test_public_records_after_the_scan():
    tree = rrm.chain(300, error=0.01, prior=0.5)
    result = rrm.importance(tree)
    assert len(result) == 301 and sorted(result.ranked) == sorted(tree)
    record = result["L150_0"]
    assert record.node == "L150_0" and record.d_false_accept["audit"] is not None
    assert result[result.ranked[0]] == result.nodes[0] == result.top(1)[0]
    assert result.to_list(limit=2)[0]["node"] == str(result.ranked[0])
    assert result["L0_0"].d_false_accept["audit"] is None


def extremes_both(tree):
    nodes = list(rrm.compile_tree(tree).nodes)
    root = rrm.exact_analysis(tree).root
    return _by_extremes(tree, nodes, root), reference_extremes(tree, nodes, root)


@settings(max_examples=50)
@given(tree_specs(max_nodes=6, max_free=60))
def test_batched_extremes_equal_the_former_analyses(spec):
    got, want = extremes_both(rrm.from_dict(spec))
    assert_same(got, want)


def test_batched_extremes_in_small_batches_and_many_groups(monkeypatch):
    imp = importlib.import_module("rrm_theory.importance")  # (rrm_theory.importance is the function)
    monkeypatch.setattr(imp, "_BATCH_NODES", 1)  # every loop over batches takes several rounds
    rng = np.random.default_rng(7)
    spec = random_tree(rng, 12, extend=0.4)
    spec["influence"] = 0.3
    names = list(spec["nodes"])
    spec["blind_spots"] = {  # node 3 is in seven groups that may fire: its perfect variant is analysed alone
        f"g{k}": {"probability": [0.1, 1.0, 0.0, 0.5][k % 4], "members": sorted({names[3], names[k * 5 % 12]})}
        for k in range(9)
    }
    spec["blind_spots"]["g9"] = {"probability": 0.2, "members": [names[1], names[2], names[4]]}
    spec["blind_spots"]["g10"] = {"probability": 0.05, "members": [names[1], names[2]]}
    tree = rrm.from_dict(spec)
    got, want = extremes_both(tree)
    assert_same(got, want)
    assert rrm.importance(tree).method == "exact-extremes"


def chain_in_high_precision(c, influence_always: bool) -> dict[str, np.ndarray]:
    """The measures of a compiled chain (node i's child is i + 1) computed with 40 digits
    (mpmath): the laws from the leaf up, then D from the root down, each node in turn."""
    import mpmath

    mpmath.mp.dps = 40
    n, F = c.size, lambda x: mpmath.mpf(float(x))
    fa, fr, au = list(map(F, c.false_accept)), list(map(F, c.false_reject)), list(map(F, c.audit))
    keep = [(1 - F(d)) * ((1 - F(e)) if influence_always else 1) for d, e in zip(c.deception, c.exposure)]
    K = [[[(1 - fa[i]) * keep[i], 1 - (1 - fa[i]) * keep[i]], [fr[i] * keep[i], 1 - fr[i] * keep[i]]] for i in range(n)]
    PY, PU, PV, PR = [None] * n, [None] * n, [None] * n, [None] * n
    for i in range(n - 1, -1, -1):
        if i == n - 1:
            p = F(c.prior[i])
            PY[i], PU[i] = [1 - p, p], [[F(1), F(0)], [F(0), F(1)]]
        else:
            k, cov = i + 1, F(c.coverage[i])
            J1 = [cov * PY[k][1] * PR[k][1][u] for u in (0, 1)]
            J0 = [PY[k][0] * PR[k][0][u] + (1 - cov) * PY[k][1] * PR[k][1][u] for u in (0, 1)]
            PY[i] = [sum(J0), sum(J1)]
            PU[i] = [[J[u] / sum(J) if sum(J) > 0 else F(u == 0) for u in (0, 1)] for J in (J0, J1)]
        PV[i] = [[sum(PU[i][y][u] * K[i][u][x] for u in (0, 1)) for x in (0, 1)] for y in (0, 1)]
        PR[i] = [[au[i] * (x == y) + (1 - au[i]) * PV[i][y][x] for x in (0, 1)] for y in (0, 1)]
    defined = [PY[0][0] > 0, PY[0][1] > 0]
    D = [[[[F(0)] * 2 for _ in (0, 1)] for _ in (0, 1)]]
    D[0][0][0][1], D[0][1][1][0] = F(defined[0]), F(defined[1])
    for i in range(n - 1):
        k, cov = i + 1, F(c.coverage[i])
        S = [[F(0)] * 2 for _ in (0, 1)]  # S[Y][y] = P(Y_child = y | Y = Y)
        if PY[i][0] > 0:
            S[0] = [PY[k][0] / PY[i][0], (1 - cov) * PY[k][1] / PY[i][0]]
        if PY[i][1] > 0:
            S[1][1] = F(1)
        D.append([[[sum(S[Y][y] * (1 - au[i]) * sum(D[i][m][Y][x] * K[i][r][x] for x in (0, 1)) for Y in (0, 1))
                    for r in (0, 1)] for y in (0, 1)] for m in (0, 1)])  # fmt: skip
    out = {}
    names = ("false_accept", "false_reject")
    base = [PV[0][0][1], PV[0][1][0]]
    keys = [f"d_{m}/{p}" for m in names for p in PARAMETERS]
    for key in keys + ["false_accept_if_perfect", "false_reject_if_perfect", "false_accept_if_failed"]:
        out[key] = np.full(n, np.nan)
    for i in range(n):
        Dv = [[[(1 - au[i]) * D[i][m][y][x] for x in (0, 1)] for y in (0, 1)] for m in (0, 1)]
        diff = [[Dv[m][y][1] - Dv[m][y][0] for y in (0, 1)] for m in (0, 1)]
        others = (1 - F(c.exposure[i])) if influence_always else F(1)
        pw0 = [PU[i][y][1] * fr[i] + PU[i][y][0] * (1 - fa[i]) for y in (0, 1)]
        for m, name in enumerate(names):
            if not defined[m]:
                continue
            out[f"d_{name}/false_accept"][i] = sum(keep[i] * PU[i][y][0] * diff[m][y] for y in (0, 1))
            out[f"d_{name}/false_reject"][i] = -sum(keep[i] * PU[i][y][1] * diff[m][y] for y in (0, 1))
            out[f"d_{name}/deception"][i] = sum(others * pw0[y] * diff[m][y] for y in (0, 1))
            if i:
                out[f"d_{name}/audit"][i] = sum(D[i][m][y][r] * ((y == r) - PV[i][y][r]) for y in (0, 1)
                                                for r in (0, 1))  # fmt: skip
            changed = sum(Dv[m][y][x] * (PU[i][y][x] - PV[i][y][x]) for y in (0, 1) for x in (0, 1))
            out[f"{name}_if_perfect"][i] = min(max(base[m] + changed, 0), 1)
            if m == 0:
                failed = base[0] + sum(PV[i][y][0] * diff[0][y] for y in (0, 1))
                out["false_accept_if_failed"][i] = min(max(failed, 0), 1)
    return out


@pytest.mark.parametrize("seed", range(3))
def test_deep_chain_against_high_precision(seed):
    # depth 1,500 with every feature (P(Y = 1) about 1e-34 at the root where half the coverages are 0.9)
    rng = np.random.default_rng(seed)
    n = 1500
    nodes = {}
    for i in range(n + 1):
        t = {"false_accept": float(rng.choice([1e-30, 0.01, 0.2])), "false_reject": float(rng.uniform(0, 0.1)),
             "deception": float(rng.choice([0.0, 1e-3])), "exposure": float(rng.choice([0.0, 0.01]))}  # fmt: skip
        if i:
            t["parent"], t["audit"] = f"n{i - 1}", float(rng.choice([0.0, 0.05]))
        if i < n:
            t["rule"], t["coverage"] = "all", float(rng.choice([1.0, 0.9]))
        else:
            t["prior"] = 0.6
        nodes[f"n{i}"] = t
    influence = float(seed % 2)
    tree = rrm.from_dict({"name": "deep", "influence": influence, "nodes": nodes})
    c = rrm.compile_tree(tree)
    run = forward(c)
    got = _adjoint(run, analysis_from(c, run).root)
    want = chain_in_high_precision(c, influence_always=influence == 1.0)
    for key, w in want.items():
        w = w.astype(float)
        ok = ~np.isnan(w)
        assert np.array_equal(np.isnan(got[key]), ~ok), key
        err = np.abs(got[key][ok] - w[ok])
        assert (err <= 1e-12 + 1e-10 * np.abs(w[ok])).all(), (key, err.max())


def test_the_json_list_from_columns_is_every_record_as_a_dict():
    tree = rrm.balanced(4, 3, rule="majority", error=0.05, prior=0.7)  # 121 nodes: the column route
    ranked = rrm.importance(tree)
    for limit in (None, 100, 3):
        records = ranked.nodes if limit is None else ranked.top(limit)
        assert ranked.to_list(limit) == [r.to_dict() for r in records]
