"""Robustness at scale: the array passes against the per-node code they replaced and the brute force.

The adversary's programme now takes runs of one-child nodes (chains) whole, by multiplying
their maps in blocks, and the most likely bad outcome and its cheapest corruption run on
arrays (groups of nodes with several children at once, runs in a few array operations).
``scalar_robustness`` below is the code that ran before: one round of the programme per
level, one Python step per node. On every tree the new code must give the same outcome
(every variable, in the same order), the same fewest corruptions and chosen evaluators, bit
for bit the same outcome probability, and the same curve to rounding (the maps of a run are
multiplied in another order). tests/reference_adversary.py is the brute force.
"""

from __future__ import annotations

import math
import pickle
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reference_adversary import min_corruptions_on, most_likely_bad_outcome, worst_false_accept

import rrm_theory as rrm
from rrm_theory import _adversary_dp as dp
from rrm_theory._rule_program import rule_program
from rrm_theory.errors import RRMError
from rrm_theory.exact import forward
from rrm_theory.strategies import FEATURES, spec_dicts

# ----------------------------------------------------------------- the per-node reference


def _per_level_cost_law(c: Any, B: int, root_corruptible: bool) -> tuple[np.ndarray, float]:
    """The programme as it ran before: every group of one height and rule in turn, a
    one-child node passing its child's table through its own round."""
    run = forward(c)
    plan = run.plan
    table = np.zeros((plan.total, 2, 2, B + 1))
    up = table if plan.trivial else np.zeros((plan.up_total, 2, 2, B + 1))
    keep = np.exp(plan.log_keep)

    def finish(inst: np.ndarray, law_u: np.ndarray) -> None:
        node = plan.node_of[inst]
        types = dp._response_types(keep[inst], c.false_accept[node], c.false_reject[node])
        table[inst] = dp._report_table(law_u, types, c.audit[node], (node != 0) | root_corruptible, B)
        if not plan.trivial:
            np.add.at(up, plan.up_index[inst], np.exp(plan.log_lift[inst])[:, None, None, None] * table[inst])

    leaves = plan.of(np.flatnonzero(c.is_leaf))
    prior = c.prior[plan.node_of[leaves]]
    law = np.zeros((len(leaves), 2, 2, B + 1))
    law[:, 0, 0, B], law[:, 1, 1, B] = 1.0 - prior, prior
    finish(leaves, law)
    inner = np.flatnonzero(c.shape >= 0)
    key = c.height[inner] * max(1, len(c.shapes)) + c.shape[inner]
    for k in np.unique(key):  # by height, then rule form
        nodes = inner[key == k]
        form = c.shapes[int(c.shape[nodes[0]])]
        inst = plan.of(nodes)
        kids = plan.children(inst, len(form.weights))
        if len(form.weights) == 1:
            rule_law = up[kids[:, 0]].copy()
        else:
            program = rule_program(form.weights, form.threshold)
            machines = tuple(dp._Frontier(program, B, d, dp.MAX_STATES, "n", [dp.MAX_WORK], 1) for d in (True, False))
            rule_law = dp._combine(machines, up[kids])
        cov = c.coverage[plan.node_of[inst]][:, None, None]
        law = np.empty_like(rule_law)
        law[:, 1] = cov * rule_law[:, 1]
        law[:, 0] = rule_law[:, 0] + (1.0 - cov) * rule_law[:, 1]
        finish(inst, law)
    root = plan.of(np.array([0]))
    bad = (np.exp(plan.log_weight[root])[:, None, None] * table[root][:, 0]).sum(axis=0)
    out = np.zeros(B + 1)
    out[0] = bad[1].sum()
    out[1:] += bad[0, :B]
    return out, float(bad.sum())


def _mode(p: float) -> int:
    return int(p > 0.5)


def _log(p: float) -> float:
    return math.log(p) if p > 0 else -math.inf


