"""Every command's --json output against its JSON Schema in docs/schemas (JSON Lines, one object each)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rrm_theory.cli import main

jsonschema = pytest.importorskip("jsonschema")
SCHEMAS = Path(__file__).resolve().parent.parent / "docs" / "schemas"


def validator(command: str):
    schema = json.loads((SCHEMAS / f"{command}.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def lines(args, capsys) -> list[dict]:
    main(args)
    out = capsys.readouterr().out
    assert out.endswith("\n")
    return [json.loads(line) for line in out.splitlines()]  # each line is one whole object


def ring_spec(tmp_path: Path) -> Path:
    nodes = "".join(f'[nodes.c{i}]\nparent = "r"\n' for i in range(17))
    groups = "".join(f'[blind_spots.g{i}]\nprobability = 0.1\nmembers = ["c{i}", "c{(i + 1) % 17}"]\n'
                     for i in range(17))  # fmt: skip
    path = tmp_path / "ring.toml"
    path.write_text('[defaults]\nerror = 0.1\nprior = 0.5\n' + groups + '[nodes.r]\nrule = "majority"\n' + nodes)
    return path


CATALOG = sorted(str(p) for p in Path("models").glob("*.toml"))


@pytest.mark.parametrize("options", [
    [],
    ["--per-node"],
    ["--samples", "20000", "--seed", "4", "--per-node"],
    ["--method", "monte-carlo", "--samples", "5000", "--seed", "2", "--ci-width", "0.001", "--max-samples", "10000"],
    ["--bounds", "none", "--no-adversary", "--no-importance"],
    ["--bounds", "fast", "--budget", "0", "--corrupt-root"],
])  # fmt: skip
def test_analyze_lines_match_the_schema(options, capsys):
    check = validator("analyze")
    got = lines(["analyze", *CATALOG, "--json", *options], capsys)
    assert len(got) == len(CATALOG)
    for obj in got:
        check.validate(obj)


def test_analyze_of_a_tree_exact_analysis_declines_matches_the_schema(tmp_path, capsys):
    (obj,) = lines(["analyze", str(ring_spec(tmp_path)), "--json", "--samples", "5000", "--seed", "1"], capsys)
    validator("analyze").validate(obj)
    assert obj["method"] == "monte-carlo" and obj["importance"][0]["intervals"] is not None


def test_check_lines_match_the_schema(capsys):
    check = validator("check")
    for obj in lines(["check", *CATALOG, "--json"], capsys):
        check.validate(obj)


def test_schemas_are_strict():
    """A key the schema does not name is rejected: the schema documents every key."""
    with pytest.raises(jsonschema.ValidationError):
        validator("check").validate({"schema": "rrm-theory/check/1", "version": "x", "name": "n", "source": "s",
                                     "all_hold": True, "assumptions": [], "surprise": 1})  # fmt: skip
