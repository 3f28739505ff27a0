"""The front door, fuzzed: spec files and spec dictionaries that are arbitrary, broken or
nearly right give a valid tree or one line of :class:`~rrm_theory.SpecError`, and
``rrm-theory analyze`` exits 0, 1 or 2 (2 with exactly one line on stderr), never
another exception, never a traceback, never a hang.

Examples per run (Hypothesis ``max_examples``, times the environment variable
``RRM_FUZZ_SCALE``, default 1; each test's docstring states its own):

=========================================  ========  ========
test                                       examples  explicit
=========================================  ========  ========
test_load_spec_arbitrary_bytes                  400        10
test_load_spec_mangled_files                    300
test_from_dict_arbitrary_documents              600         7
test_valid_spec_strategy_is_valid               100
test_from_dict_near_valid_specs                 600
test_analyze_command                            120         1
=========================================  ========  ========

2,120 generated inputs in all (about 25 s on 2 cores), plus the explicit ``@example``
cases and the pinned bugs at the end. Five sources of input, from shallow to deep:

* arbitrary bytes, UTF-8 text and spec-flavoured byte soup (mostly rejected by the
  decoder or the parser);
* valid spec files, serialised and then mangled at the byte level (truncated,
  spliced, bits flipped), which reach the parsers' corner cases;
* arbitrary JSON-like documents (recursive dicts, lists, strings, ints up to 4,300
  digits, floats including NaN, infinities and subnormals, booleans, None), keyed mostly
  by the spec's own key names so that the reader gets past the first table;
* *near-valid* specs: valid ``[nodes]`` and ``[generate]`` specs (built here: parents,
  rules, rates, defaults, Elo, weights, blind spots) after one to four mutations (a key
  deleted, a value replaced by a random one, an unknown key, a parent renamed or made
  cyclic, a node renamed, a probability out of range, a rule string changed, a value
  wrapped in a list or retyped, the document wrapped, a key moved to or from
  ``[defaults]``, both ``[nodes]`` and ``[generate]``, blind spots with stray members...),
  which reach the resolution of defaults, the tree checks and, when the result is still
  valid (about one in eight), exact analysis;
* all of the above written to a file and given to ``rrm-theory analyze --json``.

Hangs: every example runs under a Hypothesis ``deadline`` (a slow example fails and
is shrunk) and a SIGALRM watchdog (an example that never returns fails instead of
hanging the suite); every test also checks its own wall-clock time. Trees are kept
small (generated depth and branching at most 3 before mutation; integers a mutation
writes are at most 5 or astronomically large), so a slow example means a bug, not a
legitimately large tree: a valid spec may ask for up to 2,000,000 generated nodes,
which takes seconds by design.
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
import os
import signal
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import rrm_theory as rrm
from rrm_theory.cli import main

# ----------------------------------------------------------------- budgets

#: Per-example Hypothesis deadline (ms) of the loader tests and of the command test.
LOADER_DEADLINE_MS = 2_000
COMMAND_DEADLINE_MS = 5_000
#: An example still running after this long is a hang: the watchdog fails it.
HANG_SECONDS = 20
#: RRM_FUZZ_SCALE=10 runs ten times the examples (and allows ten times the time), say nightly.
SCALE = float(os.environ.get("RRM_FUZZ_SCALE", "1"))
#: Wall-clock budget of each test as a whole (each takes 1 to 10 s on 2 cores at scale 1).
TEST_BUDGET_SECONDS = 40 * SCALE
#: Exact analysis is run on near-valid trees of at most this many nodes.
MAX_ANALYSED_NODES = 2_000

SLOW_OK = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]
LOADER = settings(deadline=LOADER_DEADLINE_MS, suppress_health_check=SLOW_OK)


class Hang(Exception):
    """An example ran longer than HANG_SECONDS."""


@contextlib.contextmanager
def watchdog(seconds: float = HANG_SECONDS) -> Iterator[None]:
    """Raise :class:`Hang` in the running example after ``seconds`` (POSIX main thread only)."""
    if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        yield
        return

    def fire(signum: int, frame: object) -> None:
        raise Hang(f"an example ran for more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextlib.contextmanager
def wall_clock(name: str, budget: float = TEST_BUDGET_SECONDS) -> Iterator[None]:
    start = time.perf_counter()
    yield
    took = time.perf_counter() - start
    assert took < budget, f"{name} took {took:.1f} s, more than its budget of {budget} s"


# ----------------------------------------------------------------- strategies: values

# Spec vocabulary, so that random documents get past the first check now and then.
TOP_KEYS = ["name", "description", "influence", "target_elo", "unaided_error", "human_reach", "defaults",
            "blind_spots", "nodes", "generate"]  # fmt: skip
NODE_KEYS = [
    "parent", "description", "rule", "threshold", "weight", "prior", "coverage", "false_accept",
    "false_reject", "error", "deception", "audit", "exposure", "difficulty", "generation_difficulty", "elo",
]  # fmt: skip
GENERATE_KEYS = ["shape", "depth", "branching", "rule", "leaves", "internal"]
GROUP_KEYS = ["probability", "members"]
PROBABILITY_KEYS = ["prior", "coverage", "false_accept", "false_reject", "error", "deception", "audit", "exposure",
                    "difficulty", "generation_difficulty"]  # fmt: skip
SPEC_WORDS = TOP_KEYS + NODE_KEYS + GENERATE_KEYS + GROUP_KEYS

RULES = ["all", "any", "majority", "weighted", "at_least:1", "at_least:2", "at_least:3"]
ODD_RULES = [
    "at_least:0", "at_least:", "at_least:-1", "at_least:99", "at_least:1.5", "at_least: 2", "at_least:\u0662",
    "at_least:99999999999999999999999", "ALL", "All", "none", "", " all", "majority ", "at_most:1", "weighted:2",
]  # fmt: skip
NODE_IDS = ["r", "a", "b", "c", "d", "e", "f", "L0_0", "L1_0", "a b", "\u00fc", "0", "x.y", "", "\t"]

HUGE_INTS = [2**31, 2**53 + 1, 2**63, 2**64, 10**20, -(10**20), 10**50, 10**51, 10**308, 10**309, 10**4000,
             -(10**4000), 10**4299]  # fmt: skip
ODD_FLOATS = [math.nan, math.inf, -math.inf, -0.0, 5e-324, 2.2250738585072014e-308, 1e-320, 1e308,
              1.7976931348623157e308, 0.9999999999999999, 1.0000000000000002, -1e-300]  # fmt: skip
BAD_PROBABILITIES = [-0.1, -1e-9, 1.0000001, 1.5, 2, -1, 10**400, math.nan, math.inf, -math.inf, True, False, "0.5",
                     None, [0.5], {"p": 0.5}]  # fmt: skip

keys = st.one_of(st.sampled_from(SPEC_WORDS), st.sampled_from(NODE_IDS), st.text(max_size=8))
small_ints = st.integers(-3, 5)  # generated depth and branching stay small: a slow example is a bug
scalars = st.one_of(
    st.none(),
    st.booleans(),
    small_ints,
    st.integers(),
    st.sampled_from(HUGE_INTS),
    st.floats(),  # NaN, infinities, subnormals
    st.sampled_from(ODD_FLOATS),
    st.floats(0, 1),
    st.text(max_size=12),
    st.sampled_from(RULES + ODD_RULES + NODE_IDS + ["balanced", "chain"]),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=4)),
    max_leaves=10,
)
#: Values of known keys: a scalar half the time (cheaper to generate, and deeper-reaching).
values = st.one_of(scalars, json_values)


# ----------------------------------------------------------------- strategies: valid specs

probabilities = st.one_of(st.sampled_from([0.0, 1.0, 0.5]), st.floats(0, 1))


def _rules_for(n: int) -> list[str]:
    return ["all", "any", "majority", "weighted"] + [f"at_least:{k}" for k in range(1, n + 1)]


@st.composite
def node_specs(draw: st.DrawFn) -> dict[str, Any]:
    """A valid ``[nodes]`` spec of 1 to 6 nodes using every feature, values either on the
    nodes or in ``[defaults]``."""
    n = draw(st.integers(1, 6))
    ids = draw(st.lists(st.sampled_from(NODE_IDS), min_size=n, max_size=n, unique=True))
    parent: list[int | None] = [None] + [draw(st.integers(0, i - 1)) for i in range(1, n)]
    kids = [[j for j in range(n) if parent[j] == i] for i in range(n)]
    spec: dict[str, Any] = {}
    if draw(st.booleans()):
        spec["name"] = draw(st.sampled_from(["t", "two helpers", "\u00e9t\u00e9", "x" * 80, "L0_0"]))
    if draw(st.booleans()):
        spec["description"] = draw(st.sampled_from(["", "what is checked", "line\nbreak"]))
    for key in ("influence", "unaided_error", "human_reach"):
        if draw(st.integers(0, 2)) == 0:
            spec[key] = draw(probabilities)
    use_elo = draw(st.booleans())
    if use_elo:
        spec["target_elo"] = draw(st.sampled_from([1500, 1500.5, 0, -400, 1e6]))
    defaults: dict[str, Any] = {}
    rates_in_defaults = draw(st.booleans())
    if rates_in_defaults:
        if draw(st.booleans()):
            defaults["error"] = draw(probabilities)
        else:
            defaults["false_accept"] = draw(probabilities)
            defaults["false_reject"] = draw(probabilities)
    prior_in_defaults = draw(st.booleans())
    if prior_in_defaults:
        defaults["prior"] = draw(probabilities)
    rule_in_defaults = draw(st.booleans())
    if rule_in_defaults:
        defaults["rule"] = draw(st.sampled_from(["all", "any", "majority", "at_least:1"]))
    for key in ("coverage", "deception", "audit", "exposure", "difficulty"):
        if draw(st.integers(0, 3)) == 0:
            defaults[key] = draw(probabilities)
    if bool(defaults) or draw(st.booleans()):
        spec["defaults"] = defaults
    nodes: dict[str, dict[str, Any]] = {}
    for i in range(n):
        table: dict[str, Any] = {}
        p = parent[i]
        if p is not None:
            table["parent"] = ids[p]
            if nodes[ids[p]].get("rule") == "weighted" and draw(st.booleans()):
                table["weight"] = draw(st.sampled_from([1, 2, 0.5, 0.1, 3.25, 1e-3]))
            if draw(st.integers(0, 3)) == 0:
                table["audit"] = draw(probabilities)
        if kids[i]:
            if not rule_in_defaults or draw(st.booleans()):
                table["rule"] = draw(st.sampled_from(_rules_for(len(kids[i]))))
            if table.get("rule") == "weighted":
                table["threshold"] = draw(st.sampled_from([0.5, 1, 0.25, 0.7, 1e-9]))
            if draw(st.integers(0, 2)) == 0:
                table["coverage"] = draw(probabilities)
        elif not prior_in_defaults or draw(st.booleans()):
            table["prior"] = draw(probabilities)
        if not rates_in_defaults or draw(st.integers(0, 3)) == 0:
            how = draw(st.sampled_from(["error", "both", "elo"] if use_elo else ["error", "both"]))
            if how == "error":
                table["error"] = draw(probabilities)
            elif how == "both":
                table["false_accept"] = draw(probabilities)
                table["false_reject"] = draw(probabilities)
            else:
                table["elo"] = draw(st.sampled_from([1000, 1500, 2000.5, -1e6, 1e9]))
                if not rates_in_defaults or "error" in defaults:
                    table["false_reject"] = draw(probabilities)
        for key in ("deception", "exposure", "difficulty", "generation_difficulty", "description"):
            if draw(st.integers(0, 4)) == 0:
                text = st.sampled_from(["", "checks x", "\t"])
                table[key] = draw(text if key == "description" else probabilities)
        nodes[ids[i]] = table
    spec["nodes"] = nodes
    if draw(st.integers(0, 2)) == 0:
        groups = {}
        for g in range(draw(st.integers(1, 3))):
            members = draw(st.lists(st.sampled_from(ids), min_size=1, max_size=n, unique=True))
            groups[f"g{g}"] = {"probability": draw(probabilities), "members": members}
        spec["blind_spots"] = groups
    return spec


@st.composite
def generate_specs(draw: st.DrawFn) -> dict[str, Any]:
    """A valid ``[generate]`` spec (balanced or chain, depth <= 3, branching <= 3)."""
    shape = draw(st.sampled_from(["balanced", "chain"]))
    depth = draw(st.integers(0, 3))
    branching = 1 if shape == "chain" else draw(st.integers(1, 3))
    gen: dict[str, Any] = {"depth": depth}
    if shape == "chain":
        gen["shape"] = "chain"
        if draw(st.booleans()):
            gen["branching"] = 1
    else:
        if draw(st.booleans()):
            gen["shape"] = "balanced"
        gen["branching"] = branching
    defaults: dict[str, Any] = {"prior": draw(probabilities)}
    leaves: dict[str, Any] = {}
    internal: dict[str, Any] = {}
    rule = draw(st.sampled_from(_rules_for(branching)))
    where = draw(st.sampled_from(["generate", "internal", "defaults"]))
    if shape == "balanced" or draw(st.booleans()):
        {"generate": gen, "internal": internal, "defaults": defaults}[where]["rule"] = rule
        if rule == "weighted":
            (internal if where == "internal" else defaults)["threshold"] = draw(st.sampled_from([0.5, 1, 0.3]))
    if draw(st.booleans()):
        defaults["error"] = draw(probabilities)
    else:
        leaves["error"] = draw(probabilities)
        internal["false_accept"] = draw(probabilities)
        internal["false_reject"] = draw(probabilities)
    for table in (defaults, leaves, internal):
        for key in ("deception", "audit", "exposure", "difficulty"):
            if draw(st.integers(0, 5)) == 0:
                table[key] = draw(probabilities)
    if draw(st.integers(0, 3)) == 0:
        internal["coverage"] = draw(probabilities)
    if bool(leaves) or draw(st.booleans()):
        gen["leaves"] = leaves
    if bool(internal) or draw(st.booleans()):
        gen["internal"] = internal
    spec: dict[str, Any] = {"defaults": defaults, "generate": gen}
    if draw(st.booleans()):
        spec["influence"] = draw(probabilities)
    if depth >= 1 and draw(st.booleans()):
        members = draw(st.lists(st.sampled_from([f"L1_{i}" for i in range(branching)] + ["L0_0"]),
                                min_size=1, max_size=3, unique=True))  # fmt: skip
        spec["blind_spots"] = {"shared": {"probability": draw(probabilities), "members": members}}
    return spec


valid_specs = st.one_of(node_specs(), generate_specs())


# ----------------------------------------------------------------- strategies: mutations


def _slots(doc: Any) -> list[tuple[Any, Any]]:
    """Every (container, key) pair in the document, depth first."""
    out, stack = [], [doc]
    while stack:
        c = stack.pop()
        items = c.items() if isinstance(c, dict) else enumerate(c) if isinstance(c, list) else ()
        for k, v in list(items):
            out.append((c, k))
            if isinstance(v, (dict, list)):
                stack.append(v)
    return out


def _tables(doc: Any) -> list[dict[str, Any]]:
    out = [doc] if isinstance(doc, dict) else []
    return out + [c[k] for c, k in _slots(doc) if isinstance(c[k], dict)]


def _node_tables(doc: Any) -> list[tuple[str, dict[str, Any]]]:
    nodes = doc.get("nodes") if isinstance(doc, dict) else None
    if not isinstance(nodes, dict):
        return []
    return [(v, t) for v, t in nodes.items() if isinstance(t, dict)]


MUTATIONS = [
    "delete", "replace", "unknown_key", "parent", "probability", "rule", "wrap", "wrap_doc", "move",
    "both", "number", "blind_spot", "rename_node", "retype",
]  # fmt: skip


def pick(draw: st.DrawFn, items: list[Any]) -> Any:
    """One of ``items`` (by index: cheaper than a fresh ``sampled_from`` of unhashable things)."""
    return items[draw(st.integers(0, len(items) - 1))]


#: Values a mutation writes: like ``scalars``, but integers are small or astronomically large,
#: never a depth that legitimately builds a tree of thousands of nodes.
mutation_scalars = st.one_of(
    st.none(), st.booleans(), small_ints, st.sampled_from(HUGE_INTS), st.floats(), st.sampled_from(ODD_FLOATS),
    st.floats(0, 1), st.text(max_size=8), st.sampled_from(RULES + ODD_RULES + NODE_IDS + ["balanced", "chain"]),
)  # fmt: skip
mutation_values = st.recursive(
    mutation_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(keys, inner, max_size=3)),
    max_leaves=6,
)


@st.composite
def mutate(draw: st.DrawFn, doc: Any) -> Any:
    """One random mutation of ``doc`` (in place where possible; returns the new document)."""
    kind = draw(st.sampled_from(MUTATIONS))
    slots, tables, node_tables = _slots(doc), _tables(doc), _node_tables(doc)
    if kind == "delete" and slots:
        c, k = pick(draw, slots)
        del c[k]
    elif kind == "replace" and slots:
        c, k = pick(draw, slots)
        c[k] = draw(mutation_values)
    elif kind == "unknown_key" and tables:
        pick(draw, tables)[draw(keys)] = draw(mutation_values)
    elif kind == "parent" and node_tables:
        v, table = pick(draw, node_tables)
        ids = [w for w, _ in node_tables]
        table["parent"] = draw(st.one_of(st.sampled_from(ids), st.sampled_from(NODE_IDS + ["nope", v + "x"]),
                                         mutation_scalars))  # fmt: skip
    elif kind == "probability" and tables:
        table = pick(draw, tables)
        table[draw(st.sampled_from(PROBABILITY_KEYS + ["influence", "probability", "unaided_error"]))] = draw(
            st.one_of(st.sampled_from(BAD_PROBABILITIES), probabilities, st.sampled_from(ODD_FLOATS))
        )
    elif kind == "rule" and tables:
        pick(draw, tables)["rule"] = draw(st.one_of(st.sampled_from(RULES + ODD_RULES), mutation_scalars))
    elif kind == "wrap" and slots:
        c, k = pick(draw, slots)
        c[k] = [c[k]]
    elif kind == "wrap_doc":
        return pick(draw, [[doc], {"spec": doc}, {"nodes": doc}, json.dumps(doc), None])
    elif kind == "move" and node_tables:
        v, table = pick(draw, node_tables)
        defaults = doc.setdefault("defaults", {})
        if isinstance(defaults, dict):
            if table and draw(st.booleans()):
                key = pick(draw, sorted(table))
                defaults[key] = table.pop(key)
            elif defaults:
                key = pick(draw, sorted(defaults))
                table[key] = defaults.pop(key)
    elif kind == "both" and isinstance(doc, dict):
        if "nodes" in doc:
            doc["generate"] = {"depth": 1, "branching": 2, "rule": "all"}
        else:
            doc["nodes"] = {"r": {"rule": "all"}, "a": {"parent": "r"}}
    elif kind == "number" and tables:
        table = pick(draw, tables)
        key = draw(st.sampled_from(["depth", "branching", "weight", "threshold", "elo", "target_elo", "shape"]))
        table[key] = draw(st.one_of(small_ints, st.sampled_from(HUGE_INTS + ODD_FLOATS), st.floats(), mutation_scalars))
    elif kind == "blind_spot" and isinstance(doc, dict):
        ids = [w for w, _ in node_tables] or ["L0_0", "L1_0", "L1_1", "L2_3"]
        members = draw(st.lists(st.one_of(st.sampled_from(ids), st.sampled_from(NODE_IDS), mutation_scalars),
                                max_size=4))  # fmt: skip
        group = {"probability": draw(st.one_of(probabilities, st.sampled_from(BAD_PROBABILITIES))), "members": members}
        if draw(st.booleans()):
            del group[draw(st.sampled_from(["probability", "members"]))]
        groups = doc.get("blind_spots")
        if isinstance(groups, dict) and groups and draw(st.booleans()):
            name = pick(draw, list(groups))
        else:
            name = draw(st.text(max_size=4))
        doc["blind_spots"] = groups if isinstance(groups, dict) else {}
        doc["blind_spots"][name] = group
    elif kind == "rename_node" and node_tables:
        nodes = doc["nodes"]
        old = pick(draw, list(nodes))
        nodes[draw(st.one_of(st.sampled_from(NODE_IDS), st.text(max_size=4)))] = nodes.pop(old)
    elif kind == "retype" and slots:
        c, k = pick(draw, slots)
        value = c[k]
        if isinstance(value, bool):
            c[k] = int(value)
        elif isinstance(value, int):
            c[k] = pick(draw, [float(value) if abs(value) < 10**308 else math.inf, str(value), value == 1])
        elif isinstance(value, float):
            c[k] = pick(draw, [repr(value), int(value) if math.isfinite(value) else 0, [value]])
        elif isinstance(value, str):
            c[k] = pick(draw, [value.upper(), value + " ", value * 2, value[:-1], None])
        else:
            c[k] = draw(mutation_scalars)
    return doc


@st.composite
def near_valid_specs(draw: st.DrawFn, max_mutations: int = 4) -> Any:
    """A valid spec after one to ``max_mutations`` random mutations."""
    doc = copy.deepcopy(draw(valid_specs))
    for _ in range(draw(st.integers(1, max_mutations))):
        doc = draw(mutate(doc))
    return doc


# ----------------------------------------------------------------- serialisation


def _toml_key(key: str) -> str:
    return json.dumps(key, ensure_ascii=False)


def _toml_value(value: Any) -> str:
    """TOML for any JSON-like value (inline tables and arrays; None becomes a string)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        try:
            return str(value)
        except ValueError:  # more digits than Python converts: write one the parser rejects
            return "1" + "0" * 5000
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"
    return '"null"'


