"""Trees built in bulk (spec.py, tree.py bulk_tree, _compile.py) are the trees built node by node.

Generated trees are compared with a reference that builds the graph one ``add_node`` and
``add_edge`` at a time from the resolution rules of docs/spec-format.md; listed specs read in
bulk with the node-by-node reading of the same spec (which gives every message); both for
every option, valid or not, with the same errors. Every node owns its attribute dict.
"""

from __future__ import annotations

import contextlib
import copy
import random
from pathlib import Path
from typing import Any, Iterator
from unittest import mock

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rrm_theory as rrm
import rrm_theory.spec as spec_module
import rrm_theory.tree as tree_module
from rrm_theory import SpecError
from rrm_theory.tree import NODE_KEYS, bulk_tree, validate_tree
from test_fuzz import generate_specs, near_valid_specs, node_specs

MODELS = Path(__file__).resolve().parent.parent / "models"


# ----------------------------------------------------------------- comparing graphs


def signature(G: nx.DiGraph) -> tuple[Any, ...]:
    """Everything a tree shows, in order: nodes with their attributes (keys in order, value types),
    children and parents of each node in order, edge data, graph attributes."""
    nodes = [(v, list(d.items()), [type(x) for x in d.values()]) for v, d in G.nodes(data=True)]
    succ = [(v, list(G.succ[v])) for v in G]
    pred = [(v, list(G.pred[v])) for v in G]
    edges = list(G.edges(data=True))
    return nodes, succ, pred, edges, G.graph


def check_own_dicts(G: nx.DiGraph) -> None:
    """Each node's attribute dict and each edge's data dict is its own; succ and pred share
    each edge's dict, as networkx does."""
    assert len({id(d) for d in G._node.values()}) == G.number_of_nodes()
    datas = [G._succ[u][v] for u, v in G.edges]
    assert len({id(d) for d in datas}) == len(datas)
    assert all(G._succ[u][v] is G._pred[v][u] for u, v in G.edges)
    assert G._adj is G._succ
    if G.number_of_nodes() > 1:  # editing one node leaves the others alone
        first, second = list(G)[:2]
        before = dict(G.nodes[second])
        G.nodes[first]["false_accept"] = 0.123
        assert G.nodes[second] == before


def outcome(build: Any) -> tuple[Any, ...]:
    try:
        G = build()
    except SpecError as exc:
        return ("error", str(exc))
    return ("tree", signature(G))


@contextlib.contextmanager
def node_by_node() -> Iterator[None]:
    """Listed specs read without the bulk path."""
    with mock.patch.object(spec_module, "_nodes_in_bulk", lambda nodes, defaults: None):
        yield


# ----------------------------------------------------------------- the reference for [generate]


def _expand(table: dict[str, Any], target_elo: float | None) -> dict[str, Any]:
    """A table as read: numbers as floats, ``error`` as both rates, ``elo`` as false_accept."""
    out = {k: (v if isinstance(v, str) else float(v)) for k, v in table.items()}
    if "error" in out:
        out["false_accept"] = out["false_reject"] = out.pop("error")
    if "elo" in out:
        out["false_accept"] = 1.0 / (1.0 + 10.0 ** ((out.pop("elo") - target_elo) / 400.0))
    return out


