"""The project's own properties, on the public strategies: invariances and monotonicity."""

from __future__ import annotations

import networkx as nx
from hypothesis import given, settings
from hypothesis import strategies as st

import rrm_theory as rrm
from rrm_theory.strategies import FEATURES, probabilities, spec_dicts

ALL = spec_dicts(max_nodes=7, features=FEATURES, max_groups=2)


def relabel(spec: dict, names: dict[str, str]) -> dict:
    out = {k: v for k, v in spec.items() if k not in ("nodes", "blind_spots")}
    out["nodes"] = {}
    for v, table in spec["nodes"].items():
        table = dict(table)
        if "parent" in table:
            table["parent"] = names[table["parent"]]
        out["nodes"][names[v]] = table
    if "blind_spots" in spec:
        out["blind_spots"] = {g: {**d, "members": [names[m] for m in d["members"]]}
                              for g, d in spec["blind_spots"].items()}  # fmt: skip
    return out


@settings(max_examples=80, deadline=None)
@given(ALL, st.randoms(use_true_random=False))
def test_invariant_under_relabelling_and_sibling_order(spec, rnd):
    """Node names and the order nodes are listed in (hence siblings' order) change nothing."""
    ids = list(spec["nodes"])
    new = [f"x{i}" for i in range(len(ids))]
    rnd.shuffle(new)
    names = dict(zip(ids, new))
    shuffled = relabel(spec, names)
    order = list(shuffled["nodes"])
    rnd.shuffle(order)
    shuffled["nodes"] = {v: shuffled["nodes"][v] for v in order}
    a, b = rrm.from_dict(spec), rrm.from_dict(shuffled)
    try:
        first = rrm.exact_analysis(a)
    except rrm.ExactRefused:
        return
    second = rrm.exact_analysis(b)
    for v in a:
        for m in rrm.METRICS:
            x, y = getattr(first.per_node[v], m), getattr(second.per_node[names[v]], m)
            assert x == y or abs(x - y) <= 1e-12, (v, m, x, y)


def raise_one(spec: dict, node: str, key: str, by: float) -> dict:
    out = {**spec, "nodes": {v: dict(t) for v, t in spec["nodes"].items()}}
    out["nodes"][node][key] = min(1.0, out["nodes"][node].get(key, 0.0) + by)
    return out


better = spec_dicts(max_nodes=6, rates=probabilities(low=0.0, high=0.49),
                    features={"deception", "coverage", "blind_spots", "influence", "exposure", "weights"})  # fmt: skip


@settings(max_examples=80, deadline=None)
@given(better, st.data())
def test_monotone_when_every_evaluator_is_better_than_chance(spec, data):
    """With every rate below 1/2, more false accepts or deception anywhere never lowers the root's
    false accept rate, and more false rejects never lower its false reject rate. (Without the
    condition it fails: docs/counterexamples.md section 4 shows the minimal counterexample.)"""
    node = data.draw(st.sampled_from(sorted(spec["nodes"])))
    by = data.draw(st.floats(0.01, 0.4))
    base = rrm.exact_analysis(rrm.from_dict(spec)).root
    for key, metric in (("false_accept", "false_accept"), ("deception", "false_accept"),
                        ("false_reject", "false_reject")):  # fmt: skip
        if key != "deception":
            changed = raise_one(spec, node, key, min(by, 0.49 - spec["nodes"][node][key]))
        else:
            changed = raise_one(spec, node, key, by)
        after = getattr(rrm.exact_analysis(rrm.from_dict(changed)).root, metric)
        before = getattr(base, metric)
        if before is not None:
            assert after >= before - 1e-12, (node, key, before, after)


def test_monotonicity_fails_with_a_negating_evaluator():
    # the documented counterexample: a root that always flips, over one helper
    spec = {"nodes": {"r": {"rule": "all", "false_accept": 1.0, "false_reject": 1.0},
                      "a": {"parent": "r", "prior": 0.0, "false_accept": 0.0, "false_reject": 0.0}}}  # fmt: skip
    before = rrm.exact_analysis(rrm.from_dict(spec)).root.false_accept
    after = rrm.exact_analysis(rrm.from_dict(raise_one(spec, "a", "false_accept", 0.5))).root.false_accept
    assert (before, after) == (1.0, 0.5)


@settings(max_examples=60, deadline=None)
@given(ALL)
def test_spec_tree_spec_round_trip(spec):
    tree = rrm.from_dict(spec)
    again = rrm.from_dict(rrm.to_dict(tree))
    assert nx.utils.graphs_equal(tree, again) and rrm.to_dict(again) == rrm.to_dict(tree)