def to_toml(doc: Any) -> str:
    """A document as TOML: top-level tables as ``[headers]``, the rest inline."""
    if not isinstance(doc, dict):
        return f"spec = {_toml_value(doc)}\n"
    lines = [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in doc.items() if not isinstance(v, dict)]
    for k, v in doc.items():
        if isinstance(v, dict):
            lines.append(f"[{_toml_key(k)}]")
            lines.extend(f"{_toml_key(kk)} = {_toml_value(vv)}" for kk, vv in v.items())
    return "\n".join(lines) + "\n"


def to_json(doc: Any) -> str:
    """A document as JSON (NaN and infinities as Python writes them, which the loader rejects)."""
    try:
        return json.dumps(doc, ensure_ascii=False)
    except ValueError:  # an integer too long to write
        return '{"n": ' + "1" * 5000 + "}"


def serialise(doc: Any, suffix: str) -> bytes:
    return (to_toml(doc) if suffix == ".toml" else to_json(doc)).encode("utf-8", "surrogatepass")


@st.composite
def mangled(draw: st.DrawFn, data: bytes) -> bytes:
    """``data`` with a few byte-level edits: truncation, insertion, deletion, flips."""
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["truncate", "insert", "delete", "flip", "duplicate"]))
        i = draw(st.integers(0, len(out)))
        if kind == "truncate":
            del out[i:]
        elif kind == "insert":
            out[i:i] = draw(st.one_of(
                st.binary(min_size=1, max_size=4),
                st.sampled_from([b"[", b"]", b"{", b"}", b'"', b"'", b"=", b"\n", b"\\", b"\\u", b"\x00", b"\xff",
                                 b"\xed\xa0\x80", b"[[nodes]]\n", b"[nodes.a]\n", b"9" * 5000, b"#", b"\r"]),
            ))  # fmt: skip
        elif kind == "delete":
            del out[i : i + draw(st.integers(1, 8))]
        elif kind == "flip" and i < len(out):
            out[i] ^= 1 << draw(st.integers(0, 7))
        elif kind == "duplicate":
            out[i:i] = out[max(0, i - 40) : i]
    return bytes(out)


