"""Problems found in a spec, a stack or a command line, each rendered as one line for people."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, order=True)
class Problem:
    """One mistake: where it is (``path``), and what was given and what is allowed (``message``)."""

    path: str
    message: str
    source: str = ""
    environment: str = ""

    def render(self) -> str:
        """The line shown to people: ``file [environment]: path: message``."""
        where = self.source or "spec"
        if self.environment:
            where += f" [{self.environment}]"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class SpecError(Exception):
    """A spec, stack or its overrides could not be loaded or is invalid; carries every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(problem.render() for problem in problems))


def show(value: Any, limit: int = 80) -> str:
    """A short, readable rendering of a given value for an error line."""
    if isinstance(value, dict):
        text = "{" + ", ".join(f"{key!r}: ..." for key in list(value)[:4]) + (", ...}" if len(value) > 4 else "}")
    else:
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def got_allowed(got: Any, allowed: str, reason: str = "") -> str:
    """The standard message body: an optional reason, what was given, what is allowed."""
    prefix = f"{reason}; " if reason else ""
    return f"{prefix}got {show(got)}; allowed: {allowed}"


def join_path(*parts: str | int) -> str:
    """Join path parts the way errors show them: names with dots, list positions as [i]."""
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part:
            text += f".{part}" if text else part
    return text


def one_of(names: list[str] | tuple[str, ...] | set[str]) -> str:
    """Describe a set of allowed names: "one of 'a', 'b'" (or "none are declared")."""
    if not names:
        return "none are declared"
    return "one of " + ", ".join(repr(name) for name in sorted(names))
