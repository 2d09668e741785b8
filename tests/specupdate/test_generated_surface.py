"""The hand-written layer uses the generated client only through a narrow surface.

That is what lets an additive spec change regenerate without touching `pacta_async`:
the generator may rewrite everything else (module layout, private helpers, the sync
functions, `_get_kwargs`, `_parse_response`). Every `pacta_api` import in
`pacta_async/` must be one of:

- ``pacta_api.models``: model and enum classes, imported from the package (their module
  files are the generator's business);
- ``pacta_api.api.<tag>``: operation modules, used only as ``<op>.asyncio_detailed``;
- ``pacta_api.client.Client`` (the token stays out of it: its attrs repr would show
  it), ``pacta_api.types.UNSET`` and ``Response``;
- ``import pacta_api``, used only for ``pacta_api.__file__``: the reference server finds
  the snapshot beside the package.

New coupling fails here, so widening the surface is a decision, not an accident.
"""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

import attrs
import pacta_api.models

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "pacta_async"
NAMES = {
    "pacta_api.client": {"Client"},
    "pacta_api.types": {"UNSET", "Response"},
}
# Attributes a bound name may be used for; None: the name is used as is (a class).
OPERATION_ATTRIBUTES = {"asyncio_detailed"}
PACKAGE_ATTRIBUTES = {"__file__"}


@attrs.frozen
class Use:
    """One name a `pacta_async` module takes from `pacta_api`."""

    where: str
    module: str
    name: str | None  # None: `import <module>`
    bound: str  # the name it is bound to; "": imported dynamically

    def __str__(self) -> str:
        taken = f"import {self.module}" if self.name is None else f"{self.module}.{self.name}"
        return f"{self.where}: {taken}"


def _uses(path: Path, tree: ast.Module) -> list[Use]:
    uses = []
    for node in ast.walk(tree):
        where = f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.split(".")[0] == "pacta_api":
                uses += [Use(where, node.module, a.name, a.asname or a.name) for a in node.names]
        elif isinstance(node, ast.Import):
            uses += [
                Use(where, a.name, None, a.asname or a.name.split(".")[0])
                for a in node.names
                if a.name.split(".")[0] == "pacta_api"
            ]
        elif isinstance(node, ast.Call) and (module := _dynamic_import(node)):
            uses.append(Use(where, module, None, bound=""))
    return uses


def _dynamic_import(call: ast.Call) -> str | None:
    """The module an ``import_module("pacta_api...")`` or ``__import__`` call names."""
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    first = call.args[0] if call.args else None
    if name in ("import_module", "__import__") and isinstance(first, ast.Constant):
        module = str(first.value)
        return module if module.split(".")[0] == "pacta_api" else None
    return None


def _attributes_used(tree: ast.Module, bound: str) -> set[str | None]:
    """How a bound name is used: the attributes read from it, None for a bare use."""
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    used: set[str | None] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id == bound:
            parent = parents.get(node)
            used.add(parent.attr if isinstance(parent, ast.Attribute) else None)
    return used


def _violation(use: Use, tree: ast.Module) -> str | None:
    if not use.bound:
        return "imported dynamically"
    if use.module == "pacta_api.models":
        model = getattr(pacta_api.models, use.name or "", None)
        if inspect.isclass(model) and model.__module__.startswith("pacta_api.models."):
            return None
        return "not a model or enum class of pacta_api.models"
    if use.module in NAMES:
        return None if use.name in NAMES[use.module] else "not in the allowed names"
    parts = use.module.split(".")
    if len(parts) == 3 and parts[:2] == ["pacta_api", "api"] and use.name:
        try:
            importlib.import_module(f"{use.module}.{use.name}")
        except ImportError:
            return "not an operation module"
        extra = _attributes_used(tree, use.bound) - OPERATION_ATTRIBUTES
        return f"uses {sorted(map(str, extra))}, only asyncio_detailed" if extra else None
    if use.module == "pacta_api" and use.name is None:
        extra = _attributes_used(tree, use.bound) - PACKAGE_ATTRIBUTES
        return f"uses {sorted(map(str, extra))}, only __file__" if extra else None
    return "outside the narrow surface"


def _surface() -> list[tuple[Use, ast.Module]]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        found += [(use, tree) for use in _uses(path, tree)]
    return found


def test_pacta_async_uses_only_the_narrow_surface_of_the_generated_client() -> None:
    surface = _surface()
    violations = [f"{use}: {why}" for use, tree in surface if (why := _violation(use, tree))]
    assert not violations, "new coupling to the generated client:\n" + "\n".join(violations)
    # The check is only worth something if it sees the imports it is meant to check.
    modules = {use.module for use, _ in surface}
    assert {"pacta_api.models", "pacta_api.client", "pacta_api.api.documents"} <= modules


def test_the_check_catches_new_coupling() -> None:
    source = """\
import pacta_api
from pacta_api.api.documents import get_document, send_document
from pacta_api.api.documents.list_documents import sync
from pacta_api.models import Document
from pacta_api.models.document import Document as D
from pacta_api.types import File
import importlib

get_document.sync_detailed()
send_document.asyncio_detailed()
pacta_api.client
importlib.import_module("pacta_api.api.meta")
"""
    path = PACKAGE / "_example.py"  # a name for messages only; nothing is written there
    tree = ast.parse(source)
    verdicts = {str(use): _violation(use, tree) for use in _uses(path, tree)}
    assert verdicts == {
        "pacta_async/_example.py:1: import pacta_api": "uses ['client'], only __file__",
        "pacta_async/_example.py:2: pacta_api.api.documents.get_document": (
            "uses ['sync_detailed'], only asyncio_detailed"
        ),
        "pacta_async/_example.py:2: pacta_api.api.documents.send_document": None,
        "pacta_async/_example.py:3: pacta_api.api.documents.list_documents.sync": (
            "outside the narrow surface"
        ),
        "pacta_async/_example.py:4: pacta_api.models.Document": None,
        "pacta_async/_example.py:5: pacta_api.models.document.Document": (
            "outside the narrow surface"
        ),
        "pacta_async/_example.py:6: pacta_api.types.File": "not in the allowed names",
        "pacta_async/_example.py:12: import pacta_api.api.meta": "imported dynamically",
    }