# ----------------------------------------------------------------- checks


def check_one_line(message: str, what: str) -> None:
    assert message, f"{what}: an empty message"
    assert len(message.splitlines()) == 1, f"{what}: a message of several lines: {message!r}"


def check_spec_error(exc: rrm.SpecError, prefix: str | None = None) -> None:
    check_one_line(str(exc), "SpecError")
    if prefix is not None:
        assert str(exc).startswith(prefix + ": "), f"{str(exc)!r} does not start with {prefix!r}"


def load_file(path: Path) -> None:
    """``load_spec`` gives a valid tree or a one-line SpecError naming the file."""
    try:
        tree = rrm.load_spec(path)
    except rrm.SpecError as exc:
        check_spec_error(exc, str(path))
    else:
        rrm.validate_tree(tree)


def build(doc: Any, *, source: str | None = "fuzz.toml", analyse: bool = False) -> None:
    """``from_dict`` gives a valid tree or a one-line SpecError (naming ``source`` if given);
    a valid tree of at most MAX_ANALYSED_NODES nodes is analysed exactly (or declined with a
    one-line ExactRefused), its root rates in range."""
    try:
        tree = rrm.from_dict(doc, source=source)
    except rrm.SpecError as exc:
        check_spec_error(exc, source)
        return
    rrm.validate_tree(tree)
    if not analyse or tree.number_of_nodes() > MAX_ANALYSED_NODES:
        return
    try:
        result = rrm.exact_analysis(tree)
    except rrm.ExactRefused as exc:
        check_one_line(str(exc), "ExactRefused")
        return
    for metric, value in result.root.to_dict().items():
        if value is not None:
            low = -1.0 if metric == "youden" else 0.0
            assert low - 1e-9 <= value <= 1.0 + 1e-9, f"root {metric}={value} is out of range"