def reference_generated(spec: dict[str, Any], *, source: str, default_name: str = "tree") -> nx.DiGraph:
    """The ``[generate]`` tree, one node and one edge at a time (docs/spec-format.md)."""
    gen = spec["generate"]
    shape, depth = gen.get("shape", "balanced"), gen["depth"]
    b = 1 if shape == "chain" else gen["branching"]
    target = spec.get("target_elo")
    defaults = _expand(spec.get("defaults", {}), target)
    leaves = _expand(gen.get("leaves", {}), target)
    internal = _expand(gen.get("internal", {}), target)
    if "rule" in gen:
        internal["rule"] = gen["rule"]
    if shape == "chain" and "rule" not in internal and "rule" not in defaults:
        internal["rule"] = "all"
    inner_rule = internal.get("rule", defaults.get("rule"))

    def attrs(leaf: bool, root: bool) -> dict[str, Any]:
        own = dict(leaves if leaf else internal)
        if root:
            own.pop("audit", None)  # an audit in [generate.*] is for the nodes that have a parent
        weighted = not leaf and own.get("rule", defaults.get("rule")) == "weighted"
        applies = {"prior": leaf, "rule": not leaf, "coverage": not leaf, "threshold": weighted,
                   "audit": not root, "weight": not root and inner_rule == "weighted"}  # fmt: skip
        a = {k: v for k, v in defaults.items() if applies.get(k, True)}
        a.update(own)
        a.setdefault("deception", 0.0)
        a.setdefault("audit", 0.0)
        a.setdefault("exposure", 1.0 if leaf else 0.0)
        if not leaf:
            a.setdefault("coverage", 1.0)
        return {k: a[k] for k in NODE_KEYS if k in a}

    G = nx.DiGraph()
    G.add_node("L0_0", **attrs(depth == 0, True))
    for level in range(1, depth + 1):
        for i in range(b**level):
            v = f"L{level}_{i}"
            G.add_node(v, **attrs(level == depth, False))
            G.add_edge(f"L{level - 1}_{i // b}", v)
    G.graph.update(name=spec.get("name", default_name), description=spec.get("description", ""),
                   influence=float(spec.get("influence", 0.0)))  # fmt: skip
    for key in ("unaided_error", "human_reach"):
        if key in spec:
            G.graph[key] = float(spec[key])
    G.graph["blind_spots"] = {g: {"probability": float(d["probability"]), "members": tuple(d["members"])}
                              for g, d in spec.get("blind_spots", {}).items()}  # fmt: skip
    validate_tree(G, source=source)  # what from_dict's compile reports, on the same graph
    return G


@settings(max_examples=300)
@given(generate_specs())
def test_generated_trees_are_the_reference(spec):
    assert outcome(lambda: rrm.from_dict(copy.deepcopy(spec), source="gen.toml")) == outcome(
        lambda: reference_generated(spec, source="gen.toml")
    )


GENERATED = [
    {"defaults": {"error": 0.1, "prior": 0.5}, "generate": {"shape": "chain", "depth": 7}},
    {"defaults": {"error": 0.1, "prior": 0.5}, "generate": {"shape": "chain", "depth": 0}},
    {"defaults": {"error": 0.1, "prior": 0.5}, "generate": {"depth": 0, "branching": 4, "rule": "all"}},
    {"defaults": {"error": 0.1, "prior": 0.5}, "generate": {"depth": 4, "branching": 3, "rule": "majority"}},
    {"defaults": {"error": 0.1, "prior": 0.5}, "generate": {"depth": 3, "branching": 1, "rule": "any"}},
    {"defaults": {"false_accept": 0.1, "false_reject": 0.2, "prior": 0.5, "threshold": 0.5, "weight": 2,
                  "audit": 0.1, "coverage": 0.9, "deception": 0.01, "exposure": 0.5, "difficulty": 0.3},
     "generate": {"depth": 2, "branching": 3, "rule": "weighted"}},
    {"target_elo": 1500, "defaults": {"prior": 0.5, "false_reject": 0.1},
     "generate": {"depth": 2, "branching": 2, "rule": "at_least:1",
                  "leaves": {"elo": 1400, "difficulty": 0.2, "audit": 0.3},
                  "internal": {"elo": 1700, "coverage": 0.8, "audit": 0.2, "exposure": 0.1}}},
    {"defaults": {"error": 0.1, "prior": 0.5, "rule": "weighted", "threshold": 1},
     "generate": {"shape": "chain", "depth": 3, "internal": {"threshold": 0.25}}},
    {"name": "n", "description": "d", "influence": 0.25, "unaided_error": 0.1, "human_reach": 0.5,
     "defaults": {"error": 0.1, "prior": 0.5}, "generate": {"depth": 2, "branching": 2, "rule": "all"},
     "blind_spots": {"g": {"probability": 0.1, "members": ["L1_0", "L2_3"]}}},
    # errors: the same message as before, naming the first node in breadth-first order
    {"defaults": {"error": 0.1, "prior": 0.5}, "generate": {"depth": 2, "branching": 2, "rule": "at_least:3"}},
    {"defaults": {"error": 0.1, "prior": 0.5},
     "generate": {"depth": 2, "branching": 2, "rule": "all", "internal": {"threshold": 0.5}}},
    {"defaults": {"error": 0.1, "prior": 0.5}, "generate": {"depth": 2, "branching": 3, "rule": "weighted"}},
    {"defaults": {"error": 0.1, "prior": 0.5}, "generate": {"depth": 1, "branching": 3, "rule": "any"},
     "blind_spots": {"g": {"probability": 0.1, "members": ["L1_0", "L2_0"]}}},
]  # fmt: skip

