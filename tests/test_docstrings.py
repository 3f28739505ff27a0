"""Every public object has a complete numpydoc docstring, and docs/api.md is up to date.

A public module is ``rrm_theory`` or any submodule whose dotted name has no
segment starting with ``_``; its public objects are the functions and classes
named in its ``__all__`` that are defined in ``rrm_theory`` (re-exports of other
libraries' objects and plain constants are not checked). Each needs a one-line
summary, ``Parameters`` naming every parameter of its signature (for a
dataclass or NamedTuple, ``Attributes`` will do), ``Returns`` or ``Yields``
unless it returns None, ``Raises`` if it takes parameters (functions), and
``Examples`` with at least one ``>>>`` line. The examples themselves run as
doctests (``--doctest-modules`` in pyproject.toml).
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pkgutil
import re
from pathlib import Path
from typing import Any

import pytest

import rrm_theory
from rrm_theory._apidoc import api_markdown, main, public_modules

ROOT = Path(__file__).resolve().parent.parent

# top-level import name -> the extra that installs it
EXTRAS = {"hypothesis": "hypothesis", "dask": "dask", "distributed": "dask", "pyarrow": "parquet"}

_HEADING = re.compile(r"^([A-Z][A-Za-z ]*)\n(-{3,})[ \t]*$", re.MULTILINE)
_ENTRY = re.compile(r"^(\*{0,2}\w+(?:\s*,\s*\*{0,2}\w+)*)\s*(?::.*)?$")


def module_names() -> list[str]:
    """Every public module of the package, by dotted name."""
    names = ["rrm_theory"]
    for info in pkgutil.walk_packages(rrm_theory.__path__, "rrm_theory.", onerror=lambda name: None):
        if not any(part.startswith("_") for part in info.name.split(".")[1:]):
            names.append(info.name)
    return sorted(names)


def missing_extra(exc: ImportError) -> str | None:
    """The extra whose absence made an import fail, or None if it failed for another reason."""
    if isinstance(exc, ModuleNotFoundError) and exc.name:
        return EXTRAS.get(exc.name.split(".")[0])
    return None


def sections(doc: str) -> dict[str, str]:
    """A numpydoc docstring's sections by heading (``"Summary"`` is the text before the first)."""
    found = {}
    matches = list(_HEADING.finditer(doc))
    found["Summary"] = doc[: matches[0].start()] if matches else doc
    for i, m in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(doc)
        found[m.group(1).strip()] = doc[m.end() : end]
    return found


def documented_names(section: str) -> set[str]:
    """The names a Parameters (or Attributes) section describes: its unindented entry lines."""
    names: set[str] = set()
    for line in section.splitlines():
        if line and not line[0].isspace():
            m = _ENTRY.match(line.strip())
            if m:
                names.update(n.strip() for n in m.group(1).split(","))
    return names


def signature_names(sig: inspect.Signature) -> list[str]:
    """Parameter names as a docstring writes them (``*args``, ``**kwargs``); private ones
    (a dataclass's ``_cache`` field, say) are left out."""
    names = []
    for p in sig.parameters.values():
        if p.name.startswith("_"):
            continue
        if p.kind is p.VAR_POSITIONAL:
            names.append(f"*{p.name}")
        elif p.kind is p.VAR_KEYWORD:
            names.append(f"**{p.name}")
        else:
            names.append(p.name)
    return names


def _own_constructor(cls: type) -> bool:
    """Whether the class (or an rrm_theory base) defines the constructor a user calls."""
    for klass in cls.__mro__:
        if "__init__" in vars(klass) or "__new__" in vars(klass):
            return klass.__module__.split(".")[0] == "rrm_theory"
    return False


def _is_record(cls: type) -> bool:
    return dataclasses.is_dataclass(cls) or (issubclass(cls, tuple) and hasattr(cls, "_fields"))


def _returns_nothing(sig: inspect.Signature) -> bool:
    return sig.return_annotation in (None, "None")


def problems(obj: Any) -> list[str]:
    """What the docstring of one public function or class lacks."""
    doc = inspect.getdoc(obj) if obj.__doc__ else None
    if not doc:
        return ["no docstring"]
    found = sections(doc)
    out = []
    summary = found["Summary"].strip().splitlines()
    if not summary or not summary[0].strip():
        out.append("no summary line")
    elif len(found["Summary"].lstrip().split("\n\n")[0].splitlines()) > 1:
        out.append("the summary is more than one line")
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        sig = None
    names: list[str] = []
    section = found.get("Parameters")
    if inspect.isclass(obj):
        if sig is not None and (_own_constructor(obj) or _is_record(obj)):
            names = signature_names(sig)  # the constructor's
        if section is None and _is_record(obj):
            section = found.get("Attributes")
        if names and section is None:
            out.append("no Parameters section" + (" (or Attributes)" if _is_record(obj) else ""))
    else:
        names = signature_names(sig) if sig is not None else []
        if names and section is None:
            out.append("no Parameters section")
        if sig is not None and not _returns_nothing(sig) and "Returns" not in found and "Yields" not in found:
            out.append("no Returns (or Yields) section")
        if names and "Raises" not in found:
            out.append("no Raises section")
    if names and section is not None:
        missing = [n for n in names if n not in documented_names(section)]
        if missing:
            out.append(f"parameters not described: {', '.join(missing)}")
    if "Examples" not in found:
        out.append("no Examples section")
    elif not re.search(r"^\s*>>> ", found["Examples"], re.MULTILINE):
        out.append("Examples has no '>>>' line")
    return out


