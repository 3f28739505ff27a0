"""Study files: declarative sweeps over specs or theory parameters (docs/studies.md).

A study names a model (a spec file, an inline ``[model]`` table, or for the theory
kinds a ``[parameters]`` table), the methods to run on it, their options, and the
axes to vary: ``[vary]`` axes form a product grid, each ``[zip.GROUP]`` varies its
axes together, ``[quick]`` gives smaller axes for a quick run. Every point is
resolved to a spec (or parameter set), validated like any spec, and keyed by a
hash of what it computes; its random stream is ``SeedSequence(seed, spawn_key=<from
the key>)``, so its numbers depend on nothing else.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from ..errors import SpecError
from ._paths import parse_path, set_path, show_path

__all__ = ["Study", "Point", "load_study", "study_from_dict", "METHODS", "KINDS", "axis_values"]

#: The methods of an analysis study: the words of ``analyze --method`` and the extras.
METHODS = ("exact", "monte-carlo", "bounds", "robustness", "importance")
#: Study kinds: ``analysis`` (specs), or one of the theory commands.
KINDS = ("analysis", "threshold", "fixed-point", "depth", "levels", "nso")
_TOP_KEYS = {"name", "description", "model", "kind", "seed", "methods", "options", "vary", "zip", "quick", "parameters"}
# analyze's long options each method takes, as study option names
_METHOD_OPTIONS = {
    "exact": (),
    "monte-carlo": ("samples", "ci-width", "max-samples", "confidence", "interval", "batch-size"),
    "bounds": ("bounds", "bounds-budget"),
    "robustness": ("budget", "corrupt-root"),
    "importance": ("samples", "confidence"),
}


@dataclass(frozen=True)
class Point:
    """One unit of work: a resolved spec (or theory parameters), a method and its options.

    Attributes
    ----------
    study : str
        The study's name.
    kind : str
        ``"analysis"`` or a theory command.
    method : str
        One of :data:`METHODS`, or the theory command.
    values : tuple of (str, object)
        The axis values of this point, by axis path.
    spec : dict or None
        The resolved spec dictionary (analysis studies).
    parameters : dict or None
        The theory command's options (theory studies).
    options : dict
        The method's options (analyze's long option names without ``--``).
    key : str
        A hash of the kind, spec or parameters, method and options.

    Examples
    --------
    >>> study = study_from_dict({"methods": ["exact"], "vary": {"generate.depth": [1, 2]},
    ...     "model": {"defaults": {"error": 0.1, "prior": 0.5}, "generate": {"shape": "chain", "depth": 1}}})
    >>> point = study.points()[1]
    >>> point.method, point.values, point.spec["generate"]["depth"], len(point.key)
    ('exact', (('generate.depth', 2),), 2, 64)
    """

    study: str
    kind: str
    method: str
    values: tuple[tuple[str, Any], ...]
    spec: dict[str, Any] | None
    parameters: dict[str, Any] | None
    options: dict[str, Any]
    key: str

    def seed_sequence(self, seed: int) -> np.random.SeedSequence:
        """This point's random stream: ``SeedSequence(seed, spawn_key=<four words of the key>)``."""
        words = tuple(int(self.key[i : i + 8], 16) for i in range(0, 32, 8))
        return np.random.SeedSequence(seed, spawn_key=words)