MESSAGES = {
    9: "gen.toml: node 'L0_0': rule='at_least:3' needs at least 3 children, the node has 2",
    10: "gen.toml: node 'L0_0': threshold=0.5 has no effect: rule is 'all', not 'weighted'",
    11: "gen.toml: node 'L0_0': threshold is missing (rule 'weighted' needs a threshold in (0, 1])",
    12: "gen.toml: blind spot 'g': member 'L2_0' is not a node of the tree",
}


@pytest.mark.parametrize("k", range(len(GENERATED)))
def test_generated_options_and_errors(k):
    spec = GENERATED[k]
    got = outcome(lambda: rrm.from_dict(copy.deepcopy(spec), source="gen.toml"))
    assert got == outcome(lambda: reference_generated(spec, source="gen.toml"))
    assert got[0] == ("error" if k in MESSAGES else "tree")
    if k in MESSAGES:
        assert got[1] == MESSAGES[k]
    else:
        check_own_dicts(rrm.from_dict(copy.deepcopy(spec), source="gen.toml"))


def test_generators_give_the_reference_at_size():
    chain = rrm.chain(5000, error=0.01, prior=0.5, internal={"audit": 0.1})
    spec = {"name": "chain-5000", "defaults": {"error": 0.01, "prior": 0.5},
            "generate": {"shape": "chain", "depth": 5000, "rule": "all", "internal": {"audit": 0.1}}}  # fmt: skip
    assert signature(chain) == signature(reference_generated(spec, source="chain(5000)"))
    check_own_dicts(chain)
    tree = rrm.balanced(6, 4, rule="majority", error=0.02, prior=0.7, leaves={"deception": 0.01})
    spec = {"name": "balanced-6x4-majority", "defaults": {"error": 0.02, "prior": 0.7},
            "generate": {"depth": 6, "branching": 4, "rule": "majority", "leaves": {"deception": 0.01}}}  # fmt: skip
    assert signature(tree) == signature(reference_generated(spec, source="balanced(6, 4)"))
    check_own_dicts(tree)


def test_role_attributes_are_not_shared_between_trees():
    a = rrm.balanced(2, 2, rule="all", error=0.1, prior=0.5)
    b = rrm.balanced(2, 2, rule="all", error=0.1, prior=0.5)
    for v in a:
        a.nodes[v]["deception"] = 0.5
    assert all(d["deception"] == 0.0 for _, d in b.nodes(data=True))
    assert rrm.exact_analysis(b) == rrm.exact_analysis(rrm.balanced(2, 2, rule="all", error=0.1, prior=0.5))


def test_generated_distributions_are_per_node():
    tree = rrm.from_dict({"defaults": {"prior": 0.5, "error": {"beta": [2, 20]}},
                          "generate": {"depth": 2, "branching": 2, "rule": "all",
                                       "leaves": {"deception": {"uniform": [0, 0.1]}}}})  # fmt: skip
    nodes = tree.graph["uncertainty"]["nodes"]
    assert list(nodes) == list(tree)
    assert len({id(d) for d in nodes.values()}) == len(nodes)
    assert set(nodes["L2_0"]) == {"error", "deception"} and set(nodes["L1_0"]) == {"error"}


# ----------------------------------------------------------------- listed specs


@settings(max_examples=400)
@given(st.one_of(node_specs(), near_valid_specs()))
def test_listed_specs_in_bulk_are_read_node_by_node(spec):
    fast = outcome(lambda: rrm.from_dict(copy.deepcopy(spec), source="t.json"))
    with node_by_node():
        slow = outcome(lambda: rrm.from_dict(copy.deepcopy(spec), source="t.json"))
    assert fast == slow


