"""Fail when a module is over 400 lines or a function over 60 (migrations and data aside).

Usage: python scripts/check_sizes.py [--report] PATH...   (--report prints the largest without failing)
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

MAX_MODULE = 400
MAX_FUNCTION = 60
EXEMPT = ("migrations/versions",)


def sizes(paths: list[str]) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    modules: list[tuple[int, str]] = []
    functions: list[tuple[int, str]] = []
    for root in paths:
        for path in sorted(Path(root).rglob("*.py")):
            if any(part in path.as_posix() for part in EXEMPT):
                continue
            text = path.read_text(encoding="utf-8")
            modules.append((len(text.splitlines()), str(path)))
            for node in ast.walk(ast.parse(text)):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                    length = (node.end_lineno or node.lineno) - start + 1
                    functions.append((length, f"{path}:{node.lineno} {node.name}"))
    return sorted(modules, reverse=True), sorted(functions, reverse=True)


def main(argv: list[str]) -> int:
    report = "--report" in argv
    paths = [a for a in argv if a != "--report"]
    modules, functions = sizes(paths)
    if report:
        print(f"{len(modules)} modules; largest:", *(f"  {n:5d} {p}" for n, p in modules[:5]), sep="\n")
        print("largest functions:", *(f"  {n:5d} {p}" for n, p in functions[:5]), sep="\n")
        return 0
    bad = [f"module {p}: {n} lines (max {MAX_MODULE})" for n, p in modules if n > MAX_MODULE]
    bad += [f"function {p}: {n} lines (max {MAX_FUNCTION})" for n, p in functions if n > MAX_FUNCTION]
    print(*bad, sep="\n", file=sys.stderr) if bad else None
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