@dataclass(frozen=True)
class Study:
    """A parsed, validated study file.

    Attributes
    ----------
    name, description : str
    path : pathlib.Path or None
        The study file (relative spec paths are read from its folder).
    kind : str
        ``"analysis"`` or a theory command (:data:`KINDS`).
    seed : int
        Every stochastic method's seed derives from it.
    methods : tuple of str
        The methods run on every point (analysis studies).
    options : dict
        Per-method options.
    base : dict
        The model's spec dict (empty when a ``model`` axis names the spec files),
        or a theory study's ``[parameters]``.
    axes : list of list of (path, values)
        The grid's dimensions: a plain axis is a dimension of its own; a zip group's
        axes are one dimension, varied together.
    quick : dict
        Axis path -> smaller values for a quick run.

    Examples
    --------
    >>> study = study_from_dict({"name": "depth", "methods": ["exact"], "vary": {"generate.depth": [1, 2, 3]},
    ...     "model": {"defaults": {"error": 0.1, "prior": 0.5}, "generate": {"shape": "chain", "depth": 1}}})
    >>> study.name, study.kind, study.methods, study.seed, study.label
    ('depth', 'analysis', ('exact',), 0, "study 'depth'")
    >>> len(study.points())
    3
    """

    name: str
    description: str
    path: Path | None
    kind: str
    seed: int
    methods: tuple[str, ...]
    options: dict[str, dict[str, Any]]
    base: dict[str, Any]
    axes: list[list[tuple[str, list[Any]]]]
    quick: dict[str, list[Any]] = field(default_factory=dict)
    _cache: dict[bool, list[Point]] = field(default_factory=dict, repr=False, compare=False)

    @property
    def label(self) -> str:
        """What messages name the study by: its file, or ``study '<name>'``."""
        return str(self.path) if self.path is not None else f"study {self.name!r}"

    def points(self, *, quick: bool = False) -> list[Point]:
        """Every point of the grid, validated; ``quick`` uses the ``[quick]`` axes.

        Raises
        ------
        SpecError
            For a point whose spec is not valid, naming the study file, the axis
            values and the key.
        """
        if quick in self._cache:  # resolving and validating every point once is enough
            return list(self._cache[quick])
        dims = [[(p, self.quick.get(p, v) if quick else v) for p, v in dim] for dim in self.axes]
        for dim in dims:
            lengths = {len(v) for _, v in dim}
            if len(lengths) > 1:
                names = ", ".join(p for p, _ in dim)
                raise SpecError(f"{self.label}: zip axes {names} have different lengths {sorted(lengths)}"
                                + (" in [quick]" if quick else ""))  # fmt: skip
        combos = itertools.product(*[range(len(dim[0][1])) for dim in dims]) if dims else [()]
        out, seen = [], set()
        for combo in combos:
            values = tuple((path, values[i]) for dim, i in zip(dims, combo) for path, values in dim)
            for point in self._resolve(values):
                if (point.key, point.method) not in seen:
                    seen.add((point.key, point.method))
                    out.append(point)
        self._cache[quick] = out
        return list(out)

    def _resolve(self, values: tuple[tuple[str, Any], ...]) -> Iterator[Point]:
        where = f"{self.label}: " + ", ".join(f"{path}={_show(v)}" for path, v in values) if values else self.label
        if self.kind != "analysis":
            parameters = dict(self.base)
            for path, v in values:
                parameters[path] = v
            options = _theory_options(self.kind, parameters, where)
            yield Point(self.name, self.kind, self.kind, values, None, options, {}, _key(self.kind, options, {}))
            return
        spec = self.base
        for path, v in values:
            if path == "model":
                spec = _load_model(v, self.path, where)
                continue
        for path, v in values:
            if path == "model":
                continue
            try:
                spec = set_path(spec, parse_path(path), v)
            except KeyError as exc:
                raise SpecError(f"{where}: axis {path}: {exc.args[0]} does not exist in the model") from None
        _validate_spec(spec, where)
        for method in self.methods:
            options = self.options.get(method, {})
            yield Point(self.name, "analysis", method, values, spec, None, options, _key(method, spec, options))


def _show(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, str) else value
    return text if len(text) <= 40 else text[:37] + "..."


def _key(method: str, model: dict[str, Any], options: dict[str, Any]) -> str:
    canonical = json.dumps({"method": method, "model": model, "options": options}, sort_keys=True,
                           separators=(",", ":"), allow_nan=False)  # fmt: skip
    return hashlib.sha256(canonical.encode()).hexdigest()


def _validate_spec(spec: dict[str, Any], where: str) -> None:
    from ..spec import from_dict

    try:
        from_dict(spec, source=where)
    except SpecError:
        raise
    except (TypeError, ValueError) as exc:  # pragma: no cover - from_dict reports its errors as SpecError
        raise SpecError(f"{where}: {exc}") from None