def _listed(n: int, seed: int) -> dict[str, Any]:
    """A listed spec of ``n`` nodes in a shuffled order, parents anywhere, mixed keys and values."""
    rnd = random.Random(seed)
    ids = [f"n{i}" for i in range(n)]
    parent = [None] + [rnd.randrange(i) for i in range(1, n)]
    kids = [0] * n
    for p in parent[1:]:
        kids[p] += 1
    nodes = {}
    for i in rnd.sample(range(n), n):
        t: dict[str, Any] = {}
        if parent[i] is not None:
            t["parent"] = ids[parent[i]]
        if kids[i]:
            t["rule"] = rnd.choice(["all", "any", "majority", "at_least:1", "weighted"])
            if t["rule"] == "weighted":
                t["threshold"] = rnd.choice([0.5, 1, 0.25])
        else:
            t["prior"] = rnd.choice([0.5, 1, 0, 0.25])
        if rnd.random() < 0.5:
            t["error"] = rnd.random()
        else:
            t["false_accept"], t["false_reject"] = rnd.random(), rnd.choice([0, 1, 0.5])
        for key in ("deception", "exposure", "difficulty", "coverage" if kids[i] else "audit"):
            if rnd.random() < 0.3:
                t[key] = rnd.random()
        if rnd.random() < 0.1:
            t["description"] = rnd.choice(["", "x", "d\u00e9j\u00e0"])
        items = list(t.items())
        rnd.shuffle(items)  # the keys in any order
        nodes[ids[i]] = dict(items)
    for v, t in nodes.items():  # weights on children of weighted nodes
        if "parent" in t and nodes[t["parent"]].get("rule") == "weighted" and rnd.random() < 0.5:
            t["weight"] = rnd.choice([1, 2.5, 0.1])
    return {"defaults": {"deception": 0.01}, "nodes": nodes}


BAD_VALUES = [1.5, -0.1, True, "x", None, float("nan"), 10**400, [0.5], {"beta": [1, 2]}, 2]


def _breadth_first_listed(n: int, seed: int) -> dict[str, Any]:
    """A listed spec in breadth-first order, as write_spec writes one."""
    spec = _listed(n, seed)
    tree = rrm.from_dict(spec)
    return {"defaults": {}, **{k: v for k, v in rrm.to_dict(tree).items() if k != "name"}}


@pytest.mark.parametrize("order", ["shuffled", "breadth-first"])
@pytest.mark.parametrize("seed", range(4))
def test_listed_specs_with_every_error(seed, order):
    spec = _listed(300, seed) if order == "shuffled" else _breadth_first_listed(300, seed)
    assert spec_module._nodes_in_bulk(spec["nodes"], spec["defaults"]) is not None  # the bulk path is taken
    names = list(spec["nodes"])
    parents = [t.get("parent") for t in spec["nodes"].values()]
    in_order = spec_module._children_in_order(names, parents, parents.index(None))
    assert (in_order is not None) == (order == "breadth-first")
    fast = rrm.from_dict(copy.deepcopy(spec), source="t.json")
    with node_by_node():
        assert signature(fast) == signature(rrm.from_dict(copy.deepcopy(spec), source="t.json"))
    check_own_dicts(fast)
    rnd = random.Random(seed)
    names = list(spec["nodes"])
    for trial in range(60):
        bad = copy.deepcopy(spec)
        v = rnd.choice(names)
        table = bad["nodes"][v]
        how = trial % 6
        if how == 0:  # a bad value for a key the node has
            table[rnd.choice(list(table))] = rnd.choice(BAD_VALUES)
        elif how == 1:  # a key removed
            del table[rnd.choice(list(table))]
        elif how == 2:  # a parent that makes a cycle, is missing, or is the node itself
            table["parent"] = rnd.choice([rnd.choice(names), "nobody", v])
        elif how == 3:  # a key that does not belong, or both error and a rate
            table[rnd.choice(["weight", "threshold", "prior", "coverage", "error", "elo", "unknown"])] = 0.5
        elif how == 4:  # a rule that does not fit
            table["rule"] = rnd.choice(["at_least:9", "most", "weighted", 3])
        else:  # a second root
            table.pop("parent", None)
        fast = outcome(lambda: rrm.from_dict(copy.deepcopy(bad), source="t.json"))
        with node_by_node():
            assert fast == outcome(lambda: rrm.from_dict(copy.deepcopy(bad), source="t.json"))