def _scalar_most_likely_bad(c: Any, root_corruptible: bool) -> tuple[dict, float, int | None, list]:
    outcome: dict[tuple, int] = {}
    log_p = 0.0
    outcome[("M",)] = _mode(c.influence)
    log_p += _log(c.influence if outcome[("M",)] else 1.0 - c.influence)
    for name, p, _ in c.groups:
        outcome[("B", name)] = _mode(p)
        log_p += _log(p if outcome[("B", name)] else 1.0 - p)
    for i, v in enumerate(c.nodes):
        for key, p in (("FA", c.false_accept[i]), ("FR", c.false_reject[i]), ("D", c.deception[i]),
                       ("X", c.exposure[i]), ("A", c.audit[i])):  # fmt: skip
            outcome[(key, v)] = _mode(p)
            log_p += _log(p if outcome[(key, v)] else 1.0 - p)
    truth_log, truths = _scalar_map_truths(c)
    if truth_log == -math.inf:
        return {}, 0.0, None, []
    outcome.update(truths)
    cost, chosen = _scalar_min_corruptions(c, outcome, root_corruptible)
    return outcome, math.exp(log_p + truth_log), cost, chosen


def _scalar_map_truths(c: Any) -> tuple[float, dict]:
    n = c.size
    best = np.full((n, 2), -math.inf)
    choice: list[Any] = [None] * n
    for i in range(n - 1, -1, -1):
        if c.n_children[i] == 0:
            best[i] = (_log(1.0 - c.prior[i]), _log(c.prior[i]))
            continue
        kids = list(range(c.first_child[i], c.first_child[i] + c.n_children[i]))
        form = c.forms[i]
        if len(kids) == 1:
            rule_best, rule_pick = (float(best[kids[0], 0]), float(best[kids[0], 1])), ((0,), (1,))
        else:
            rule_best, rule_pick = _scalar_knapsack([best[k] for k in kids], form.weights, form.threshold)
        cov = c.coverage[i]
        options = [(_log(1.0 - cov) + rule_best[y], (0, y)) for y in (0, 1)] + [(_log(cov) + rule_best[0], (1, 0))]
        bad = max(options, key=lambda o: o[0])
        best[i] = (bad[0], _log(cov) + rule_best[1])
        choice[i] = (bad[1], (1, 1), rule_pick)
    if best[0, 0] == -math.inf:
        return -math.inf, {}
    truths: dict[tuple, int] = {}
    stack = [(0, 0)]
    while stack:
        i, y = stack.pop()
        if c.n_children[i] == 0:
            truths[("Y", c.nodes[i])] = y
            continue
        h, rule_y = choice[i][y]
        truths[("H", c.nodes[i])] = h
        for j, yc in enumerate(choice[i][2][rule_y]):
            stack.append((int(c.first_child[i]) + j, yc))
    return float(best[0, 0]), truths


def _scalar_knapsack(child_best: list, weights: tuple[int, ...], T: int) -> tuple:
    best = np.array(child_best, dtype=float)
    if all(w == 1 for w in weights):
        return _scalar_count_knapsack(best, T)
    program = rule_program(weights, T)
    value = np.zeros(1)
    choices = []
    for j in range(len(weights)):
        cand = np.concatenate([value + best[j, 0], value + best[j, 1]])
        target = np.concatenate(program.maps[j])
        order = np.lexsort((-cand, target))
        first = order[np.concatenate([[True], target[order][1:] != target[order][:-1]])]
        new = np.full(program.sizes[j + 1], -math.inf)
        new[target[first]] = cand[first]
        pick = np.zeros(program.sizes[j + 1], dtype=np.int64)
        pick[target[first]] = first
        choices.append(pick)
        value = new
    out_value, out_picks = [], []
    for final in (0, 1):
        picks, cls = [], final
        for j in range(len(weights) - 1, -1, -1):
            y, cls = divmod(int(choices[j][cls]), program.sizes[j])
            picks.append(y)
        out_value.append(float(value[final]))
        out_picks.append(tuple(reversed(picks)))
    return (out_value[0], out_value[1]), (out_picks[0], out_picks[1])


def _scalar_count_knapsack(best: np.ndarray, T: int) -> tuple:
    n = len(best)
    prefer = (best[:, 1] > best[:, 0]).astype(np.int64)
    with np.errstate(invalid="ignore"):
        loss = np.abs(best[:, 1] - best[:, 0])
    loss = np.where(np.isnan(loss), math.inf, loss)
    out_value, out_picks = [], []
    for accept in (0, 1):
        picks = prefer.copy()
        count = int(picks.sum())
        need = (T - count) if accept else (count - T + 1)
        if need > 0:
            movable = np.flatnonzero(picks == (0 if accept else 1))
            if len(movable) < need:
                out_value.append(-math.inf)
                out_picks.append(tuple(int(x) for x in picks))
                continue
            cheapest = movable[np.argsort(loss[movable], kind="stable")[:need]]
            picks[cheapest] = 1 - picks[cheapest]
        out_value.append(float(best[np.arange(n), picks].sum()))
        out_picks.append(tuple(int(x) for x in picks))
    return (out_value[0], out_value[1]), (out_picks[0], out_picks[1])