def _load_model(value: Any, study_path: Path | None, where: str) -> dict[str, Any]:
    from ..spec import load_spec_dict

    if isinstance(value, dict):
        return value
    if not isinstance(value, str):
        raise SpecError(f"{where}: model={_show(value)} is not a spec file path or a [model] table")
    path = Path(value)
    if not path.is_absolute() and study_path is not None:
        path = study_path.parent / path
    try:
        return load_spec_dict(path)
    except SpecError as exc:
        raise SpecError(f"{where}: {exc}") from None


def axis_values(raw: Any, where: str) -> list[Any]:
    """An axis's values, from a list or a range written in a study file.

    Parameters
    ----------
    raw : list or dict
        A list, ``{values = [...]}``, ``{start, stop, num}`` (evenly spaced, ends
        included; whole numbers when the ends and the step are), or
        ``{logspace = {start, stop, num}}`` (geometrically spaced). Spaced values are
        rounded to 12 significant digits.
    where : str
        The message prefix naming the file and the axis.

    Returns
    -------
    list
        The values, at least one.

    Raises
    ------
    SpecError
        For any other form, no values, ends that are not finite numbers (or not
        > 0 for ``logspace``), or ``num`` not a whole number in 1..1,000,000.

    Examples
    --------
    >>> axis_values({"start": 0.1, "stop": 0.3, "num": 3}, "x")
    [0.1, 0.2, 0.3]
    >>> axis_values({"start": 0, "stop": 8, "num": 5}, "x")
    [0, 2, 4, 6, 8]
    >>> axis_values({"logspace": {"start": 0.001, "stop": 0.1, "num": 3}}, "x")
    [0.001, 0.01, 0.1]
    """
    if isinstance(raw, list):
        values = raw
    elif isinstance(raw, dict) and set(raw) == {"values"} and isinstance(raw["values"], list):
        values = raw["values"]
    elif isinstance(raw, dict) and set(raw) == {"start", "stop", "num"}:
        values = _spaced(raw, where, log=False)
    elif isinstance(raw, dict) and set(raw) == {"logspace"} and isinstance(raw["logspace"], dict) \
            and set(raw["logspace"]) == {"start", "stop", "num"}:  # fmt: skip
        values = _spaced(raw["logspace"], where, log=True)
    else:
        raise SpecError(f"{where}: is not a list of values, {{values = [...]}}, {{start, stop, num}} or "
                        f"{{logspace = {{start, stop, num}}}}")  # fmt: skip
    if not values:
        raise SpecError(f"{where}: has no values")
    return list(values)


def _number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _spaced(table: dict[str, Any], where: str, *, log: bool) -> list[Any]:
    start, stop, num = table["start"], table["stop"], table["num"]
    if not (_number(start) and _number(stop)):
        raise SpecError(f"{where}: start and stop must be finite numbers")
    if isinstance(num, bool) or not isinstance(num, int) or num < 1 or num > 1_000_000:
        raise SpecError(f"{where}: num={_show(num)} is not a whole number in 1..1,000,000")
    if log:
        if start <= 0 or stop <= 0:
            raise SpecError(f"{where}: logspace start and stop must be > 0")
        raw = np.geomspace(start, stop, num)
        return [float(x) for x in _clean(raw)]
    if num > 1 and isinstance(start, int) and isinstance(stop, int) and (stop - start) % (num - 1) == 0:
        step = (stop - start) // (num - 1)
        return [start + k * step for k in range(num)]
    return [float(x) for x in _clean(np.linspace(start, stop, num))]


def _clean(values: np.ndarray) -> np.ndarray:
    """Spaced values rounded to 12 significant digits, so that 0.1 + 2 * 0.05 reads as 0.2."""
    return np.array([float(f"{x:.12g}") for x in values])


def _theory_options(kind: str, parameters: dict[str, Any], where: str) -> dict[str, Any]:
    """The theory command's options from the point's parameters, validated by the command's parser."""
    from ._theory import validate

    return validate(kind, parameters, where)


