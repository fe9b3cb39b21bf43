"""Where a round trip's CPU goes, by library: cProfile's self time grouped by the top-level
package of each function's file (pure: the paths to tell packages apart are parameters)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

GENERATED = "session_client._session_api (generated)"
STDLIB_IO = "ssl/socket/selectors (stdlib I/O)"
OTHER_STDLIB = "other stdlib"
BUILTINS = "builtins (len, isinstance, list, dict...)"
OTHER = "other"
HARNESS = "bench scripts (floor code, harness)"
# Standard-library modules (and their C parts, without the leading underscore) that do I/O.
IO_MODULES = frozenset({"ssl", "socket", "selectors", "select"})
# A C function's module: "<method 'send' of '_socket.socket' objects>" or
# "<built-in method _asyncio.get_running_loop>".
C_METHOD = re.compile(r"<method '[^']*' of '([\w.]+)' objects>")
C_FUNCTION = re.compile(r"<built-in method ([\w.]+)>")


@dataclass(frozen=True)
class Paths:
    """Where code comes from: the standard library, the installed packages, this checkout."""

    stdlib: str
    site_packages: tuple[str, ...]
    checkout: str


def library_of(filename: str, function: str, paths: Paths) -> str:
    """The library a profiled function belongs to (cProfile's ``filename`` and function name)."""
    if filename == "~":  # a C function: its module is in its name
        match = C_METHOD.match(function) or C_FUNCTION.match(function)
        module = match.group(1).rsplit(".", 1)[0] if match and "." in match.group(1) else ""
        return stdlib_library(module.lstrip("_")) if "." not in module else package(module)
    for root in paths.site_packages:
        if filename.startswith(root + "/"):
            return package(filename[len(root) + 1 :].replace("/", "."))
    if filename.startswith(paths.checkout + "/"):
        relative = filename[len(paths.checkout) + 1 :]
        if relative.startswith(("session_client/_session_api/", "generated/")):
            return GENERATED
        if relative.startswith("scripts/"):
            return HARNESS
        return package(relative.replace("/", "."))
    if filename.startswith(paths.stdlib + "/"):
        return stdlib_library(filename[len(paths.stdlib) + 1 :].split("/")[0].removesuffix(".py"))
    if filename.startswith("<frozen "):
        return OTHER_STDLIB
    return OTHER


def package(dotted: str) -> str:
    """The top-level package of a dotted module or file path."""
    return dotted.split(".", 1)[0] or OTHER


def stdlib_library(module: str) -> str:
    """The group of a top-level standard-library module ("" for a built-in type's method)."""
    if module == "asyncio":
        return "asyncio"
    if module in ("", "builtins"):
        return BUILTINS
    return STDLIB_IO if module in IO_MODULES else OTHER_STDLIB


def by_library(functions: Iterable[tuple[str, str, float]], paths: Paths) -> dict[str, float]:
    """Self time summed per library over (filename, function name, self time) rows."""
    totals: dict[str, float] = {}
    for filename, function, self_time in functions:
        library = library_of(filename, function, paths)
        totals[library] = totals.get(library, 0.0) + self_time
    return totals