def _scalar_min_corruptions(c: Any, outcome: dict, root_corruptible: bool) -> tuple[int | None, list]:
    n = c.size
    groups_of: dict[int, list[str]] = {}
    for name, _, members in c.groups:
        for m in members.tolist():
            groups_of.setdefault(m, []).append(name)
    Y, R = [0] * n, [0] * n
    flip: list[tuple[int, ...] | None] = [None] * n
    root_V, root_flip = 0, None
    for i in range(n - 1, -1, -1):
        v = c.nodes[i]
        if c.n_children[i] == 0:
            Y[i] = outcome[("Y", v)]
            U, flip_u = Y[i], None
        else:
            kids = list(range(c.first_child[i], c.first_child[i] + c.n_children[i]))
            form = c.forms[i]
            Y[i] = int(sum(w * Y[k] for w, k in zip(form.weights, kids)) >= form.threshold) * outcome[("H", v)]
            seen = sum(w * R[k] for w, k in zip(form.weights, kids))
            U = int(seen >= form.threshold)
            gap = form.threshold - seen if not U else seen - form.threshold + 1
            items = [(w, f) for w, k in zip(form.weights, kids) if R[k] == U and (f := flip[k]) is not None]
            flip_u = _scalar_cheapest(items, gap)
        override = outcome[("D", v)] or (outcome[("M",)] and outcome[("X", v)]) or any(
            outcome[("B", g)] for g in groups_of.get(i, ())
        )
        rho = (int(bool(override or outcome[("FA", v)])), int(bool(override or not outcome[("FR", v)])))
        V = rho[U]
        through = flip_u if rho[1 - U] != V else None
        if V == 0 and (i != 0 or root_corruptible):
            through = (i,)
        if i == 0:
            root_V, root_flip = V, through
        R[i] = Y[i] if outcome[("A", v)] else V
        flip[i] = None if outcome[("A", v)] else through
    if root_V:
        return 0, []
    if root_flip is None:
        return None, []
    return len(root_flip), sorted((c.nodes[k] for k in root_flip), key=str)