def load_study(path: str | Path) -> Study:
    """Read and validate a study file (TOML).

    Parameters
    ----------
    path : str or pathlib.Path
        The study file (docs/studies.md); a relative spec path in it is read from its folder.

    Returns
    -------
    Study
        Its points are resolved and validated by :meth:`Study.points`.

    Raises
    ------
    SpecError
        One line naming the file, the axis or table and the key; also for a file that
        cannot be read or is not ``.toml``.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "s.toml").write_text('''
    ... name = "depth"
    ... methods = ["exact"]
    ... [model]
    ... defaults = { error = 0.1, prior = 0.5 }
    ... generate = { shape = "balanced", depth = 1, branching = 3, rule = "majority" }
    ... [vary]
    ... "generate.depth" = [1, 2, 3]
    ... ''')
    >>> study = load_study(folder / "s.toml")
    >>> [dict(p.values)["generate.depth"] for p in study.points()]
    [1, 2, 3]
    """
    from ..spec import load_spec_dict

    path = Path(path)
    if path.suffix.lower() != ".toml":
        raise SpecError(f"{path}: a study file is TOML (.toml)")
    raw = load_spec_dict(path)
    return study_from_dict(raw, path=path)


def study_from_dict(raw: Any, *, path: Path | None = None) -> Study:
    """A :class:`Study` from a parsed study file (the structure of docs/studies.md).

    Parameters
    ----------
    raw : dict
        The study's tables, as a TOML file parses.
    path : pathlib.Path, optional, keyword-only
        The file it came from: names it in messages, gives the default name (its
        stem), and is where relative spec paths are read from.

    Returns
    -------
    Study

    Raises
    ------
    SpecError
        For an unknown key, a value of the wrong type, an unknown kind or method,
        an axis that is not a path of a spec, or options a method does not take.

    Examples
    --------
    >>> study = study_from_dict({"methods": ["exact", "monte-carlo"],
    ...     "model": {"defaults": {"error": 0.1, "prior": 0.5}, "generate": {"shape": "chain", "depth": 1}}})
    >>> [p.method for p in study.points()]
    ['exact', 'monte-carlo']
    >>> study_from_dict({"kind": "proof"})
    Traceback (most recent call last):
    ...
    rrm_theory.errors.SpecError: study: kind=proof is not one of analysis, threshold, fixed-point, depth, levels, nso
    """
    label = str(path) if path is not None else "study"
    if not isinstance(raw, dict):
        raise SpecError(f"{label}: a study is a table of keys")
    unknown = sorted(set(raw) - _TOP_KEYS)
    if unknown:
        raise SpecError(f"{label}: unknown key {unknown[0]!r}; a study has {', '.join(sorted(_TOP_KEYS))}")
    name = raw.get("name", path.stem if path is not None else "study")
    if not isinstance(name, str) or not name:
        raise SpecError(f"{label}: name={_show(name)} is not a non-empty string")
    description = raw.get("description", "")
    if not isinstance(description, str):
        raise SpecError(f"{label}: description is not a string")
    kind = raw.get("kind", "analysis")
    if kind not in KINDS:
        raise SpecError(f"{label}: kind={_show(kind)} is not one of {', '.join(KINDS)}")
    seed = raw.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise SpecError(f"{label}: seed={_show(seed)} is not a whole number >= 0")
    vary = _table(raw, "vary", label)
    zips = _table(raw, "zip", label)
    quick_raw = _table(raw, "quick", label)
    axes: list[list[tuple[str, list[Any]]]] = []
    for axis, value in vary.items():
        axes.append([(_check_axis(axis, kind, label), axis_values(value, f"{label}: axis {axis}"))])
    for group, table in zips.items():
        if not isinstance(table, dict) or not table:
            raise SpecError(f"{label}: [zip.{group}] must be a table of axes varied together")
        axes.append([(_check_axis(axis, kind, label), axis_values(v, f"{label}: zip {group}: axis {axis}"))
                     for axis, v in table.items()])  # fmt: skip
    named = [p for dim in axes for p, _ in dim]
    if len(set(named)) != len(named):
        twice = next(p for p in named if named.count(p) > 1)
        raise SpecError(f"{label}: axis {twice} is varied twice ([vary] and [zip] together)")
    quick = {}
    for axis, value in quick_raw.items():
        if axis not in named:
            raise SpecError(f"{label}: [quick] axis {axis} is not an axis of [vary] or [zip]")
        quick[axis] = axis_values(value, f"{label}: [quick] axis {axis}")
    if kind == "analysis":
        methods, options, base = _analysis_parts(raw, label, named, path)
    else:
        methods, options, base = _theory_parts(raw, kind, label)
    return Study(name, description, path, kind, seed, methods, options, base, axes, quick)