#: One scratch directory for the whole module (removed at exit).
_SCRATCH = tempfile.TemporaryDirectory(prefix="rrm-fuzz-")


@contextlib.contextmanager
def spec_file(content: bytes, suffix: str) -> Iterator[Path]:
    path = Path(_SCRATCH.name) / f"fuzz{suffix}"
    path.write_bytes(content)
    try:
        yield path
    finally:
        path.unlink()


def run_analyze(capsys: pytest.CaptureFixture[str], content: bytes, suffix: str, extra: list[str]) -> None:
    """``rrm-theory analyze FILE --json [extra]``: exit 0 with one JSON object on stdout (and
    at most notes on stderr); 1 with one line on stderr (exact analysis declined); 2 with
    exactly one line on stderr, ``rrm-theory: error: FILE: ...``. Never a traceback.
    (Status 1 is expected only with ``--method exact``.)"""
    capsys.readouterr()  # drop what earlier examples printed
    with spec_file(content, suffix) as path:
        status = main(["analyze", str(path), "--json", *extra])
        out, err = capsys.readouterr()
    assert "Traceback" not in err and "Traceback" not in out
    assert status in (0, 1, 2), f"exit status {status}: {err!r}"
    if status == 0:
        obj = json.loads(out)
        assert isinstance(obj, dict) and isinstance(obj.get("root"), dict), out[:200]
        for line in err.splitlines():  # notes only (an extra that declines a tree)
            assert line.startswith("rrm-theory: note: "), f"status 0 with stderr line {line!r}"
        return
    assert out == "", f"status {status} with output {out[:200]!r}"
    assert err.endswith("\n") and len(err.splitlines()) == 1, f"status {status}, stderr not one line: {err!r}"
    if status == 2:
        assert err.startswith(f"rrm-theory: error: {path}: "), f"status 2 with stderr {err!r}"
    else:
        assert err.startswith("rrm-theory: ") and err.endswith("; run with --method monte-carlo\n"), (
            f"status 1 other than exact analysis declining: {err!r}"
        )