def _scalar_cheapest(items: list, gap: int) -> tuple[int, ...] | None:
    if items and all(w == items[0][0] for w, _ in items):
        need = -(-gap // items[0][0])
        if need > len(items):
            return None
        return tuple(k for _, s in sorted(items, key=lambda item: len(item[1]))[:need] for k in s)
    best: dict[int, tuple[int, ...]] = {0: ()}
    for w, s in items:
        for reached, chosen in list(best.items()):
            key = min(gap, reached + w)
            if key not in best or len(chosen + s) < len(best[key]):
                best[key] = chosen + s
    return best.get(gap)


def scalar_robustness(tree: Any, budget: int, root_corruptible: bool = False) -> dict[str, Any]:
    """What robustness computed before the array passes."""
    c = rrm.compile_tree(tree)
    curve = None
    if rrm.exact_analysis(c).root.false_accept is not None:
        joint, p_bad = _per_level_cost_law(c, budget, root_corruptible)
        curve = [float(x) for x in np.clip(np.cumsum(joint) / p_bad, 0.0, 1.0)]
    outcome, probability, cost, chosen = _scalar_most_likely_bad(c, root_corruptible)
    return {"curve": curve, "min_corruptions": cost, "chosen": chosen, "outcome": outcome,
            "probability": probability}  # fmt: skip


def assert_same_as_scalar(tree: Any, budget: int, root_corruptible: bool = False) -> rrm.Robustness:
    want = scalar_robustness(tree, budget, root_corruptible)
    got = rrm.robustness(tree, budget=budget, root_corruptible=root_corruptible)
    if want["curve"] is None:
        assert got.worst_false_accept is None
    else:
        assert got.worst_false_accept == pytest.approx(want["curve"], rel=1e-12, abs=1e-14)
    assert got.min_corruptions == want["min_corruptions"]
    assert got.chosen == want["chosen"]
    assert got.outcome == want["outcome"] and want["outcome"] == got.outcome
    assert list(got.outcome) == list(want["outcome"])  # the same variables, in the same order
    assert got.outcome_probability == want["probability"]  # the same roundings, in the same order
    return got


# ----------------------------------------------------------------- the same results as before

NICE = st.sampled_from([0.0, 1.0, 0.5, 0.25, 0.1, 0.9, 0.75])  # equal values: ties in the max-product
BUDGETS = st.integers(0, 4)
chain_specs = spec_dicts(min_nodes=1, max_nodes=51, max_branching=1, features=FEATURES, max_groups=3)
nice_chain_specs = spec_dicts(min_nodes=1, max_nodes=51, max_branching=1, features=FEATURES, max_groups=3,
                              rates=NICE, priors=NICE)  # fmt: skip


@settings(max_examples=120, deadline=None)
@given(st.one_of(chain_specs, nice_chain_specs), BUDGETS, st.booleans())
def test_chains_of_depth_up_to_50_equal_the_per_node_code(spec, budget, root_corruptible):
    assert_same_as_scalar(rrm.from_dict(spec), budget, root_corruptible)


@settings(max_examples=120, deadline=None)
@given(st.one_of(spec_dicts(max_nodes=30, features=FEATURES, max_groups=3),
                 spec_dicts(max_nodes=30, features=FEATURES, max_groups=3, rates=NICE, priors=NICE)),
       BUDGETS, st.booleans())  # fmt: skip
def test_random_trees_with_every_feature_equal_the_per_node_code(spec, budget, root_corruptible):
    assert_same_as_scalar(rrm.from_dict(spec), budget, root_corruptible)


@settings(max_examples=80, deadline=None)
@given(spec_dicts(min_nodes=2, max_nodes=60, max_branching=2, features=FEATURES, max_groups=4, rates=NICE,
                  priors=NICE), BUDGETS, st.booleans())  # fmt: skip
def test_thin_trees_with_runs_between_branchings_equal_the_per_node_code(spec, budget, root_corruptible):
    assert_same_as_scalar(rrm.from_dict(spec), budget, root_corruptible)


three_decimals = st.integers(1, 4000).map(lambda k: k / 1000)


@settings(max_examples=80, deadline=None)
@given(spec_dicts(min_nodes=3, max_nodes=14, rules=["weighted", "majority", "at_least", "any"], features=FEATURES,
                  weights=three_decimals, thresholds=st.integers(1, 1000).map(lambda k: k / 1000), max_groups=3),
       BUDGETS)  # fmt: skip
def test_weighted_panels_equal_the_per_node_code(spec, budget):
    """Unequal weights: the programme's knapsack for the truths, the small knapsack for the flips."""
    assert_same_as_scalar(rrm.from_dict(spec), budget)


PROFILES = (  # evaluators repeated along stretches of a chain (as in generated trees)
    {"false_accept": 0.1, "false_reject": 0.05, "deception": 0.0, "audit": 0.0, "coverage": 1.0},
    {"false_accept": 0.02, "false_reject": 0.2, "deception": 0.01, "audit": 0.1, "coverage": 0.95},
    {"false_accept": 0.5, "false_reject": 0.5, "deception": 0.0, "audit": 0.0, "coverage": 0.9},
    {"false_accept": 0.9, "false_reject": 0.8, "deception": 0.0, "audit": 0.3, "coverage": 1.0},  # mostly negates
)


@st.composite
def stretched_chains(draw: st.DrawFn) -> dict[str, Any]:
    """A chain of a few stretches of equal evaluators, maybe with blind spots and influence."""
    segments = draw(st.lists(st.tuples(st.integers(0, len(PROFILES) - 1), st.integers(1, 40)), min_size=1, max_size=4))
    profiles = [PROFILES[i] for i, k in segments for _ in range(k)]
    nodes: dict[str, dict] = {}
    for i, profile in enumerate(profiles):
        nodes[f"n{i}"] = {**profile, "rule": draw(st.sampled_from(["all", "any", "majority"]))}
        if i:
            nodes[f"n{i}"]["parent"] = f"n{i - 1}"
    nodes["n0"]["audit"] = 0.0
    nodes[f"n{len(profiles)}"] = {"parent": f"n{len(profiles) - 1}", "prior": draw(NICE), "error": 0.1}
    spec: dict[str, Any] = {"nodes": nodes, "influence": draw(st.sampled_from([0.0, 0.3]))}
    if draw(st.booleans()):
        members = st.lists(st.sampled_from(sorted(nodes)), min_size=1, max_size=3, unique=True)
        spec["blind_spots"] = {f"g{j}": {"probability": 0.2, "members": draw(members)}
                               for j in range(draw(st.integers(1, 2)))}  # fmt: skip
    return spec


@settings(max_examples=60, deadline=None)
@given(stretched_chains(), BUDGETS, st.booleans())
def test_chains_of_equal_stretches_equal_the_per_node_code(spec, budget, root_corruptible):
    """A stretch of k equal links is one map to the power k."""
    assert_same_as_scalar(rrm.from_dict(spec), budget, root_corruptible)


def test_shared_events_that_cut_a_chain():
    """Blind spots and influence split a chain's instances: runs end where several instances read
    or pass up one state, and the runs above wait for those below."""
    nodes: dict[str, dict] = {"n0": {"rule": "all"}}
    for i in range(1, 40):
        nodes[f"n{i}"] = {"parent": f"n{i - 1}", "error": 0.02 + 0.001 * i, "exposure": 0.3 * (i % 3 == 0)}
        nodes[f"n{i}"].update({"rule": "all", "coverage": 0.97} if i < 39 else {"prior": 0.6})
    spec = {"defaults": {"error": 0.05, "prior": 0.5}, "influence": 0.2, "nodes": nodes,
            "blind_spots": {"a": {"probability": 0.3, "members": ["n5"]},
                            "b": {"probability": 0.1, "members": ["n3", "n20"]},
                            "c": {"probability": 0.05, "members": ["n12", "n13", "n30"]}}}  # fmt: skip
    tree = rrm.from_dict(spec)
    assert not forward(tree).plan.trivial
    for budget in (0, 1, 3):
        for root_corruptible in (False, True):
            assert_same_as_scalar(tree, budget, root_corruptible)


def test_a_long_chain_with_varied_evaluators_equals_the_per_node_code():
    rng = np.random.default_rng(7)
    depth = 1500
    nodes: dict[str, dict] = {}
    for i in range(depth + 1):
        node: dict[str, Any] = {"false_accept": float(rng.uniform(0, 0.2)), "false_reject": float(rng.uniform(0, 0.2)),
                                "deception": float(rng.choice([0.0, 0.01])),
                                "audit": float(rng.choice([0.0, 0.0, 0.3]))}  # fmt: skip
        if i:
            node["parent"] = f"v{i - 1}"
        else:
            node["audit"] = 0.0
        if i < depth:
            node.update(rule="all", coverage=float(rng.choice([1.0, 0.999, 0.9])))
        else:
            node["prior"] = 0.7
        nodes[f"v{i}"] = node
    tree = rrm.from_dict({"nodes": nodes})
    for budget in (1, 3):
        assert_same_as_scalar(tree, budget)


# ----------------------------------------------------------------- against the brute force


@settings(max_examples=100, deadline=None)
@given(spec_dicts(min_nodes=2, max_nodes=9, max_branching=1, features=FEATURES, max_groups=2, max_free=14),
       st.integers(0, 3), st.booleans())  # fmt: skip
def test_chains_equal_brute_force(spec, budget, root_corruptible):
    tree = rrm.from_dict(spec)
    got = rrm.robustness(tree, budget=budget, root_corruptible=root_corruptible)
    want = worst_false_accept(tree, budget, root_corruptible=root_corruptible)
    if want[0] is None:
        assert got.worst_false_accept is None
    else:
        assert got.worst_false_accept == pytest.approx(want, abs=1e-12)
    best = most_likely_bad_outcome(tree)
    if best is None:
        assert got.outcome == {} and got.min_corruptions is None
        return
    assert math.isclose(got.outcome_probability, best[1], rel_tol=1e-9)
    assert got.min_corruptions == min_corruptions_on(tree, dict(got.outcome), root_corruptible=root_corruptible)[0]


# ----------------------------------------------------------------- the work at scale


def test_a_chain_takes_a_few_rounds_whatever_its_depth(monkeypatch):
    """No round per level: the link maps of a whole chain are built in at most _PIECE rounds
    per block of _ROWS pieces (one map in all where every level is alike), and the episode's
    passes take the chain as one run."""
    calls: list[int] = []
    maps = dp._link_maps
    monkeypatch.setattr(dp, "_link_maps", lambda *a: calls.append(len(a[0])) or maps(*a))
    for depth in (200, 20_000):
        for varied in (True, False):
            tree = rrm.chain(depth, error=0.01, prior=0.5)
            if varied:
                for i, v in enumerate(tree):
                    tree.nodes[v]["false_accept"] = 0.01 + 1e-7 * i
            c = rrm.compile_tree(tree)
            calls.clear()
            got = rrm.robustness(c, budget=3)
            assert sum(calls) == (depth - 1 if varied else 1)  # every link below the root once, or one
            assert len(calls) <= dp._PIECE
            assert got.worst_false_accept[0] == pytest.approx(rrm.exact_analysis(c).root.false_accept, rel=1e-12)
            assert got.min_corruptions == 1 and got.chosen == ["L1_0"]
    from rrm_theory.adversary import _schedule

    assert [kind for kind, _ in _schedule(c).steps()] == ["runs"]


def test_a_chain_of_100000_levels():
    c = rrm.compile_tree(rrm.chain(100_000, error=0.01, prior=0.5))
    got = rrm.robustness(c, budget=3)
    fa = rrm.exact_analysis(c).root.false_accept
    assert got.worst_false_accept[0] == pytest.approx(fa, rel=1e-12)
    # a uniform chain forgets its depth geometrically (0.98 per level): 2,000 levels give the same curve
    short = scalar_robustness(rrm.chain(2000, error=0.01, prior=0.5), 3)
    assert got.worst_false_accept == pytest.approx(short["curve"], rel=1e-12)
    assert (got.min_corruptions, got.chosen) == (1, ["L1_0"])
    assert len(got.outcome) == 6 * c.size + 1
    assert got.outcome[("Y", "L100000_0")] == 0 and got.outcome[("H", "L5_0")] == 1


# ----------------------------------------------------------------- the outcome as a mapping


def test_the_outcome_is_a_read_only_mapping_equal_to_the_dict():
    tree = rrm.from_dict({"defaults": {"error": 0.1, "prior": 0.4}, "influence": 0.7,
                          "blind_spots": {"g": {"probability": 0.2, "members": ["a", "b"]}},
                          "nodes": {"r": {"rule": "majority"}, "a": {"parent": "r"}, "b": {"parent": "r"},
                                    "m": {"parent": "r", "rule": "any"}, "c": {"parent": "m"}}})  # fmt: skip
    got = rrm.robustness(tree, budget=2)
    want = scalar_robustness(tree, 2)["outcome"]
    assert got.outcome == want and dict(got.outcome) == want and list(got.outcome.items()) == list(want.items())
    assert len(got.outcome) == len(want) == 2 + 6 * 5
    assert got.outcome[("M",)] == 1 and got.outcome[("B", "g")] == 0
    for missing in [("Y", "r"), ("H", "a"), ("FA", "nowhere"), ("Q", "a"), ("M", "r"), "M", ("B", "h")]:
        assert missing not in got.outcome
        with pytest.raises(KeyError):
            got.outcome[missing]
    with pytest.raises(TypeError):
        got.outcome[("Y", "a")] = 1  # type: ignore[index]
    assert repr(got.outcome) == "<outcome of 32 variables>"
    again = pickle.loads(pickle.dumps(got))
    assert again == got and again.outcome == want
    assert rrm.robustness(rrm.compile_tree(tree), budget=2) == got


def test_no_bad_outcome_gives_an_empty_outcome():
    tree = rrm.from_dict({"defaults": {"error": 0.1, "prior": 1.0},
                          "nodes": {"r": {"rule": "all"}, "a": {"parent": "r"}}})
    got = rrm.robustness(tree, budget=2)
    assert got.worst_false_accept is None
    assert (got.outcome, got.outcome_probability, got.min_corruptions, got.chosen) == ({}, 0.0, None, [])


# ----------------------------------------------------------------- the rules' machines, built once


def test_the_machines_are_shared_but_the_limits_still_hold(monkeypatch):
    tree = rrm.balanced(2, 5, rule="majority", error=0.1, prior=0.5)
    first = rrm.robustness(tree, budget=3)
    assert rrm.robustness(tree, budget=3) == first  # the second time from the cache
    monkeypatch.setattr(dp, "MAX_WORK", 10)
    for _ in range(2):
        with pytest.raises(RRMError, match="state updates"):
            rrm.robustness(tree, budget=3)
    monkeypatch.setattr(dp, "MAX_WORK", 1 << 29)
    monkeypatch.setattr(dp, "MAX_STATES", 3)
    for _ in range(2):
        with pytest.raises(RRMError, match="more than 3 combination states"):
            rrm.robustness(tree, budget=3)