def test_written_specs_load_to_the_same_tree(tmp_path):
    tree = rrm.balanced(5, 3, rule="majority", error=0.05, prior=0.6, internal={"audit": 0.1},
                        blind_spots={"g": {"probability": 0.1, "members": ["L1_0", "L5_7"]}})  # fmt: skip
    for suffix in ("json", "toml"):
        path = tmp_path / f"t.{suffix}"
        rrm.write_spec(tree, path)
        loaded = rrm.load_spec(path)
        assert signature(loaded) == signature(tree)
        check_own_dicts(loaded)


# ----------------------------------------------------------------- bulk_tree and compile_tree


def _random_tree(n: int, seed: int) -> tuple[list[str], list[str | None]]:
    """Node ids in a shuffled order and each node's parent (any earlier-made node)."""
    rnd = random.Random(seed)
    made = [f"v{i}" for i in range(n)]
    parent_of = {made[0]: None} | {made[i]: made[rnd.randrange(i)] for i in range(1, n)}
    order = rnd.sample(made, n)
    return order, [parent_of[v] for v in order]


def _networkx(nodes: list[str], attrs: list[dict[str, Any]], parents: list[str | None]) -> nx.DiGraph:
    G = nx.DiGraph()
    G.add_nodes_from(zip(nodes, attrs))
    G.add_edges_from((p, v) for p, v in zip(parents, nodes) if p is not None)
    return G


@pytest.mark.parametrize("plain", [True, False])
@pytest.mark.parametrize("seed", range(5))
def test_bulk_tree_is_add_nodes_and_edges(seed, plain):
    nodes, parents = _random_tree(1 + 40 * seed, seed)
    attrs = [{"k": i} for i in range(len(nodes))]
    with mock.patch.object(tree_module, "_plain_digraph", lambda G: False) if not plain else contextlib.nullcontext():
        G = bulk_tree(nodes, [dict(a) for a in attrs], parents)
    assert signature(G) == signature(_networkx(nodes, attrs, parents))
    check_own_dicts(G)
    G.add_edge(nodes[0], "new")  # the graph is an ordinary DiGraph
    assert "new" in G.succ[nodes[0]] and G.in_degree("new") == 1


@pytest.mark.parametrize("seed", range(4))
def test_bulk_tree_with_counts_in_breadth_first_order(seed):
    rnd = random.Random(seed)
    counts = [rnd.choice([0, 1, 1, 2, 3]) for _ in range(300)]
    counts[0] = max(counts[0], 1)
    nodes, parents, queue = ["r"], [None], ["r"]
    for v, k in zip(queue, counts):  # the queue grows as it is read: breadth-first
        for j in range(k):
            nodes.append(f"{v}.{j}")
            parents.append(v)
            queue.append(nodes[-1])
    counts = counts[: len(nodes)] + [0] * (len(nodes) - len(counts))
    attrs = [{"i": i} for i in range(len(nodes))]
    G = bulk_tree(nodes, [dict(a) for a in attrs], parents, counts)
    assert signature(G) == signature(_networkx(nodes, attrs, parents))
    check_own_dicts(G)


def test_without_the_plain_build():
    """Where networkx keeps its graph otherwise, its own loops build the same trees."""
    listed = _listed(200, 7)
    generated = GENERATED[5]
    plain = [rrm.from_dict(copy.deepcopy(listed)), rrm.from_dict(copy.deepcopy(generated))]
    with mock.patch.object(tree_module, "_plain_digraph", lambda G: False):
        other = [rrm.from_dict(copy.deepcopy(listed)), rrm.from_dict(copy.deepcopy(generated))]
    assert list(map(signature, plain)) == list(map(signature, other))


def _reference_levels(G: nx.DiGraph, root: Any) -> tuple[dict[Any, int], dict[Any, int]]:
    level = {root: 0}
    for u, v in nx.bfs_edges(G, root):
        level[v] = level[u] + 1
    height: dict[Any, int] = {}
    for v in reversed(list(nx.topological_sort(G))):
        height[v] = max((height[c] + 1 for c in G.succ[v]), default=0)
    return level, height


