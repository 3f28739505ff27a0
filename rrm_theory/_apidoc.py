"""The API reference page, docs/api.md, generated from the docstrings.

``python -m rrm_theory._apidoc > docs/api.md`` prints, for every public module
(``rrm_theory`` and each submodule whose dotted name has no ``_``-prefixed
part), its one-line summary and a table of the objects its ``__all__`` names,
each with its signature and the first line of its docstring (constants: the
``#:`` comment above their assignment). tests/test_docstrings.py checks that
the committed page equals this output.
"""

from __future__ import annotations

import ast
import enum
import importlib
import inspect
import pkgutil
import re
import sys
import types
from typing import Any

__all__ = ["public_modules", "api_markdown", "main"]

COMMAND = "python -m rrm_theory._apidoc > docs/api.md"

_ROLE = re.compile(r":(?:py:)?(?:func|class|mod|meth|attr|data|exc|obj|const):`(~?)([^`]+)`")


def public_modules() -> list[str]:
    """The package's public modules by dotted name, sorted."""
    import rrm_theory

    names = ["rrm_theory"]
    for info in pkgutil.walk_packages(rrm_theory.__path__, "rrm_theory.", onerror=lambda name: None):
        if not any(part.startswith("_") for part in info.name.split(".")[1:]):
            names.append(info.name)
    return sorted(names)


def _literal(role: re.Match[str]) -> str:
    """A cross-reference as a literal: ``:func:`a.b``` -> ````a.b````, ``:func:`~a.b``` -> ````b````."""
    target = role.group(2)
    return f"``{target.rsplit('.', 1)[-1] if role.group(1) else target}``"


def _markdown(text: str) -> str:
    """reStructuredText roles and literals as Markdown, safe in a table cell."""
    text = _ROLE.sub(_literal, text).replace("``", "`")
    return text.replace("|", "\\|").strip()


def summary(obj: Any) -> str:
    """The first line of an object's docstring (empty if it has none)."""
    lines = (inspect.getdoc(obj) or "").strip().splitlines()
    return lines[0].strip() if lines else ""


def _default(value: Any) -> str:
    """A default value's text, the same in every run (no addresses, sets sorted)."""
    if isinstance(value, (set, frozenset)):
        items = ", ".join(sorted(repr(v) for v in value))
        return f"{type(value).__name__}({{{items}}})" if value else f"{type(value).__name__}()"
    if isinstance(value, enum.Enum):
        return f"{type(value).__name__}.{value.name}"
    if callable(value) and hasattr(value, "__qualname__"):
        return value.__qualname__
    text = repr(value)
    return re.sub(r" at 0x[0-9a-fA-F]+", "", text)


class _Text:
    """A default value shown as given text."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


def signature(obj: Any) -> str:
    """``(a, b=1, *, c=None)``: the call signature without annotations."""
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return "(...)"
    params = [
        p.replace(annotation=p.empty, default=p.default if p.default is p.empty else _Text(_default(p.default)))
        for p in sig.parameters.values()
    ]
    return str(sig.replace(parameters=params, return_annotation=sig.empty))


def _constant_comment(module: types.ModuleType, name: str, depth: int = 0) -> str:
    """The ``#:`` comment above ``name = ...`` in a module, following its relative imports."""
    try:
        source = inspect.getsource(module)
    except (OSError, TypeError):
        return ""
    lines = source.splitlines()
    tree = ast.parse(source)
    for node in tree.body:
        targets = []
        if isinstance(node, ast.Assign):
            targets = [t.id for t in node.targets if isinstance(t, ast.Name)]
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            targets = [node.target.id]
        if name in targets:
            comment = []
            i = node.lineno - 2
            while i >= 0 and lines[i].lstrip().startswith("#:"):
                comment.insert(0, lines[i].lstrip()[2:].strip())
                i -= 1
            return " ".join(comment)
    if depth > 3:
        return ""
    package = module.__name__ if hasattr(module, "__path__") else module.__name__.rpartition(".")[0]
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.level and any(a.name == name for a in node.names):
            base = package
            for _ in range(node.level - 1):
                base = base.rpartition(".")[0]
            target = f"{base}.{node.module}" if node.module else base
            return _constant_comment(importlib.import_module(target), name, depth + 1)
    sources = getattr(module, "_SOURCES", {})  # the lazily loading package
    if name in sources:
        return _constant_comment(importlib.import_module(f"{module.__name__}.{sources[name]}"), name, depth + 1)
    return ""


def _row(module: types.ModuleType, name: str) -> str:
    obj = getattr(module, name)
    if isinstance(obj, types.ModuleType):
        return f"| module [`{name}`](#{_anchor(obj.__name__)}) | {_markdown(summary(obj))} |"
    if inspect.isclass(obj):
        kind = "exception" if issubclass(obj, BaseException) else "class"
        sig = "" if issubclass(obj, BaseException) else signature(obj)
        return f"| {kind} `{name}{sig}` | {_markdown(summary(obj))} |"
    if callable(obj) and (inspect.isfunction(obj) or inspect.isbuiltin(obj) or hasattr(obj, "__wrapped__")):
        return f"| `{name}{signature(obj)}` | {_markdown(summary(obj))} |"
    kind = "type" if isinstance(obj, types.GenericAlias) else "constant"
    return f"| {kind} `{name}` | {_markdown(_constant_comment(module, name))} |"


def _anchor(name: str) -> str:
    return name.replace(".", "").lower()


def api_markdown() -> str:
    """The whole page, docs/api.md, as text."""
    modules = [importlib.import_module(name) for name in public_modules()]
    out = [
        "# API reference",
        "",
        "The public API by module: each module's summary, then every name in its `__all__` with its",
        "signature and the first line of its docstring (`help(obj)` or the source has the rest:",
        "parameters, returns, errors and examples). Generated from the docstrings; do not edit by hand,",
        "regenerate with",
        "",
        "```sh",
        COMMAND,
        "```",
        "",
        "| module | summary |",
        "| --- | --- |",
    ]
    out += [f"| [`{m.__name__}`](#{_anchor(m.__name__)}) | {_markdown(summary(m))} |" for m in modules]
    for module in modules:
        out += ["", f"## `{module.__name__}`", "", _markdown(summary(module)), ""]
        names = list(getattr(module, "__all__", []))
        if not names:
            out.append("No public names.")
            continue
        out += ["| name | summary |", "| --- | --- |"]
        out += [_row(module, name) for name in names]
    return "\n".join(out) + "\n"


def main() -> None:
    """Print docs/api.md."""
    sys.stdout.write(api_markdown())


if __name__ == "__main__":
    main()