suffixes = st.sampled_from([".toml", ".json"])


def examples(n: int) -> int:
    """``n`` examples, times RRM_FUZZ_SCALE."""
    return max(1, round(n * SCALE))


# ----------------------------------------------------------------- 1. bytes -> load_spec

BYTE_SOUP = [
    b"[nodes.a]", b"[generate]", b"prior = 0.5", b"error = 1e999", b"parent = 'a'", b'{"nodes": {', b"}", b"]",
    b"depth = 99999999999999999999", b"\n", b" ", b"\xc3", b'"\\ud800"', b"nan", b"NaN", b"-Infinity", b"[[a]]",
    b"a.b.c = 1", b'"a":1,', b"rule = 'at_least:2'", b"error = 0.1\nprior = 0.5\n",
]  # fmt: skip


@settings(LOADER, max_examples=examples(400))
@given(content=st.one_of(
    st.binary(max_size=300),
    st.text(max_size=300).map(lambda s: s.encode("utf-8")),
    st.lists(st.sampled_from(BYTE_SOUP), max_size=20).map(b"".join),
), suffix=suffixes)  # fmt: skip
@example(content=b"\xff\xfe", suffix=".toml")
@example(content=b'{"nodes": {"a": {"prior": NaN}}}', suffix=".json")
@example(content=b'{"a": 1, "a": 2}', suffix=".json")
@example(content=b'"\\ud800"', suffix=".json")
@example(content=b"[" * 100_000, suffix=".json")
@example(content=b"a = " + b"[" * 100_000, suffix=".toml")
@example(content=b"x = " + b"9" * 5000, suffix=".toml")
@example(content=b'{"x": ' + b"9" * 5000 + b"}", suffix=".json")
@example(content=b"", suffix=".toml")
@example(content=b"", suffix=".json")
def _bytes_property(content: bytes, suffix: str) -> None:
    with watchdog(), spec_file(content, suffix) as path:
        load_file(path)