@pytest.mark.parametrize("shape", ["chain", "caterpillar", "random", "broom", "balanced"])
def test_compiled_levels_and_heights(shape):
    rnd = random.Random(shape)
    n = 3000
    if shape == "chain":
        parents = [None] + list(range(n - 1))
    elif shape == "caterpillar":  # many levels of two nodes: one pass over the nodes
        parents = [None] + [2 * ((i - 1) // 2) for i in range(1, n)]
    elif shape == "broom":  # a long handle, then a wide level
        parents = [None] + list(range(999)) + [999] * (n - 1000)
    elif shape == "balanced":
        parents = [None] + [(i - 1) // 3 for i in range(1, n)]
    else:
        parents = [None] + [rnd.randrange(max(0, i - 5), i) for i in range(1, n)]
    G = nx.DiGraph()
    for i, p in enumerate(parents):
        G.add_node(i, false_accept=0.1, false_reject=0.1, deception=0.0, audit=0.0, exposure=0.0)
        if p is not None:
            G.add_edge(p, i)
    for v in G:
        if G.out_degree(v):
            G.nodes[v].update(rule="any", coverage=1.0)
        else:
            G.nodes[v]["prior"] = 0.5
    c = rrm.compile_tree(G)
    level, height = _reference_levels(G, 0)
    assert c.level.tolist() == [level[v] for v in c.nodes]
    assert c.height.tolist() == [height[v] for v in c.nodes]
    assert list(c.nodes) == [0] + [v for _, v in nx.bfs_edges(G, 0)]
    assert c.parent.tolist() == [-1] + [c.index[next(iter(G.pred[v]))] for v in c.nodes[1:]]
    assert np.array_equal(np.diff(c.level) >= 0, np.ones(n - 1, dtype=bool))


def test_gc_paused_restores_the_collector():
    import gc

    assert gc.isenabled()
    with tree_module.gc_paused():
        assert not gc.isenabled()
        with tree_module.gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(SpecError):
        rrm.from_dict({"nodes": {"a": {"prior": 2}}})
    assert gc.isenabled()


@pytest.mark.parametrize("edges", [[("a", "a")], [("r", "a"), ("b", "c"), ("c", "b")], [("r", "a"), ("b", "b")]])
def test_graphs_in_order_with_a_cycle_are_refused(edges):
    """Nodes in the order a breadth-first walk would list them, but a cycle off to the side."""
    G = nx.DiGraph(name="t")
    G.add_node("r", rule="any", coverage=1.0, false_accept=0.1, false_reject=0.1, deception=0.0, audit=0.0,
               exposure=0.0)  # fmt: skip
    for v in ("a", "b", "c"):
        G.add_node(v, prior=0.5, false_accept=0.1, false_reject=0.1, deception=0.0, audit=0.0, exposure=1.0)
    G.add_edges_from(edges)
    G.remove_nodes_from([v for v in "bc" if v not in {x for e in edges for x in e}])
    with pytest.raises(SpecError) as got:
        rrm.compile_tree(G)
    with pytest.raises(SpecError) as expected:
        validate_tree(G)
    assert str(got.value) == str(expected.value)


# ----------------------------------------------------------------- analyze compiles once


@pytest.mark.parametrize(("model", "importance_gets"), [("ternary-majority", "Compiled"),
                                                        ("chip-design", "DiGraph")])  # fmt: skip
def test_analyze_passes_the_compiled_tree(model, importance_gets, capsys):
    """Every analysis that takes a compiled tree gets the one loading made; importance gets the
    graph where it edits copies of it (shared events)."""
    import importlib

    from rrm_theory.cli import main

    seen: dict[str, str] = {}

    def spy(module: str, name: str) -> Any:
        mod = importlib.import_module(f"rrm_theory.{module}")
        real = getattr(mod, name)

        def wrapper(tree: Any, *args: Any, **kwargs: Any) -> Any:
            seen[name] = type(tree).__name__
            return real(tree, *args, **kwargs)

        return mock.patch.object(mod, name, wrapper)

    with spy("exact", "exact_analysis"), spy("bounds", "_choose"), spy("adversary", "robustness"), \
            spy("importance", "importance"), spy("montecarlo", "monte_carlo"):  # fmt: skip
        assert main(["analyze", "--json", "--quiet", "--seed", "1", "--samples", "2000",
                     str(MODELS / f"{model}.toml")]) == 0  # fmt: skip
    capsys.readouterr()
    assert seen == {"exact_analysis": "Compiled", "_choose": "Compiled", "robustness": "Compiled",
                    "importance": importance_gets, "monte_carlo": "Compiled"}  # fmt: skip