def is_function(obj: Any) -> bool:
    """A function, also behind a decorator that keeps ``__wrapped__`` (``lru_cache``, ``wraps``)."""
    return inspect.isfunction(inspect.unwrap(obj)) if callable(obj) else False


def public_objects(module: Any) -> list[tuple[str, Any]]:
    """The functions and classes a module's ``__all__`` names that rrm_theory defines, by dotted name."""
    out = []
    for name in getattr(module, "__all__", []):
        obj = getattr(module, name)
        if not (inspect.isclass(obj) or is_function(obj)):
            continue  # constants, type aliases and submodules
        home = getattr(obj, "__module__", "") or ""  # decorators copy it (functools.wraps, hypothesis)
        if home.split(".")[0] != "rrm_theory":
            continue  # re-exports of other libraries' objects
        out.append((f"{home}.{name}", obj))
    return out


@pytest.mark.parametrize("name", module_names())
def test_public_module_imports(name):
    """Every public module imports; one that needs a missing optional extra is skipped, saying which."""
    try:
        importlib.import_module(name)
    except ImportError as exc:
        extra = missing_extra(exc)
        if extra is None:
            raise
        pytest.skip(f"{name} needs the {extra!r} extra (pip install 'rrm-theory[{extra}]'): {exc}")


def test_every_public_object_has_complete_numpydoc():
    failures: dict[str, list[str]] = {}
    skipped = []
    seen: set[int] = set()
    for name in module_names():
        try:
            module = importlib.import_module(name)
        except ImportError as exc:
            if missing_extra(exc) is not None:
                skipped.append(name)  # test_public_module_imports says which extra
                continue
            failures[name] = [f"cannot be imported: {exc!r}"]
            continue
        if not (module.__doc__ or "").strip():
            failures[name] = ["the module has no docstring"]
        if not hasattr(module, "__all__"):
            failures.setdefault(name, []).append("the module has no __all__")
        for qualname, obj in public_objects(module):
            if id(obj) in seen:
                continue
            seen.add(id(obj))
            found = problems(obj)
            if found:
                failures[qualname] = found
    report = "\n".join(f"  {where}: {'; '.join(what)}" for where, what in sorted(failures.items()))
    assert not failures, (
        f"{len(failures)} public objects lack numpydoc sections"
        + (f" (not checked, a missing extra: {', '.join(skipped)})" if skipped else "")
        + f":\n{report}"
    )


def test_parser_reads_numpydoc_sections():
    doc = inspect.cleandoc(
        """One line.

        Parameters
        ----------
        a, b : int
            Two.
        *args
        **kwargs : optional

        Examples
        --------
        >>> 1
        1
        """
    )
    found = sections(doc)
    assert set(found) == {"Summary", "Parameters", "Examples"}
    assert documented_names(found["Parameters"]) == {"a", "b", "*args", "**kwargs"}


def test_checker_reports_what_is_missing():
    def half_documented(tree, *, budget=1, **options) -> int:
        """A summary
        that runs on.

        Parameters
        ----------
        tree : networkx.DiGraph

        Examples
        --------
        There is no prompt here.
        """

    assert problems(half_documented) == [
        "the summary is more than one line",
        "no Returns (or Yields) section",
        "no Raises section",
        "parameters not described: budget, **options",
        "Examples has no '>>>' line",
    ]

    @dataclasses.dataclass
    class Record:
        """A record.

        Attributes
        ----------
        x : int

        Examples
        --------
        >>> Record(1).x
        1
        """

        x: int
        _private: int = 0

    assert problems(Record) == []


def _every_module_imports() -> None:
    """Skip, naming the extra, unless every public module imports (the page lists them all)."""
    for name in module_names():
        try:
            importlib.import_module(name)
        except ImportError as exc:
            extra = missing_extra(exc)
            if extra is None:
                raise
            pytest.skip(f"docs/api.md lists {name}, which needs the {extra!r} extra")


def test_api_reference_is_up_to_date():
    _every_module_imports()
    page = ROOT / "docs" / "api.md"
    found = page.read_text(encoding="utf-8") if page.exists() else ""
    assert found == api_markdown(), (
        "docs/api.md is out of date with the docstrings; regenerate it with\n"
        "    python -m rrm_theory._apidoc > docs/api.md"
    )


def test_api_reference_covers_every_public_module():
    _every_module_imports()
    assert public_modules() == module_names()
    page = api_markdown()
    for name in module_names():
        module = importlib.import_module(name)
        assert f"## `{name}`" in page
        for obj_name in getattr(module, "__all__", []):
            assert f"`{obj_name}" in page, (name, obj_name)


def test_apidoc_command_prints_the_page(capsys):
    _every_module_imports()
    main()
    assert capsys.readouterr().out == api_markdown()