def test_load_spec_arbitrary_bytes() -> None:
    """400 examples (plus 10 explicit): arbitrary bytes, arbitrary UTF-8 text and spec-flavoured
    byte soup in a .toml or .json file give a valid tree or a one-line SpecError naming the file."""
    with wall_clock("test_load_spec_arbitrary_bytes"):
        _bytes_property()


@settings(LOADER, max_examples=examples(300))
@given(data=st.data(), doc=st.one_of(valid_specs, near_valid_specs(max_mutations=2)), suffix=suffixes)
def _mangled_property(data: st.DataObject, doc: Any, suffix: str) -> None:
    content = data.draw(mangled(serialise(doc, suffix)), label="content")
    with watchdog(), spec_file(content, suffix) as path:
        load_file(path)


def test_load_spec_mangled_files() -> None:
    """300 examples: valid (or near-valid) specs written as TOML or JSON, then truncated,
    spliced or bit-flipped, give a valid tree or a one-line SpecError naming the file."""
    with wall_clock("test_load_spec_mangled_files"):
        _mangled_property()


# ----------------------------------------------------------------- 2. documents -> from_dict

documents = st.one_of(
    json_values,
    st.dictionaries(st.sampled_from(TOP_KEYS), values, max_size=5),
    st.fixed_dictionaries(
        {"nodes": st.dictionaries(st.sampled_from(NODE_IDS), st.dictionaries(st.sampled_from(NODE_KEYS), values,
                                                                             max_size=5), max_size=4)},
        optional={"defaults": st.dictionaries(st.sampled_from(NODE_KEYS), values, max_size=5),
                  "blind_spots": st.dictionaries(keys, st.dictionaries(st.sampled_from(GROUP_KEYS), values),
                                                 max_size=2),
                  "name": values, "influence": values, "target_elo": values},
    ),
    st.fixed_dictionaries(
        {"generate": st.dictionaries(st.sampled_from(GENERATE_KEYS), values, max_size=6)},
        optional={"defaults": st.dictionaries(st.sampled_from(NODE_KEYS), values, max_size=5)},
    ),
)  # fmt: skip


@settings(LOADER, max_examples=examples(600))
@given(doc=documents, source=st.sampled_from(["fuzz.toml", None]))
@example(doc={"name": 10**4299, "nodes": {}}, source=None)
@example(doc={"name": [10**4299, "a\nb"], "nodes": {}}, source=None)
@example(doc={"nodes": {"a": {"prior": [10**4299]}}}, source="fuzz.toml")
@example(doc={"nodes": {"a": {"prior": math.nan, "error": 0.1}}}, source="fuzz.toml")
@example(doc={"defaults": {"error": 0.1, "prior": 0.5}, "generate": {"depth": 10**4000, "branching": 1}}, source=None)
@example(doc={"defaults": {"error": 0.1, "prior": 0.5}, "generate": {"depth": 10**20, "shape": "chain"}}, source=None)
@example(doc={"target_elo": 1e308, "defaults": {"prior": 0.5, "false_reject": 0.1}, "nodes": {"a": {"elo": -1e308}}},
         source=None)  # fmt: skip
def _documents_property(doc: Any, source: str | None) -> None:
    with watchdog():
        build(doc, source=source)


def test_from_dict_arbitrary_documents() -> None:
    """600 examples (plus 7 explicit): arbitrary JSON-like documents (recursive dicts, lists,
    strings, ints up to 4,300 digits, floats including NaN and infinities, booleans, None;
    keyed mostly by the spec's own names), with and without ``source``, give a valid tree or
    a one-line SpecError."""
    with wall_clock("test_from_dict_arbitrary_documents"):
        _documents_property()


# ----------------------------------------------------------------- 3. near-valid -> from_dict, exact


@settings(max_examples=examples(100), deadline=LOADER_DEADLINE_MS)
@given(doc=valid_specs)
def _valid_property(doc: dict[str, Any]) -> None:
    with watchdog():
        rrm.validate_tree(rrm.from_dict(doc))  # valid by construction: a SpecError fails the test
        build(doc, analyse=True)


def test_valid_spec_strategy_is_valid() -> None:
    """100 examples: the unmutated specs behind the near-valid ones load and analyse (a check
    of the strategy itself, so that the mutations start from valid documents)."""
    with wall_clock("test_valid_spec_strategy_is_valid"):
        _valid_property()


@settings(LOADER, max_examples=examples(600))
@given(doc=near_valid_specs())
def _near_valid_property(doc: Any) -> None:
    with watchdog():
        build(doc, analyse=True)


def test_from_dict_near_valid_specs() -> None:
    """600 examples: valid [nodes] and [generate] specs after one to four random mutations
    give a valid tree (which exact analysis analyses, or declines with a one-line
    ExactRefused, its root rates in range) or a one-line SpecError."""
    with wall_clock("test_from_dict_near_valid_specs"):
        _near_valid_property()


# ----------------------------------------------------------------- 4. the command line

command_inputs = st.one_of(
    st.tuples(st.binary(max_size=200), suffixes),
    st.tuples(documents.map(lambda d: ("doc", d)), suffixes),
    st.tuples(near_valid_specs(max_mutations=2).map(lambda d: ("doc", d)), suffixes),
    st.tuples(valid_specs.map(lambda d: ("doc", d)), suffixes),
)

#: A single leaf whose root false_accept is subnormal: importance's risk achievement worth
#: overflowed to inf, which ``--json`` could not write (exit 2, "rrm-theory analyze: error:
#: Out of range float values are not JSON compliant: inf"); found by this test.
SUBNORMAL_LEAF = {"nodes": {"a": {"prior": 0.0, "error": 0.0, "deception": 2.225073858507203e-309}}}