def _table(raw: dict[str, Any], key: str, label: str) -> dict[str, Any]:
    value = raw.get(key, {})
    if not isinstance(value, dict):
        raise SpecError(f"{label}: [{key}] must be a table")
    return value


def _check_axis(axis: str, kind: str, label: str) -> str:
    if kind != "analysis":
        if "." in axis:
            raise SpecError(f"{label}: axis {axis}: a {kind} study varies its parameters by name (no dots)")
        return axis
    if axis == "model":
        return axis
    try:
        path = parse_path(axis)
    except ValueError as exc:
        raise SpecError(f"{label}: axis {axis}: {exc}") from None
    if path[0] not in ("nodes", "defaults", "generate", "blind_spots", "influence", "name", "description",
                       "unaided_error", "human_reach", "target_elo"):  # fmt: skip
        raise SpecError(f"{label}: axis {axis}: {path[0]!r} is not a table or key of a spec")
    return show_path(path) if show_path(path) == axis else axis


def _analysis_parts(raw: dict[str, Any], label: str, named: list[str], path: Path | None):  # type: ignore[no-untyped-def]
    if "parameters" in raw:
        raise SpecError(f"{label}: [parameters] belongs to the theory kinds; an analysis study has a model")
    methods = raw.get("methods", ["exact"])
    if not isinstance(methods, list) or not methods or not all(isinstance(m, str) for m in methods):
        raise SpecError(f"{label}: methods must be a non-empty list of {', '.join(METHODS)}")
    for m in methods:
        if m not in METHODS:
            raise SpecError(f"{label}: methods: {m!r} is not one of {', '.join(METHODS)}")
    if len(set(methods)) != len(methods):
        raise SpecError(f"{label}: methods lists a method twice")
    options = _table(raw, "options", label)
    checked: dict[str, dict[str, Any]] = {}
    for method, table in options.items():
        if method not in METHODS:
            raise SpecError(f"{label}: [options.{method}]: {method!r} is not a method ({', '.join(METHODS)})")
        if method not in methods:
            raise SpecError(f"{label}: [options.{method}]: the study does not run {method!r}")
        if not isinstance(table, dict):
            raise SpecError(f"{label}: [options.{method}] must be a table")
        from ._theory import analyze_options

        checked[method] = analyze_options(method, table, _METHOD_OPTIONS[method], f"{label}: [options.{method}]")
    model = raw.get("model")
    if model is None and "model" not in named:
        raise SpecError(f"{label}: model is missing: a spec file path, or a [model] table")
    if model is not None and not isinstance(model, (str, dict)):
        raise SpecError(f"{label}: model={_show(model)} is not a spec file path or a [model] table")
    base = {} if model is None else _load_model(model, path, label)
    if "model" in named and model is not None:
        raise SpecError(f"{label}: model is both given and varied; keep one")
    return tuple(methods), checked, base


def _theory_parts(raw: dict[str, Any], kind: str, label: str):  # type: ignore[no-untyped-def]
    for key in ("model", "methods", "options"):
        if key in raw:
            raise SpecError(f"{label}: {key} belongs to analysis studies; a {kind} study has [parameters] and axes")
    base = _table(raw, "parameters", label)
    return (kind,), {}, dict(base)
