"""Error hierarchy of archsweep.

Every error a user can provoke with bad input is an :class:`InputError`, which is also a
:class:`ValueError` (Pint-style: a library error *and* the matching builtin). It carries
structured fields (file, key path, value, what is allowed) so the CLI can print one clear
message without a traceback, and it survives pickling across processes (Snakemake jobs,
multiprocessing workers).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["ArchsweepError", "InputError", "Problem", "InputErrors"]


class ArchsweepError(Exception):
    """Base class of every error raised on purpose by archsweep."""


@dataclass(frozen=True)
class Problem:
    """One problem found in an input document.

    Attributes:
        file: path of the file the value came from ("<string>" when not from a file).
        key_path: dotted/indexed path to the value inside the document, e.g.
            ``hardware.hbm_bw_per_stack.values[2]``; empty for the whole document.
        value: the offending value, as text.
        allowed: what would have been accepted.
    """

    file: str
    key_path: str
    value: str
    allowed: str

    def render(self) -> str:
        where = f"{self.file}: {self.key_path}" if self.key_path else self.file
        return f"{where}: got {self.value}; allowed: {self.allowed}"


def _short(value: object, limit: int = 120) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class InputError(ArchsweepError, ValueError):
    """Bad user input: names the file, key path, offending value and what is allowed."""

    def __init__(self, file: str, key_path: str, value: object, allowed: str) -> None:
        self.problem = Problem(str(file), key_path, value if isinstance(value, str) and value.startswith("<") else _short(value), allowed)
        super().__init__(self.problem.render())

    @classmethod
    def from_problem(cls, problem: Problem) -> InputError:
        """An error for an already rendered :class:`Problem` (its value text is kept as is)."""
        return _rebuild_input_error(problem.file, problem.key_path, problem.value, problem.allowed)

    def __reduce__(self):  # keep structured fields across pickling
        p = self.problem
        return (_rebuild_input_error, (p.file, p.key_path, p.value, p.allowed))


def _rebuild_input_error(file: str, key_path: str, value: str, allowed: str) -> InputError:
    err = InputError.__new__(InputError)
    err.problem = Problem(file, key_path, value, allowed)
    Exception.__init__(err, err.problem.render())
    return err


class InputErrors(ArchsweepError, ValueError):
    """Several input problems reported at once (ZigZag-style: report every problem)."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        lines = [p.render() for p in self.problems]
        header = f"{len(lines)} problem(s) in input:" if len(lines) > 1 else ""
        super().__init__("\n".join(([header] if header else []) + [("  " if header else "") + line for line in lines]))

    def __reduce__(self):
        return (InputErrors, (self.problems,))
