"""Spec files: reading, defaults, generation, round trips, and every input error."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sys
import textwrap
import time
from pathlib import Path

import networkx as nx
import pytest
from hypothesis import given, settings
from tree_strategies import tree_specs

import rrm_theory as rrm
from rrm_theory import SpecError
from rrm_theory import spec as spec_module
from rrm_theory import _files
from rrm_theory.cli import main

BASE = """
name = "t"
[defaults]
error = 0.1
prior = 0.5
"""

# (id, spec text, fragments the one-line message must contain: the node and the key)
TOML_ERRORS = [
    ("unknown-top-key", 'nmae = "x"\n' + BASE + '[nodes.a]\n', ["unknown key 'nmae'", "did you mean 'name'"]),
    ("unknown-node-key", BASE + "[nodes.a]\nfalse_acept = 0.1\n", ["node 'a'", "false_acept", "'false_accept'"]),
    ("unknown-defaults-key", BASE + "parent = 'x'\n[nodes.a]\n", ["[defaults]", "unknown key 'parent'"]),
    ("second-root", BASE + "[nodes.a]\nrule='all'\n[nodes.b]\n[nodes.c]\nparent='a'\n",
     ["node 'b'", "parent is missing", "'a' is the root"]),
    ("no-root", BASE + "[nodes.a]\nparent='b'\n[nodes.b]\nparent='a'\n", ["no root", "cycle"]),
    ("cycle", BASE + "[nodes.r]\nrule='all'\n[nodes.x]\nparent='r'\n[nodes.a]\nparent='b'\n[nodes.b]\nparent='a'\n",
     ["node 'a'", "parent='b'", "cycle (a -> b -> a)"]),
    ("self-parent", BASE + "[nodes.r]\nrule='all'\n[nodes.x]\nparent='r'\n[nodes.a]\nparent='a'\n",
     ["node 'a'", "parent='a'", "cycle"]),
    ("missing-parent", BASE + "[nodes.r]\nrule='all'\n[nodes.a]\nparent='rr'\n",
     ["node 'a'", "parent='rr' is not a node", "did you mean 'r'"]),
    ("probability-above-one", BASE + "[nodes.a]\nfalse_accept = 1.3\nfalse_reject = 0.1\n",
     ["node 'a'", "false_accept=1.3", "[0, 1]"]),
    ("probability-negative", BASE + "[nodes.a]\nprior = -0.5\n", ["node 'a'", "prior=-0.5"]),
    ("probability-nan", BASE + "[nodes.a]\ndeception = nan\n", ["node 'a'", "deception=nan"]),
    ("probability-inf", BASE + "[nodes.a]\nexposure = inf\n", ["node 'a'", "exposure=inf"]),
    ("probability-string", BASE + "[nodes.a]\nerror = 'low'\n", ["node 'a'", "error='low'"]),
    ("probability-bool", BASE + "[nodes.a]\nprior = true\n", ["node 'a'", "prior=true"]),
    ("defaults-out-of-range", 'name = "t"\n[defaults]\nerror = 2\nprior = 0.5\n[nodes.a]\n',
     ["[defaults]", "error=2"]),
    ("influence-out-of-range", "influence = 1.5\n" + BASE + "[nodes.a]\n", ["influence=1.5"]),
    ("at-least-too-many", BASE + "[nodes.r]\nrule='at_least:3'\n[nodes.a]\nparent='r'\n[nodes.b]\nparent='r'\n",
     ["node 'r'", "rule='at_least:3'", "the node has 2"]),
    ("at-least-zero", BASE + "[nodes.r]\nrule='at_least:0'\n[nodes.a]\nparent='r'\n", ["node 'r'", "rule='at_least:0'"]),
    ("unknown-rule", BASE + "[nodes.r]\nrule='most'\n[nodes.a]\nparent='r'\n", ["node 'r'", "rule='most'", "majority"]),
    ("rule-on-leaf", BASE + "[nodes.r]\nrule='all'\n[nodes.a]\nparent='r'\nrule='any'\n",
     ["node 'a'", "rule='any'", "no children"]),
    ("coverage-on-leaf", BASE + "[nodes.a]\ncoverage=0.9\n", ["node 'a'", "coverage=0.9", "no children"]),
    ("prior-on-internal", BASE + "[nodes.r]\nrule='all'\nprior=0.3\n[nodes.a]\nparent='r'\n",
     ["node 'r'", "prior=0.3", "internal"]),
    ("audit-on-root", BASE + "[nodes.r]\nrule='all'\naudit=0.1\n[nodes.a]\nparent='r'\n",
     ["node 'r'", "audit=0.1", "root"]),
    ("member-not-a-node", BASE + "[blind_spots.g]\nprobability=0.1\nmembers=['a','zz']\n[nodes.a]\n",
     ["blind spot 'g'", "member 'zz'"]),
    ("group-no-probability", BASE + "[blind_spots.g]\nmembers=['a']\n[nodes.a]\n", ["blind spot 'g'", "probability is missing"]),
    ("group-bad-probability", BASE + "[blind_spots.g]\nprobability=-1\nmembers=['a']\n[nodes.a]\n",
     ["blind spot 'g'", "probability=-1"]),
    ("group-unknown-key", BASE + "[blind_spots.g]\nprobability=0.1\nmembers=['a']\nmember=['a']\n[nodes.a]\n",
     ["blind spot 'g'", "unknown key 'member'"]),
    ("group-members-not-list", BASE + "[blind_spots.g]\nprobability=0.1\nmembers='a'\n[nodes.a]\n",
     ["blind spot 'g'", "members='a'"]),
    ("group-duplicate-member", BASE + "[blind_spots.g]\nprobability=0.1\nmembers=['a','a']\n[nodes.a]\n",
     ["blind spot 'g'", "'a' twice"]),
    ("group-empty", BASE + "[blind_spots.g]\nprobability=0.1\nmembers=[]\n[nodes.a]\n", ["blind spot 'g'", "members=[]"]),
    ("error-and-rate", BASE + "[nodes.a]\nerror=0.1\nfalse_accept=0.2\n", ["node 'a'", "error=0.1", "false_accept=0.2"]),
    ("no-rates", 'name="t"\n[nodes.a]\nprior=0.5\n', ["node 'a'", "false_accept is missing"]),
    ("no-prior", 'name="t"\n[nodes.a]\nerror=0.1\n', ["node 'a'", "prior is missing"]),
    ("no-rule", BASE + "[nodes.r]\n[nodes.a]\nparent='r'\n", ["node 'r'", "rule is missing"]),
    ("weighted-no-threshold", BASE + "[nodes.r]\nrule='weighted'\n[nodes.a]\nparent='r'\n",
     ["node 'r'", "threshold is missing"]),
    ("threshold-zero", BASE + "[nodes.r]\nrule='weighted'\nthreshold=0\n[nodes.a]\nparent='r'\n",
     ["node 'r'", "threshold=0", "(0, 1]"]),
    ("threshold-not-weighted", BASE + "[nodes.r]\nrule='all'\nthreshold=0.5\n[nodes.a]\nparent='r'\n",
     ["node 'r'", "threshold=0.5", "not 'weighted'"]),
    ("weight-not-positive", BASE + "[nodes.r]\nrule='weighted'\nthreshold=0.5\n[nodes.a]\nparent='r'\nweight=0\n",
     ["node 'a'", "weight=0"]),
    ("weight-no-effect", BASE + "[nodes.r]\nrule='all'\n[nodes.a]\nparent='r'\nweight=2\n",
     ["node 'a'", "weight=2", "parent 'r'"]),
    ("difficulty-out-of-range", BASE + "[nodes.a]\ndifficulty=3\n", ["node 'a'", "difficulty=3"]),
    ("description-not-string", BASE + "[nodes.a]\ndescription=3\n", ["node 'a'", "description=3"]),
    ("name-not-string", "name = 3\n[defaults]\nerror=0.1\nprior=0.5\n[nodes.a]\n", ["name=3"]),
    ("nodes-and-generate", BASE + "[nodes.a]\n[generate]\ndepth=1\nbranching=2\nrule='all'\n", ["not both"]),
    ("neither", BASE, ["neither"]),
    ("nodes-empty", BASE + "[nodes]\n", ["[nodes] is empty"]),
    ("node-not-a-table", BASE + "[nodes]\na = 3\n", ["node 'a'", "must be a table"]),
    ("generate-bad-shape", BASE + "[generate]\nshape='star'\ndepth=1\nrule='all'\n", ["[generate]", "shape='star'"]),
    ("generate-negative-depth", BASE + "[generate]\ndepth=-1\nbranching=2\nrule='all'\n", ["[generate]", "depth=-1"]),
    ("generate-float-depth", BASE + "[generate]\ndepth=2.5\nbranching=2\nrule='all'\n", ["[generate]", "depth=2.5"]),
    ("generate-no-branching", BASE + "[generate]\ndepth=2\nrule='all'\n", ["[generate]", "branching is missing"]),
    ("generate-branching-zero", BASE + "[generate]\ndepth=2\nbranching=0\nrule='all'\n", ["branching=0"]),
    ("generate-too-big", BASE + "[generate]\ndepth=30\nbranching=10\nrule='all'\n", ["[generate]", "depth=30", "2,000,000"]),
    ("generate-chain-branching", BASE + "[generate]\nshape='chain'\ndepth=2\nbranching=3\n", ["branching=3", "chain"]),
    ("generate-unknown-key", BASE + "[generate]\ndepth=2\nbranching=2\nrule='all'\nwidth=2\n", ["[generate]", "'width'"]),
    ("generate-rule-in-leaves", BASE + "[generate]\ndepth=2\nbranching=2\nrule='all'\n[generate.leaves]\nrule='any'\n",
     ["[generate.leaves]", "unknown key 'rule'"]),
    ("generate-rule-twice", BASE + "[generate]\ndepth=2\nbranching=2\nrule='all'\n[generate.internal]\nrule='any'\n",
     ["[generate]", "rule is given both"]),
    ("generate-at-least-too-many", BASE + "[generate]\ndepth=2\nbranching=2\nrule='at_least:3'\n",
     ["node 'L0_0'", "rule='at_least:3'"]),
    ("generate-member", BASE + "[generate]\ndepth=1\nbranching=2\nrule='all'\n[blind_spots.g]\nprobability=0.1\n"
     "members=['L1_2']\n", ["blind spot 'g'", "member 'L1_2'"]),
    ("not-toml", "name = \n", ["not valid TOML"]),
    ("generate-astronomical", BASE + "[generate]\ndepth=1100\nbranching=2\nrule='all'\n",
     ["[generate]", "depth=1100", "2,000,000"]),
    ("generate-huge-depth", BASE + "[generate]\ndepth=9223372036854775807\nbranching=2\nrule='all'\n",
     ["[generate]", "depth=9223372036854775807", "2,000,000"]),
    ("long-integer", BASE + "[nodes.a]\nprior = " + "9" * 3000 + "\n", ["node 'a'", "prior=a 3000-digit integer"]),
    ("too-long-integer", BASE + "[nodes.a]\nprior = " + "9" * 5000 + "\n", ["node 'a'", "prior=a 5000-digit integer"]),
    ("weight-on-root", BASE + "[nodes.r]\nrule='all'\nweight=7\n[nodes.a]\nparent='r'\n",
     ["node 'r'", "weight=7", "the root has no parent"]),
    ("long-string-cut", BASE + "[nodes.r]\nrule='" + "x" * 200 + "'\n[nodes.a]\nparent='r'\n",
     ["node 'r'", "rule='xxxxxxxx", "..."]),
]


def write(tmp_path: Path, text: str, name: str = "spec.toml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("text,fragments", [c[1:] for c in TOML_ERRORS], ids=[c[0] for c in TOML_ERRORS])
def test_input_error_names_file_node_and_key(tmp_path, capsys, text, fragments):
    path = write(tmp_path, text)
    with pytest.raises(SpecError) as info:
        rrm.load_spec(path)
    message = str(info.value)
    assert message.startswith(str(path) + ": ")
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    code, out, err = run_cli(["analyze", str(path)], capsys)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err == f"rrm-theory: error: {message}\n"


FILE_ERRORS = [
    ("json-syntax", "spec.json", b'{"name": "x",}', ["spec.json", "not valid JSON", "line 1"]),
    ("json-duplicate", "spec.json", b'{"name": "x", "name": "y"}', ["duplicate key 'name'"]),
    ("json-nan", "spec.json", b'{"influence": NaN}', ["NaN is not a JSON number"]),
    ("json-list", "spec.json", b"[1, 2]", ["a spec is a table of keys, got a list"]),
    ("json-string-probability", "spec.json",
     b'{"defaults": {"error": "0.1", "prior": 0.5}, "nodes": {"a": {}}}', ["[defaults]", "error='0.1'"]),
    ("suffix", "spec.yaml", b"name: x", ["spec.yaml", "unknown spec format '.yaml'", ".toml or .json"]),
    ("not-utf8", "spec.toml", b'name = "\xff\xfe"', ["not UTF-8"]),
    ("deep-nesting", "spec.json", b"[" * 100_000 + b"]" * 100_000, ["spec.json: nested too deeply"]),
    ("json-null", "spec.json", b'{"defaults": {"error": 0.1, "prior": 0.5}, "nodes": {"a": {"parent": null}}}',
     ["node 'a'", "parent=null is not a string"]),
    ("json-lone-surrogate", "spec.json", b'{"defaults": {"error": 0.1, "prior": 0.5}, "nodes": {"\\ud800": {}}}',
     ["not valid JSON", "lone surrogate"]),
    ("json-too-long-integer", "spec.json", b'{"influence": ' + b"9" * 5000 + b"}", ["influence=a 5000-digit integer"]),
]


@pytest.mark.parametrize("name,data,fragments", [c[1:] for c in FILE_ERRORS], ids=[c[0] for c in FILE_ERRORS])
def test_file_level_errors(tmp_path, capsys, name, data, fragments):
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(SpecError) as info:
        rrm.load_spec(path)
    for fragment in fragments:
        assert fragment in str(info.value)
    code, _, err = run_cli(["analyze", str(path)], capsys)
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err


def test_missing_file(tmp_path, capsys):
    code, _, err = run_cli(["analyze", str(tmp_path / "nope.toml")], capsys)
    assert code == 2
    assert err == f"rrm-theory: error: {tmp_path / 'nope.toml'}: cannot read: No such file or directory\n"


# ------------------------------------------------------------ values and defaults


def test_defaults_apply_by_role():
    tree = rrm.load_spec(
        write(
            Path(pytest.importorskip("tempfile").mkdtemp()),
            """
            name = "roles"
            [defaults]
            false_accept = 0.1
            false_reject = 0.2
            prior = 0.7
            coverage = 0.9
            rule = "any"
            audit = 0.3
            threshold = 0.5
            weight = 2
            [nodes.r]
            rule = "weighted"
            [nodes.a]
            parent = "r"
            [nodes.b]
            parent = "r"
            error = 0.05
            [nodes.c]
            parent = "r"
            [nodes.d]
            parent = "c"
            """,
        )
    )
    r, a, b, c, d = (tree.nodes[v] for v in "rabcd")
    assert r == {"rule": "weighted", "threshold": 0.5, "coverage": 0.9, "false_accept": 0.1,
                 "false_reject": 0.2, "deception": 0.0, "audit": 0.0, "exposure": 0.0}  # fmt: skip
    assert a == {"weight": 2.0, "prior": 0.7, "false_accept": 0.1, "false_reject": 0.2,
                 "deception": 0.0, "audit": 0.3, "exposure": 1.0}  # fmt: skip
    assert (b["false_accept"], b["false_reject"]) == (0.05, 0.05)
    assert c["rule"] == "any" and "threshold" not in c and c["weight"] == 2.0 and "prior" not in c
    assert "weight" not in d and d["audit"] == 0.3


def test_audit_zero_on_root_is_accepted():
    tree = rrm.from_dict({"defaults": {"error": 0.1, "prior": 0.5}, "nodes": {"a": {"audit": 0}}})
    assert tree.nodes["a"]["audit"] == 0.0


def test_single_node_tree_is_a_human_judging_directly():
    tree = rrm.from_dict({"nodes": {"a": {"prior": 0.8, "false_accept": 0.1, "false_reject": 0.2}}})
    root = rrm.exact_analysis(tree).root
    assert (root.p_good, root.false_accept, root.false_reject) == (0.8, 0.1, 0.2)


def test_json_and_toml_give_the_same_tree(tmp_path):
    spec = {"name": "same", "defaults": {"error": 0.1, "prior": 0.5},
            "nodes": {"r": {"rule": "majority"}, "a": {"parent": "r"}, "b": {"parent": "r"}}}  # fmt: skip
    (tmp_path / "same.json").write_text(json.dumps(spec))
    (tmp_path / "same.toml").write_text(rrm.dumps_spec(rrm.from_dict(spec)))
    a, b = rrm.load_spec(tmp_path / "same.json"), rrm.load_spec(tmp_path / "same.toml")
    assert nx.utils.graphs_equal(a, b) and a.graph == b.graph


def test_name_defaults_to_the_file_stem(tmp_path):
    path = write(tmp_path, "[defaults]\nerror=0.1\nprior=0.5\n[nodes.a]\n", "my-tree.toml")
    assert rrm.load_spec(path).graph["name"] == "my-tree"


def test_generate_matches_the_python_generator():
    spec = {
        "name": "balanced-3x2-majority",
        "defaults": {"prior": 0.6},
        "generate": {"shape": "balanced", "depth": 3, "branching": 2, "rule": "majority",
                     "leaves": {"error": 0.1}, "internal": {"error": 0.05, "coverage": 0.99}},
    }  # fmt: skip
    from_spec = rrm.from_dict(spec)
    from_python = rrm.balanced(3, 2, rule="majority", prior=0.6, leaves={"error": 0.1},
                               internal={"error": 0.05, "coverage": 0.99})  # fmt: skip
    assert nx.utils.graphs_equal(from_spec, from_python)
    assert from_spec.number_of_nodes() == 15
    assert from_spec.nodes["L0_0"]["audit"] == 0.0 and from_spec.nodes["L3_7"]["false_accept"] == 0.1


def test_generated_chain_needs_no_rule():
    tree = rrm.from_dict({"defaults": {"error": 0.1, "prior": 0.5}, "generate": {"shape": "chain", "depth": 3}})
    assert [tree.nodes[v]["rule"] for v in ("L0_0", "L1_0", "L2_0")] == ["all"] * 3


# ------------------------------------------------------------ round trips


def assert_round_trip(tree: nx.DiGraph, tmp_path: Path) -> None:
    for suffix in (".toml", ".json"):
        path = tmp_path / f"round{suffix}"
        rrm.write_spec(tree, path)
        again = rrm.load_spec(path)
        assert nx.utils.graphs_equal(again, tree)
        assert list(again) == list(rrm.to_dict(tree)["nodes"])
        assert again.graph == tree.graph


@settings(max_examples=150, deadline=None)
@given(tree_specs(max_nodes=7))
def test_round_trip_of_drawn_trees(tmp_path_factory, spec):
    assert_round_trip(rrm.from_dict(spec), tmp_path_factory.mktemp("rt"))


@pytest.mark.parametrize("path", sorted(Path("models").glob("*.toml")), ids=lambda p: p.stem)
def test_round_trip_of_the_catalog(tmp_path, path):
    assert_round_trip(rrm.load_spec(path), tmp_path)


def test_written_spec_keeps_awkward_names_and_exact_floats(tmp_path):
    spec = {"name": 'quo"te', "description": "tab\there",
            "nodes": {"a b": {"rule": "all", "error": 0.1},
                      "ü.x": {"parent": "a b", "prior": 1 / 3, "false_accept": 1e-20, "false_reject": 5e-324}}}  # fmt: skip
    assert_round_trip(rrm.from_dict(spec), tmp_path)


def test_elo_sets_false_accept_from_the_capability_gap():
    tree = rrm.from_dict({"target_elo": 1500, "defaults": {"false_reject": 0.05, "prior": 0.7, "false_accept": 0.3},
                          "nodes": {"r": {"rule": "all", "elo": 1900}, "a": {"parent": "r", "elo": 1500},
                                    "b": {"parent": "r"}}})  # fmt: skip
    assert tree.nodes["a"]["false_accept"] == pytest.approx(0.5)
    assert tree.nodes["r"]["false_accept"] == pytest.approx(1 / 11)  # 400 Elo ahead: fooled 1 time in 11
    assert tree.nodes["b"]["false_accept"] == 0.3  # the default still applies where no elo is given
    for bad, fragment in [
        ({"defaults": {"false_reject": 0.1, "prior": 0.5}, "nodes": {"a": {"elo": 1400}}}, "needs target_elo"),
        ({"target_elo": 1500, "defaults": {"false_reject": 0.1, "prior": 0.5},
          "nodes": {"a": {"elo": 1400, "false_accept": 0.1}}}, "both given"),
        ({"target_elo": "high", "nodes": {"a": {}}}, "target_elo='high'"),
    ]:  # fmt: skip
        with pytest.raises(SpecError, match=fragment):
            rrm.from_dict(bad)


def test_a_file_name_with_a_newline_keeps_messages_on_one_line(tmp_path, capsys):
    path = tmp_path / "two\nlines.toml"
    path.write_text("[nodes.a]\nprior = 2\n")
    with pytest.raises(SpecError) as info:
        rrm.load_spec(path)
    assert "\n" not in str(info.value) and "prior=2" in str(info.value)
    assert main(["analyze", str(path)]) == 2
    assert capsys.readouterr().err.count("\n") == 1


# ------------------------------------------------------------ hostile files, clean messages

VALID = "[defaults]\nerror = 0.1\nprior = 0.5\n[nodes.a]\n"


@contextlib.contextmanager
def deadline(seconds: float = 5.0):
    """Fail instead of hanging if the body blocks (a FIFO opened for reading, say)."""
    if not hasattr(signal, "setitimer"):
        yield
        return

    def fire(signum, frame):
        raise TimeoutError(f"blocked for more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextlib.contextmanager
def memory_cap(extra: int = 1 << 30):
    """Cap the address space at its present size plus ``extra`` (Linux), so that reading
    /dev/zero whole fails with MemoryError instead of exhausting the machine's memory
    (the read never returns to the interpreter, so no alarm can stop it)."""
    try:
        import resource

        with open("/proc/self/status") as status:
            size = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmSize:"))
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    except (ImportError, OSError, StopIteration):
        yield
        return
    cap = size + extra if hard == resource.RLIM_INFINITY else min(size + extra, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def one_error(path: Path, capsys, *fragments: str) -> str:
    """load_spec raises one SpecError line naming the file and every fragment, promptly;
    ``rrm-theory analyze`` prints it as its one stderr line and exits 2."""
    start = time.perf_counter()
    with memory_cap(), deadline(), pytest.raises(SpecError) as info:
        rrm.load_spec(path)
    assert time.perf_counter() - start < 2.0
    message = str(info.value)
    assert message.startswith(f"{path}: ") and "\n" not in message, message
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    with memory_cap(), deadline():
        code, out, err = run_cli(["analyze", str(path)], capsys)
    assert (code, out) == (2, "") and err == f"rrm-theory: error: {message}\n"
    return message


def test_a_directory_is_not_a_spec(tmp_path, capsys):
    (tmp_path / "spec.toml").mkdir()
    one_error(tmp_path / "spec.toml", capsys, "not a regular file (a directory)")


def test_a_fifo_is_refused_without_blocking(tmp_path, capsys):
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs here")
    os.mkfifo(tmp_path / "spec.toml")  # opening it for reading would wait for a writer
    one_error(tmp_path / "spec.toml", capsys, "not a regular file (a FIFO)")


def test_a_fifo_swapped_in_after_the_first_look_is_refused_without_blocking(tmp_path, monkeypatch):
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs here")
    os.mkfifo(tmp_path / "spec.toml")


    checks = []
    real = _files._check_file

    def first_look_passes(info, path, label, *rest):  # as if a regular file stood there at os.stat
        checks.append(info)
        if len(checks) > 1:
            real(info, path, label, *rest)

    monkeypatch.setattr(_files, "_check_file", first_look_passes)
    with deadline(), pytest.raises(SpecError, match=r"not a regular file \(a FIFO\)"):
        rrm.load_spec(tmp_path / "spec.toml")
    assert len(checks) == 2  # opened without blocking, then refused from the open descriptor


def test_a_socket_is_not_a_spec(tmp_path, capsys):
    if not hasattr(socket, "AF_UNIX"):
        pytest.skip("no Unix sockets here")
    path = tmp_path / "s.toml"
    if len(str(path)) > 100:
        pytest.skip("the path is too long for a socket address")
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(path))
        one_error(path, capsys, "not a regular file (a socket)")


@pytest.mark.parametrize("device,suffix", [("/dev/zero", ".toml"), ("/dev/urandom", ".json"), ("/dev/null", ".toml")])
def test_a_link_to_a_device_is_refused_unread(tmp_path, capsys, device, suffix):
    if not os.path.exists(device):
        pytest.skip(f"no {device} here")
    link = tmp_path / f"spec{suffix}"
    link.symlink_to(device)
    one_error(link, capsys, "not a regular file (a character device", os.path.realpath(device))


def test_a_link_to_a_regular_file_is_followed(tmp_path):
    (tmp_path / "real.toml").write_text(VALID)
    (tmp_path / "link.toml").symlink_to(tmp_path / "real.toml")
    assert list(rrm.load_spec(tmp_path / "link.toml")) == ["a"]


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(tmp_path, capsys, monkeypatch):
    assert spec_module.MAX_SPEC_BYTES >= 256 * 2**20
    path = write(tmp_path, VALID)
    monkeypatch.setattr(spec_module, "MAX_SPEC_BYTES", 16)
    reads = []
    monkeypatch.setattr(os, "read", lambda fd, n: reads.append(n) or b"")
    one_error(path, capsys, f"too large: {len(VALID)} bytes", "16 bytes")
    assert reads == []  # refused from its size alone
    monkeypatch.undo()
    monkeypatch.setattr(spec_module, "MAX_SPEC_BYTES", len(VALID))
    assert list(rrm.load_spec(path)) == ["a"]  # at the limit: read


def test_a_file_is_never_read_past_the_limit(tmp_path, monkeypatch):
    """A file that is (or grows) larger than the stat said is read up to one byte past
    the limit, then refused."""
    path = write(tmp_path, VALID + "# padding\n" * 100_000)
    monkeypatch.setattr(spec_module, "MAX_SPEC_BYTES", 100)
    monkeypatch.setattr(_files, "_check_file", lambda *args: None)  # as if it grew afterwards
    real_read, read = os.read, []

    def counted(fd, n):
        data = real_read(fd, n)
        read.append(len(data))
        return data

    monkeypatch.setattr(os, "read", counted)
    with pytest.raises(SpecError, match="more than the 100 bytes a spec file may have"):
        rrm.load_spec(path)
    assert sum(read) == 101


def test_a_file_that_cannot_be_opened_names_the_reason(tmp_path, capsys, monkeypatch):
    path = write(tmp_path, VALID)
    real_open = os.open

    def denied(p, *args, **kwargs):
        if os.fspath(p) == str(path):
            raise PermissionError(13, "Permission denied")
        return real_open(p, *args, **kwargs)

    monkeypatch.setattr(os, "open", denied)
    assert one_error(path, capsys) == f"{path}: cannot read: Permission denied"


def test_unreadable_file_for_real(tmp_path, capsys):
    if not hasattr(os, "geteuid") or os.geteuid() == 0:
        pytest.skip("root reads any file")
    path = write(tmp_path, VALID)
    path.chmod(0)
    try:
        assert one_error(path, capsys) == f"{path}: cannot read: Permission denied"
    finally:
        path.chmod(0o600)


def test_a_path_with_a_nul_character(capsys):
    with pytest.raises(SpecError, match=r"^'a\\x00b.toml': cannot read: the path contains a NUL character$"):
        rrm.load_spec("a\x00b.toml")
    assert main(["analyze", "a\x00b.toml"]) == 2 and capsys.readouterr().err.count("\n") == 1


def test_not_utf8_names_the_byte_and_line(tmp_path, capsys):
    path = tmp_path / "spec.toml"
    path.write_bytes(b'name = "x"\n\nnote = "caf\xe9"\n')
    one_error(path, capsys, "not UTF-8 text (byte 23, on line 3)")


JSON_PROBLEMS = [
    ("nan", b'{"nodes": {"a": {"prior": NaN}}}', ["node 'a'", "prior=NaN is not a JSON number"]),
    ("infinity", b'{"influence": Infinity}', ["influence=Infinity is not a JSON number"]),
    ("minus-infinity", b'{"defaults": {"error": -Infinity}}', ["[defaults]", "error=-Infinity is not a JSON number"]),
    ("nan-in-a-list", b'{"blind_spots": {"g": {"probability": 0.1, "members": ["a", NaN]}}}',
     ["blind spot 'g'", "members[1]=NaN"]),
    ("duplicate-top", b'{"name": "x", "name": "y"}', ["duplicate key 'name'"]),
    ("duplicate-in-node", b'{"nodes": {"heat": {"false_accept": 0.1, "false_accept": 0.2}}}',
     ["node 'heat'", "duplicate key 'false_accept'"]),
    ("duplicate-node", b'{"nodes": {"heat": {}, "heat": {}}}', ["[nodes]", "duplicate key 'heat'"]),
    ("duplicate-deep", b'{"generate": {"leaves": {"error": 0.1, "error": 0.2}}}',
     ["[generate.leaves]", "duplicate key 'error'"]),
    ("first-in-document-order", b'{"a": 1, "a": 2, "nodes": {"b": {"c": 1, "c": 2}}}', ["duplicate key 'a'"]),
    ("syntax", b'{"name": "x",}', ["not valid JSON: Expecting property name", "line 1, column 14"]),
]  # fmt: skip


@pytest.mark.parametrize("data,fragments", [c[1:] for c in JSON_PROBLEMS], ids=[c[0] for c in JSON_PROBLEMS])
def test_json_problems_give_one_clean_message(tmp_path, capsys, data, fragments):
    path = tmp_path / "spec.json"
    path.write_bytes(data)
    message = one_error(path, capsys, *fragments)
    assert message.count("not valid JSON") <= 1 and message.count(str(path)) == 1


LONG = "9" * 5001
LONG_INTEGERS = [
    ("toml-prior", "spec.toml", BASE + f"[nodes.a]\nprior = {LONG}\n",
     ["node 'a'", "prior=a 5001-digit integer is not a probability in [0, 1]"]),
    ("json-prior", "spec.json", f'{{"nodes": {{"a": {{"prior": {LONG}}}}}}}',
     ["node 'a'", "prior=a 5001-digit integer is not a probability in [0, 1]"]),
    ("toml-negative", "spec.toml", BASE + f"[nodes.a]\nfalse_accept = -{LONG}\n",
     ["node 'a'", "false_accept=a negative 5001-digit"]),
    ("json-negative", "spec.json", f'{{"influence": -{LONG}}}', ["influence=a negative 5001-digit integer"]),
    ("toml-underscores", "spec.toml", BASE + f"[nodes.a]\nprior = 1_{LONG}\n",
     ["node 'a'", "prior=a 5002-digit integer"]),
    ("toml-in-a-list", "spec.toml", BASE + f"[blind_spots.g]\nprobability = 0.1\nmembers = ['a', {LONG}]\n[nodes.a]\n",
     ["blind spot 'g'", "members=['a', a 5001-digit integer] is not a list of node names"]),
    ("toml-depth", "spec.toml", BASE + f"[generate]\ndepth = {LONG}\nbranching = 2\nrule = 'all'\n",
     ["[generate]", "depth=a 5001-digit integer makes more than the 2,000,000 nodes"]),
    ("json-name", "spec.json", f'{{"name": {LONG}, "nodes": {{}}}}', ["name=a 5001-digit integer is not a string"]),
    ("toml-nodes-table", "spec.toml", f"nodes = {LONG}\n",
     ["[nodes]: must be a table of keys, got a 5001-digit integer"]),
    ("toml-then-syntax", "spec.toml", f"x = {LONG}\ny = = 1\n", ["not valid TOML: Invalid value (at line 2"]),
    ("toml-then-duplicate", "spec.toml", f"x = {LONG}\nx = 1\n", ["line 2: duplicate key 'x'"]),
]  # fmt: skip


@pytest.mark.parametrize("name,text,fragments", [c[1:] for c in LONG_INTEGERS], ids=[c[0] for c in LONG_INTEGERS])
def test_integers_too_long_to_convert_are_named_like_any_bad_value(tmp_path, capsys, name, text, fragments):
    path = tmp_path / name
    path.write_text(text)
    one_error(path, capsys, *fragments)


def test_long_digit_runs_elsewhere_in_toml_are_kept_exactly(tmp_path):
    """Where a long integer makes the reader take its second road, the digits in strings,
    keys and floats come back as written."""
    text = (f'description = "{LONG} and 1_{LONG}"\nnote = """\n{LONG}\n"""\n'
            f"f = {LONG}.5\nh = 0x{LONG}\n[nodes.{LONG}]\nprior = {LONG}\n")  # fmt: skip
    path = tmp_path / "spec.toml"
    path.write_text(text)
    doc = spec_module.load_spec_dict(path)
    assert doc["description"] == f"{LONG} and 1_{LONG}" and doc["note"] == LONG + "\n"
    assert doc["f"] == float(LONG + ".5") and doc["h"] == int(LONG, 16)
    assert list(doc["nodes"]) == [LONG] and str(doc["nodes"][LONG]["prior"]) == "a 5001-digit integer"


@pytest.mark.parametrize("limit,digits", [(0, 5001), (640, 700), (10_000, 5001)])
def test_long_integer_messages_follow_pythons_limit(tmp_path, limit, digits):
    """However sys.set_int_max_str_digits is set, the message counts the digits (with the
    limit lifted the integer is read, and shown without str())."""
    before = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(limit)
    try:
        for name, text in [("s.toml", BASE + f"[nodes.a]\nprior = {'7' * digits}\n"),
                           ("s.json", f'{{"nodes": {{"a": {{"prior": {"7" * digits}, "error": 0.1}}}}}}')]:  # fmt: skip
            (tmp_path / name).write_text(text)
            with pytest.raises(SpecError, match=f"node 'a': prior=a {digits}-digit integer is not a probability"):
                rrm.load_spec(tmp_path / name)
    finally:
        sys.set_int_max_str_digits(before)


TOML_DUPLICATES = [
    ("key", '[nodes.heat]\nprior = 0.5\nfalse_accept = 0.1\nerror = 0.1\nfalse_accept = 0.2\n',
     "line 5: node 'heat': duplicate key 'false_accept'"),
    ("quoted-key", '[nodes.heat]\nprior = 0.5\n"prior" = 0.6\n', "line 3: node 'heat': duplicate key 'prior'"),
    ("top-level", 'name = "x"\nname = "y"\n', "line 2: duplicate key 'name'"),
    ("dotted", "[nodes]\nheat.prior = 1\nheat.prior = 2\n", "line 3: node 'heat': duplicate key 'prior'"),
    ("multi-line-value", "[defaults]\nerror = 0.1\nrule = [\n'all',\n]\nrule = [\n'any',\n]\n",
     "line 6: [defaults]: duplicate key 'rule'"),
    ("crlf", "[nodes.a]\r\nprior = 1\r\nprior = 2\r\n", "line 3: node 'a': duplicate key 'prior'"),
    ("at-the-end-without-newline", "[nodes.a]\nprior = 1\nprior = 2", "line 3: node 'a': duplicate key 'prior'"),
    ("inline-table", "[nodes]\na = {prior = 1, prior = 2}\n", "line 2: [nodes]: duplicate key 'prior'"),
    ("table", BASE + "[nodes.heat]\nprior = 0.5\n[nodes.heat]\nerror = 0.1\n",
     "line 8: table [nodes.heat] is declared twice"),
    ("table-over-value", "defaults = 1\n[defaults]\n", "line 2: table [defaults] is declared where a value is written"),
    ("escaped-name", '[nodes."h\\u001beat"]\nprior = 1\nprior = 2\n', "line 3: node 'h\\x1beat': duplicate key 'prior'"),
]  # fmt: skip


@pytest.mark.parametrize("text,fragment", [c[1:] for c in TOML_DUPLICATES], ids=[c[0] for c in TOML_DUPLICATES])
def test_toml_duplicates_name_the_line_the_table_and_the_key(tmp_path, capsys, text, fragment):
    path = tmp_path / "spec.toml"
    path.write_bytes(text.encode())
    message = one_error(path, capsys, fragment)
    assert "\x1b" not in message and "Cannot overwrite" not in message


def test_names_and_values_with_terminal_escapes_are_escaped_in_messages(tmp_path, capsys):
    path = tmp_path / "spec.json"
    nodes = {"r\u202e": {"rule": "all"}, "a\x1b[2J": {"parent": "r\u202e", "prior": 2.0}}
    path.write_text(json.dumps({"defaults": {"error": 0.1}, "nodes": nodes}))
    message = one_error(path, capsys, "node 'a\\x1b[2J': prior=2.0")
    for sly in ("\x1b", "\u202e"):
        assert sly not in message
    nodes = {"r": {"rule": "all"}, "x": {"parent": "r"}, "a": {"parent": "b\x1b[0m"}, "b\x1b[0m": {"parent": "a"}}
    path.write_text(json.dumps({"nodes": nodes, "defaults": {"error": 0.1, "prior": 0.5}}))
    message = one_error(path, capsys, "cycle")
    assert "\x1b" not in message and "b\\x1b[0m" in message
    path.write_text(json.dumps({"nodes": {"a": {"prior": 0.5, "rule": "most\x07"}}}))
    assert "\x07" not in one_error(path, capsys, "rule='most\\x07'")