def test_analyze_command(capsys: pytest.CaptureFixture[str]) -> None:
    """120 examples (plus 1 explicit): random bytes, random documents, near-valid and valid
    specs written to a .toml or .json file and given to ``rrm-theory analyze FILE --json
    --method exact`` (with ``--per-node`` or ``--budget 1`` at random): exit 0 with one JSON
    object on stdout, 1 with one line on stderr (exact analysis declined), or 2 with exactly
    one line on stderr, ``rrm-theory: error: FILE: ...``; never a traceback.

    ``--method exact`` keeps every example fast: without it a tree exact analysis declines
    is sampled 100,000 times."""

    @settings(
        max_examples=examples(120),
        deadline=COMMAND_DEADLINE_MS,
        suppress_health_check=[*SLOW_OK, HealthCheck.function_scoped_fixture],
    )
    @given(item=command_inputs, extra=st.sampled_from([[], ["--per-node"], ["--budget", "1"]]))
    @example(item=(("doc", SUBNORMAL_LEAF), ".toml"), extra=[])
    def run(item: tuple[Any, str], extra: list[str]) -> None:
        raw, suffix = item
        content = serialise(raw[1], suffix) if isinstance(raw, tuple) else raw
        with watchdog():
            run_analyze(capsys, content, suffix, ["--method", "exact", *extra])

    with wall_clock("test_analyze_command"):
        run()


# ----------------------------------------------------------------- bugs found while fuzzing, pinned


@pytest.mark.parametrize(
    "doc",
    [
        {"name": 10**5000, "nodes": {}},
        {"nodes": {"a": {"prior": [10**5000], "error": 0.1}}},
        {"nodes": {"a": {"prior": 0.5, "error": 0.1}},
         "blind_spots": {"g": {"probability": 0.5, "members": [10**5000]}}},
    ],
    ids=["name", "value-in-a-list", "blind-spot-member"],
)
def test_from_dict_integer_too_long_to_print(doc: dict[str, Any]) -> None:
    """An integer of more than 4,300 digits (Python's limit for ``str(int)``; JSON and TOML
    files cannot carry one, ``from_dict`` can) where the message would show it: a SpecError,
    not the ValueError of ``repr``."""
    build(doc, source=None)


def test_analyze_default_method_falls_back_when_exact_declines_a_rule(capsys: pytest.CaptureFixture[str]) -> None:
    """Without ``--method``, a tree exact analysis declines (here: a weighted rule whose
    weights have more distinct partial sums than it tracks) falls back to Monte Carlo and exits 0,
    as ``analyze --help`` says."""
    weights = [round(1.0 + 0.37 * i + 0.001 * i * i, 3) for i in range(30)]
    nodes: dict[str, Any] = {"r": {"rule": "weighted", "threshold": 0.5}}
    nodes |= {f"c{i}": {"parent": "r", "weight": w} for i, w in enumerate(weights)}
    doc = {"defaults": {"error": 0.1, "prior": 0.5}, "nodes": nodes}
    with pytest.raises(rrm.ExactRefused):
        rrm.exact_analysis(rrm.from_dict(doc))
    with watchdog():
        run_analyze(capsys, serialise(doc, ".json"), ".json", [])  # 100,000 samples: about 0.3 s


# ----------------------------------------------------------------- hostile text: long integers, JSON oddities, escapes

import sys  # noqa: E402
import tomllib  # noqa: E402
import unicodedata  # noqa: E402

from rrm_theory import _toml  # noqa: E402

#: Characters that would act on a terminal if printed raw (what rrm_theory._text escapes).
UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def _long_run(draw: st.DrawFn) -> str:
    """A decimal digit run longer than Python converts by default (4,300 digits)."""
    digits = draw(st.integers(4301, 6000))
    head = draw(st.sampled_from("123456789"))
    run = head + "7" * (digits - 1)
    return run if not draw(st.booleans()) else run[:5] + "_" + run[5:]


@st.composite
def toml_with_long_integers(draw: st.DrawFn) -> str:
    """TOML statements whose values are long integers, short ones, and strings, keys, floats
    and hex integers holding long digit runs (which must come back as written)."""
    lines, n = [], 0
    for _ in range(draw(st.integers(1, 6))):
        if draw(st.integers(0, 4)) == 0:
            lines.append(f"[t{n}]" if draw(st.booleans()) else f"[t{n}.{_long_run(draw)}]")
            n += 1
        kind = draw(st.sampled_from(["long", "short", "string", "float", "hex", "array", "key", "multiline"]))
        key = f"k{len(lines)}"
        value = {
            "long": lambda: draw(st.sampled_from(["", "-", "+"])) + _long_run(draw),
            "short": lambda: str(draw(st.integers(-(10**20), 10**20))),
            "string": lambda: json.dumps(f"x {_long_run(draw)} y"),
            "float": lambda: _long_run(draw).replace("_", "") + draw(st.sampled_from([".5", "e3", ".25e-2"])),
            "hex": lambda: "0x" + _long_run(draw).replace("_", ""),
            "array": lambda: f"[1, {_long_run(draw)}, '{_long_run(draw)}']",
            "key": lambda: "1",
            "multiline": lambda: f"'''\n{_long_run(draw)}\n'''",
        }[kind]()
        if kind == "key":
            key = _long_run(draw).replace("_", "") + f"x{len(lines)}"  # a bare key, unique
        elif kind == "hex":  # a true integer of more than 4,300 decimal digits: read in full
            key = f"hex{len(lines)}"
        lines.append(f"{key} = {value}")
    return "\n".join(lines) + "\n"


def _expected(value: Any) -> Any:
    """What _toml.loads gives for what tomllib reads with Python's limit lifted (hex
    integers, under keys ``hex...``, convert at any length)."""
    if isinstance(value, dict):
        return {k: v if k.startswith("hex") else _expected(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_expected(v) for v in value]
    if type(value) is int and len(str(abs(value))) > 4300:
        return ("long", len(str(abs(value))), value < 0)
    return value


@settings(LOADER, max_examples=examples(150))
@given(text=toml_with_long_integers())
def _long_toml_property(text: str) -> None:
    before = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)
    try:
        expected = _expected(tomllib.loads(text))
    finally:
        sys.set_int_max_str_digits(before)
    with watchdog():
        got = _toml.loads(text, long_integer=lambda digits, negative: ("long", digits, negative))
    assert got == expected


