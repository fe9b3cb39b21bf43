"""httpx is reached through one hand-written module, so moving to httpx2 (when the generator
does) is a regeneration plus that module (README, Compatibility); aiohttp through another."""

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
    """The hand-written modules that import one of ``packages``."""
    return {
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if GENERATED.resolve() not in path.resolve().parents
        and any(name.split(".")[0] in packages for name in imported_modules(path))
    }


def test_only_the_http_module_imports_httpx_outside_the_generated_layer() -> None:
    assert importers("httpx", "httpcore") == {"_http.py"}


def test_only_the_aiohttp_transport_imports_aiohttp() -> None:
    assert importers("aiohttp", "yarl", "multidict") == {"_aiohttp.py"}


def test_the_generated_layer_is_where_the_rest_of_httpx_lives() -> None:
    # The check above skips the generated layer; make sure it is there to skip.
    assert any("httpx" in imported_modules(path) for path in GENERATED.resolve().rglob("*.py"))
