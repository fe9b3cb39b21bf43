"""Each HTTP library is imported by its backend module alone (session_client/_rest/), and by
no module of the generated layer: the call path owns the interface between them."""

from __future__ import annotations

import ast
from pathlib import Path

import session_client

PACKAGE = Path(session_client.__file__).parent
GENERATED = PACKAGE / "_session_api"


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def importers(*packages: str) -> set[str]:
    """The modules of the installed package (generated layer included) importing one of
    ``packages``."""
    return {
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if any(name.split(".")[0] in packages for name in imported_modules(path))
    } | {
        f"_session_api/{path.relative_to(GENERATED.resolve())}"
        for path in GENERATED.resolve().rglob("*.py")
        if any(name.split(".")[0] in packages for name in imported_modules(path))
    }


def test_httpx_and_httpx2_are_imported_by_their_backend_alone() -> None:
    # The backend imports neither by name: it is given the module the client chose.
    assert importers("httpx", "httpcore", "httpx2", "httpcore2") == set()
    source = (PACKAGE / "_rest" / "_backend.py").read_text()
    assert "importlib.import_module(options.backend)" in source


def test_aiohttp_is_imported_by_its_backend_alone() -> None:
    assert importers("aiohttp", "yarl", "multidict") == {"_rest/_aiohttp.py"}


def test_no_private_attribute_of_an_http_library_is_used() -> None:
    for path in (PACKAGE / "_rest").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.Attribute):
                continue
            private = node.attr.startswith("_") and not node.attr.endswith("__")  # not dunders
            if private:
                base = node.value
                assert isinstance(base, ast.Name) and base.id in ("self", "cls"), (
                    f"{path.name}:{node.lineno} uses the private attribute {node.attr!r}"
                )
