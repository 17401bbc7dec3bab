"""What one mutmut mutant changed, read from the syntax trees of mutmut's own copy of the module.

mutmut writes every mutant of a function beside the original (``x_name__mutmut_orig`` and
``x_name__mutmut_N``, methods as ``xǁClassǁname__...``) into ``mutants/<module>.py``.  Comparing the two
syntax trees finds the one node the mutant changed, which is more exact than matching lines of text:
:func:`is_message_text` says whether that node is only the text of an exception's message.
"""

from __future__ import annotations

import ast
import difflib
from dataclasses import dataclass
from pathlib import Path

# Keyword arguments of an exception that carry only its message (TokenRejected's ``detail``).
MESSAGE_KEYWORDS = frozenset({"detail"})


@dataclass(frozen=True)
class Change:
    """The smallest node that differs between the original and the mutant, with its ancestors
    (outermost first) in the original's tree."""

    original: ast.AST | list[ast.AST] | None
    mutated: ast.AST | list[ast.AST] | None
    ancestors: tuple[ast.AST, ...]
    field: str  # the ancestor's field that holds the node ("args", "keywords", "value", ...)


def _functions(tree: ast.AST) -> dict[str, ast.FunctionDef | ast.AsyncFunctionDef]:
    return {
        node.name: node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }


def _same(a: object, b: object) -> bool:
    if isinstance(a, ast.AST) and isinstance(b, ast.AST):
        return ast.dump(a) == ast.dump(b)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def _difference(original: ast.AST, mutated: ast.AST, ancestors: tuple[ast.AST, ...], field: str) -> Change:
    if type(original) is not type(mutated):
        return Change(original, mutated, ancestors, field)
    differing = [
        name
        for name in original._fields
        if not _same(getattr(original, name, None), getattr(mutated, name, None))
    ]
    if len(differing) != 1:
        return Change(original, mutated, ancestors, field)
    name = differing[0]
    a, b = getattr(original, name, None), getattr(mutated, name, None)
    if isinstance(a, ast.AST) and isinstance(b, ast.AST):
        return _difference(a, b, (*ancestors, original), name)
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        pairs = [(x, y) for x, y in zip(a, b, strict=True) if not _same(x, y)]
        if len(pairs) == 1 and isinstance(pairs[0][0], ast.AST) and isinstance(pairs[0][1], ast.AST):
            return _difference(pairs[0][0], pairs[0][1], (*ancestors, original), name)
    # a plain value of this node (a constant's value, an operator's name) or a list that grew or shrank
    return Change(original, mutated, ancestors, field)


class MutantsModule:
    """One module as mutmut wrote it under ``mutants/``, parsed once for all its mutants."""

    def __init__(self, path: Path) -> None:
        self._lines = path.read_text(encoding="utf-8").splitlines()
        self._functions = _functions(ast.parse("\n".join(self._lines)))

    def _pair(self, mutant: str) -> tuple[ast.FunctionDef | ast.AsyncFunctionDef, ...]:
        function = mutant.rsplit(".", 1)[-1]  # package.module.x_name__mutmut_7 -> x_name__mutmut_7
        original = self._functions.get(function.rsplit("__mutmut_", 1)[0] + "__mutmut_orig")
        mutated = self._functions.get(function)
        return () if original is None or mutated is None else (original, mutated)

    def change(self, mutant: str) -> Change | None:
        """What ``mutant`` changed; ``None`` when mutmut's file does not hold it."""
        pair = self._pair(mutant)
        if not pair:
            return None
        original, mutated = pair
        # the bodies only: the names differ by design
        return _difference(
            ast.Module(body=original.body, type_ignores=[]),
            ast.Module(body=mutated.body, type_ignores=[]),
            (),
            "",
        )

    def diff(self, mutant: str) -> str:
        """The lines ``mutant`` changed, as ``-``/``+`` lines of a unified diff."""
        pair = self._pair(mutant)
        if not pair:
            return ""
        original, mutated = pair
        before = self._lines[original.lineno : original.end_lineno]
        after = self._lines[mutated.lineno : mutated.end_lineno]
        return "\n".join(
            line
            for line in difflib.unified_diff(before, after, lineterm="", n=0)
            if line[:1] in "+-" and line[:3] not in ("+++", "---")
        )


def _is_text(node: object) -> bool:
    return isinstance(node, ast.JoinedStr) or (isinstance(node, ast.Constant) and isinstance(node.value, str))


def _is_dropped_text(change: Change) -> bool:
    """A ``raise E(..., "text", ...)`` whose mutant leaves that one text argument out."""
    original, mutated = change.original, change.mutated
    if not (isinstance(original, ast.Call) and isinstance(mutated, ast.Call) and change.ancestors):
        return False
    statement = change.ancestors[-1]
    if not (isinstance(statement, ast.Raise) and statement.exc is original):
        return False
    if not _same(original.func, mutated.func):
        return False
    if _same(original.args, mutated.args):  # a keyword left out: only ``detail=`` carries text alone
        return len(mutated.keywords) == len(original.keywords) - 1 and any(
            keyword.arg in MESSAGE_KEYWORDS
            and _same(original.keywords[:index] + original.keywords[index + 1 :], mutated.keywords)
            for index, keyword in enumerate(original.keywords)
        )
    if not _same(original.keywords, mutated.keywords) or len(mutated.args) != len(original.args) - 1:
        return False
    return any(
        _is_text(dropped) and _same(original.args[:index] + original.args[index + 1 :], mutated.args)
        for index, dropped in enumerate(original.args)
    )


def is_message_text(change: Change) -> bool:
    """The mutant changed only the text of the message of an exception raised right there: a string
    (or f-string part) given positionally or as ``detail=`` to the constructor in a ``raise``, replaced
    by another string or by ``None``, or left out."""
    if _is_dropped_text(change):
        return True
    if not _is_text(change.original):
        return False
    replaced_by_none = isinstance(change.mutated, ast.Constant) and change.mutated.value is None
    if not (_is_text(change.mutated) or replaced_by_none):
        return False
    ancestors = list(change.ancestors)
    field = change.field
    while ancestors and isinstance(ancestors[-1], ast.JoinedStr):  # a literal part of an f-string
        ancestors.pop()
        field = "args"  # the f-string itself stands where the text stands
    if len(ancestors) >= 2 and isinstance(ancestors[-1], ast.keyword):
        if ancestors[-1].arg not in MESSAGE_KEYWORDS:
            return False
        ancestors.pop()
        field = "args"
    if field != "args" or len(ancestors) < 2:
        return False
    call, statement = ancestors[-1], ancestors[-2]
    return isinstance(call, ast.Call) and isinstance(statement, ast.Raise) and statement.exc is call