def test_toml_long_integers_read_as_stand_ins_and_nothing_else_changes() -> None:
    """150 examples: TOML with integers of more than 4,300 digits among strings, keys, floats
    and hex integers holding such digit runs reads as tomllib reads it with Python's limit
    lifted, each long decimal integer replaced by a stand-in."""
    with wall_clock("test_toml_long_integers_read_as_stand_ins_and_nothing_else_changes"):
        _long_toml_property()


def _json_text(value: Any, duplicate: tuple[Any, ...] | None, path: tuple[Any, ...] = ()) -> str:
    """JSON for ``value``; the object at ``duplicate[0]`` gives key ``duplicate[1]`` twice."""
    if isinstance(value, dict):
        pairs = list(value.items())
        if duplicate is not None and duplicate[0] == path:
            pairs.append((duplicate[1], 0))
        return "{" + ", ".join(f"{json.dumps(k)}: {_json_text(v, duplicate, (*path, k))}" for k, v in pairs) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_json_text(v, duplicate, (*path, i)) for i, v in enumerate(value)) + "]"
    if value == "<nan>":
        return "NaN"
    return json.dumps(value)


json_trees = st.recursive(
    st.one_of(st.integers(-5, 5), st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=5)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(SPEC_WORDS), inner, max_size=4)
    ),
    max_leaves=12,
)


@st.composite
def json_with_one_problem(draw: st.DrawFn) -> tuple[str, str, str]:
    """(JSON text, the key at fault, 'NaN' or 'duplicate'): one NaN/Infinity value or one
    duplicate key somewhere in a nested document."""
    doc = draw(st.dictionaries(st.sampled_from(SPEC_WORDS), json_trees, min_size=1, max_size=4))
    tables: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
    stack: list[tuple[tuple[Any, ...], Any]] = [((), doc)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, dict):
            tables.append((path, item))
            stack.extend(((*path, k), v) for k, v in item.items())
        elif isinstance(item, list):
            stack.extend(((*path, i), v) for i, v in enumerate(item))
    path, table = draw(st.sampled_from([t for t in tables if t[1]]))
    key = draw(st.sampled_from(sorted(table)))
    if draw(st.booleans()):
        name = draw(st.sampled_from(["NaN", "Infinity", "-Infinity"]))
        table[key] = "<nan>"
        return _json_text(doc, None).replace("NaN", name), key, name
    return _json_text(doc, (path, key)), key, "duplicate"


@settings(LOADER, max_examples=examples(200))
@given(problem=json_with_one_problem())
def _json_problem_property(problem: tuple[str, str, str]) -> None:
    text, key, kind = problem
    with watchdog(), spec_file(text.encode(), ".json") as path:
        with pytest.raises(rrm.SpecError) as info:
            rrm.load_spec(path)
    message = str(info.value)
    check_spec_error(info.value, str(path))
    assert message.count(str(path)) == 1 and message.count("not valid JSON") == 0, message
    shown = key if key.replace("_", "").isalnum() else repr(key)
    if kind == "duplicate":
        assert f"duplicate key {key!r}" in message, message
    else:
        assert f"{shown}={kind} is not a JSON number" in message, message


def test_json_nan_and_duplicate_keys_are_named_where_they_are() -> None:
    """200 examples: one NaN, Infinity or -Infinity value, or one duplicate key, anywhere in a
    nested JSON document: one message, naming the file once and the key at fault."""
    with wall_clock("test_json_nan_and_duplicate_keys_are_named_where_they_are"):
        _json_problem_property()


hostile_text = st.lists(
    st.one_of(
        st.sampled_from(["\x1b", "[2J", "\x1b]0;x\x07", "\x9b", "\r", "\n", "\x7f", "\u202e", "\u2066", "\u200f",
                         "\u061c", "\u200b", "\u2028", "\ufeff", "\U000e0041", "\u200d", "\ue000", "é", "熱", "🔬"]),
        st.characters(),
    ),
    min_size=1, max_size=8,
).map("".join)  # fmt: skip


@settings(LOADER, max_examples=examples(100))
@given(node=hostile_text, parent=hostile_text, fault=st.sampled_from(["value", "cycle", "key", "parent"]),
       suffix=suffixes)  # fmt: skip
def _hostile_names_property(
    capsys: pytest.CaptureFixture[str], node: str, parent: str, fault: str, suffix: str
) -> None:
    if node == parent or "r" in (node, parent):
        return
    nodes: dict[str, Any] = {parent: {"rule": "all"}, node: {"parent": parent, "prior": 1.5}}
    if fault == "cycle":  # the message lists the loop: node -> parent -> node
        nodes = {"r": {"rule": "all"}, "x": {"parent": "r", "prior": 0.5},
                 parent: {"parent": node, "rule": "all"}, node: {"parent": parent, "prior": 0.5}}  # fmt: skip
    elif fault == "key":
        nodes = {"r": {"prior": 0.5, node: 1}}
    elif fault == "parent":
        nodes = {"r": {"rule": "all"}, "x": {"parent": node, "prior": 0.5}}
    doc = {"description": node, "defaults": {"error": 0.1}, "nodes": nodes}
    capsys.readouterr()
    with watchdog(), spec_file(serialise(doc, suffix), suffix) as path:
        status = main(["analyze", str(path)])
    out, err = capsys.readouterr()
    assert status == 2 and out == "" and err.endswith("\n") and len(err.splitlines()) == 1, err
    for ch in err[:-1]:
        assert unicodedata.category(ch) not in UNSAFE_CATEGORIES or ch in "\u200c\u200d", (ch, err)


def test_hostile_names_never_reach_the_terminal_raw(capsys: pytest.CaptureFixture[str]) -> None:
    """100 examples: node names holding terminal escapes, bidi overrides and other invisible
    characters, in a spec with a bad value at that node: exit 2, one stderr line, and no
    character on it that could act on a terminal."""
    with wall_clock("test_hostile_names_never_reach_the_terminal_raw"):
        _hostile_names_property(capsys)
