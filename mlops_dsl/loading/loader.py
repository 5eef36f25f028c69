"""Load a spec file and resolve it for its environments.

The steps, each one testable alone:

1. import the user's Python file and find its ``Platform`` declaration;
2. turn the declaration into plain data (:func:`mlops_dsl.spec.base.to_data`);
3. for each environment, apply its overrides, then the stack's overrides;
4. validate the merged data as one tree (field errors keep their full path);
5. run the cross-field rules on the validated platform.

Every mistake becomes a :class:`~mlops_dsl.spec.problems.Problem`; they are all
collected and raised together as a :class:`~mlops_dsl.spec.problems.SpecError`.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import json
import os
import stat
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from mlops_dsl.loading.code_rules import code_folder
from mlops_dsl.loading.nesting import MAX_DEPTH, nesting_problem
from mlops_dsl.loading.overlay import apply_overrides
from mlops_dsl.loading.pydantic_errors import problems_from
from mlops_dsl.loading.target_rules import check_target
from mlops_dsl.spec.base import Name, SpecModel, to_data, validating
from mlops_dsl.spec.environment import Environment, Stage, Target
from mlops_dsl.spec.platform import Platform
from mlops_dsl.spec.problems import Problem, SpecError, got_allowed, one_of
from mlops_dsl.spec.rules import check_platform, stage_of


@dataclass(frozen=True)
class ResolvedSpec:
    """The platform as deployed to one environment: overrides applied, validated and checked."""

    source: Path
    environment: str
    platform: Platform
    origin: Path | None = None
    """The spec file, absolute, when one was loaded (not resolved JSON): what ``Platform.code`` is relative to."""

    @property
    def settings(self) -> Environment:
        """This environment's own settings (target, stage, overrides)."""
        return self.platform.environments[self.environment]

    @property
    def target(self) -> Target:
        """Where this environment deploys."""
        return self.settings.target

    @property
    def code_dir(self) -> Path | None:
        """The team's code folder (``Platform.code``, relative to the spec file), where a spec file was loaded.

        None when the platform names no code, or when it was loaded from resolved JSON: a deployed service
        finds the code where its target put it (``MLOPS_CODE_DIR``, :mod:`mlops_dsl.contracts.code`).
        """
        return code_folder(self.platform, self.origin)

    @property
    def stage(self) -> Stage:
        """dev, staging or prod."""
        return stage_of(self.platform, self.environment)  # type: ignore[return-value]


@dataclass(frozen=True)
class StackOverrides:
    """Overrides that come from a stack's config rather than from the spec."""

    values: dict[str, Any]
    source: str
    origin: str = "config.mlops:overrides"
    environment_origin: str = "config.mlops:environment"


def display_path(path: Path) -> str:
    """A path as people should read it: relative to the working directory when inside it."""
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError):  # a symlink loop: the path as written, made absolute
        resolved = Path(os.path.abspath(path))
    try:
        return str(resolved.relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def unreadable_file(path: Path, what: str, allowed: str) -> Problem | None:
    """Why ``path`` cannot be read as a ``what`` (not there, a symlink loop, a directory), or None.

    ``Path.is_file`` answers False for all of these alike; people need to know which.
    """
    shown = display_path(path)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        dangling = " (a symlink to nothing)" if path.is_symlink() else ""
        return Problem("", got_allowed(str(path), allowed, f"{what} not found{dangling}"), source=shown)
    except OSError as error:  # ELOOP: a symlink loop; EACCES on a parent; ENAMETOOLONG
        return Problem("", f"{what} cannot be read: {error.strerror}; allowed: {allowed}", source=shown)
    if not stat.S_ISREG(mode):
        kind = "a directory" if stat.S_ISDIR(mode) else "not a regular file"
        return Problem("", got_allowed(str(path), allowed, f"{what} is {kind}"), source=shown)
    return None


def _declared_fields(value: Any) -> dict[str, Any] | None:
    """What a spec declaration holds, for :func:`nesting_problem` (validated models cannot contain themselves)."""
    return value._declared if isinstance(value, SpecModel) else None


def check_nesting(value: Any, *, source: str, prefix: str = "", declared: bool = False) -> None:
    """Refuse a value that contains itself or nests too deeply, naming its path, before anything recursive walks it."""
    problem = nesting_problem(value, expand=_declared_fields if declared else lambda _: None)
    if problem is not None:
        path = f"{prefix}.{problem.path}" if prefix and problem.path else prefix or problem.path
        raise SpecError([Problem(path, problem.message, source=source)])


def import_declaration(path: Path) -> Platform:
    """Import a spec file and return the ``Platform`` it declares (not validated yet)."""
    shown = display_path(path)
    unreadable = unreadable_file(path, "spec file", "an existing Python spec file")
    if unreadable is not None:
        raise SpecError([unreadable])
    module_name = "mlops_spec_" + hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:12]
    module_spec = importlib.util.spec_from_file_location(module_name, path)
    if module_spec is None or module_spec.loader is None:
        raise SpecError([Problem("", got_allowed(path.suffix, "a .py file", "not a Python file"), source=shown)])
    hidden = _hidden_siblings(path)
    if hidden:
        raise SpecError([hidden])
    module = importlib.util.module_from_spec(module_spec)
    # Let a spec import its siblings (a shared features module, say). Appended,
    # not prepended: a spec file named platform.py must not shadow the stdlib.
    sys.path.append(str(path.resolve().parent))
    try:
        module_spec.loader.exec_module(module)
    except SyntaxError as error:
        raise SpecError([Problem("", f"does not import: SyntaxError: {error.msg}", source=f"{shown}:{error.lineno}")]) from None
    except Exception as error:
        line = _line_in(path, error)
        where = f"{shown}:{line}" if line else shown
        summary = str(error).splitlines()[0] if str(error) else ""
        raise SpecError([Problem("", f"does not import: {type(error).__name__}: {summary}".rstrip(": "), source=where)]) from None
    except SystemExit as error:
        raise SpecError([Problem("", f"does not import: it called exit({error.code})", source=shown)]) from None
    finally:
        sys.path.remove(str(path.resolve().parent))
    return _find_platform(module.__dict__, shown)


def _hidden_siblings(path: Path) -> Problem | None:
    """A module beside the spec that the spec imports by a standard-library module's name: it would never be the one imported."""
    try:
        tree = ast.parse(path.read_bytes())
    except (SyntaxError, ValueError, OSError):
        return None  # the import below reports it
    imported = {alias.name.partition(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {
        node.module.partition(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module and not node.level
    }
    folder = path.resolve().parent
    for name in sorted(imported & sys.stdlib_module_names):
        for sibling in (folder / f"{name}.py", folder / name / "__init__.py"):
            if sibling.is_file() and sibling.resolve() != path.resolve():
                shown = sibling.relative_to(folder).as_posix()
                return Problem(
                    "",
                    f"imports {name!r}, which is Python's standard library module, so {shown} beside it is never the one imported; "
                    "allowed: a module name of its own",
                    source=display_path(path),
                )
    return None


def _line_in(path: Path, error: BaseException) -> int | None:
    """The last line of the spec file on the error's traceback."""
    target = os.path.realpath(path)
    line = None
    for frame in traceback.extract_tb(error.__traceback__):
        if os.path.realpath(frame.filename) == target:
            line = frame.lineno
    return line


def _find_platform(namespace: dict[str, Any], shown: str) -> Platform:
    named = namespace.get("platform")
    if isinstance(named, Platform):
        return named
    found = {name: value for name, value in namespace.items() if isinstance(value, Platform)}
    if len(found) == 1:
        return next(iter(found.values()))
    if not found:
        raise SpecError(
            [Problem("", "declares no Platform; allowed: a module-level Platform(...), conventionally named `platform`", source=shown)]
        )
    raise SpecError(
        [
            Problem(
                "",
                got_allowed(
                    sorted(found), "one Platform, or name the one to deploy `platform`", f"the file declares {len(found)} platforms"
                ),
                source=shown,
            )
        ]
    )


_ENVIRONMENTS = dict[Name, Environment]


def _environments(data: dict[str, Any], shown: str) -> dict[str, Environment]:
    raw = data.get("environments")
    if raw is None:
        with validating():
            return Platform.model_fields["environments"].get_default(call_default_factory=True)  # type: ignore[no-any-return]
    try:
        with validating():
            environments = TypeAdapter(_ENVIRONMENTS).validate_python(raw)
    except ValidationError as error:
        raise SpecError(problems_from(error, _ENVIRONMENTS, raw, source=shown, prefix="environments")) from None
    if not environments:
        raise SpecError([Problem("environments", got_allowed({}, "at least one environment"), source=shown)])
    return environments


def _resolve(
    data: dict[str, Any], environment: str, shown: str, stack: StackOverrides | None, origin: Path | None
) -> tuple[ResolvedSpec | None, list[Problem]]:
    own = data["environments"][environment].get("overrides", {}) if "environments" in data else {}
    overlay = apply_overrides(data, own, origin=f"environments.{environment}.overrides", source=shown)
    problems = list(overlay.problems)
    stack_written: list[str] = []
    merged = overlay.data
    if stack is not None and stack.values:
        stacked = apply_overrides(merged, stack.values, origin=stack.origin, source=stack.source)
        problems += stacked.problems
        stack_written = stacked.written
        merged = stacked.data
    # A bad override is reported and skipped; the rest is still checked, so one
    # run shows every problem.
    try:
        with validating():
            platform = Platform.model_validate(merged)
    except ValidationError as error:
        return None, problems + _attribute(problems_from(error, Platform, merged, source=shown), stack, stack_written)
    problems += _attribute(
        [
            Problem(p.path, p.message, source=shown)
            for p in check_platform(platform, environment) + check_target(platform, environment, origin)
        ],
        stack,
        stack_written,
    )
    if problems:
        return None, problems
    return ResolvedSpec(Path(shown), environment, platform, origin), []


def _attribute(problems: list[Problem], stack: StackOverrides | None, written: list[str]) -> list[Problem]:
    """Blame the stack file for problems in values that its overrides wrote."""
    if stack is None:
        return problems
    blamed = []
    for problem in problems:
        from_stack = any(problem.path == w or problem.path.startswith((w + ".", w + "[")) for w in written)
        blamed.append(Problem(problem.path, problem.message, source=stack.source) if from_stack else problem)
    return blamed


def load_platform(
    path: str | Path,
    *,
    environment: str | None = None,
    stack: StackOverrides | None = None,
) -> dict[str, ResolvedSpec]:
    """Resolve a spec file for one environment, or for every environment it declares.

    Raises :class:`SpecError` with every problem found.
    """
    path = Path(path)
    if path.suffix == ".json":
        data = read_json_spec(path)
        return resolve_data(data, source=display_path(path), environment=environment, stack=stack)
    declaration = import_declaration(path)
    check_nesting(declaration, source=display_path(path), declared=True)  # to_data recurses
    data = to_data(declaration)
    origin = Path(os.path.abspath(path))
    resolved = resolve_data(data, source=display_path(path), environment=environment, stack=stack, origin=origin)
    return resolved


def read_json_spec(path: Path) -> dict[str, Any]:
    """A platform written as JSON data (what deployments hand to their containers)."""
    shown = display_path(path)
    unreadable = unreadable_file(path, "spec file", "an existing spec file")
    if unreadable is not None:
        raise SpecError([unreadable])
    try:
        data = json.loads(path.read_text())
    except OSError as error:
        raise SpecError([Problem("", f"cannot be read: {error.strerror}", source=shown)]) from None
    except ValueError as error:
        raise SpecError([Problem("", f"is not valid JSON: {error}", source=shown)]) from None
    except RecursionError:
        raise SpecError([Problem("", f"is not usable JSON: it nests deeper than {MAX_DEPTH} levels", source=shown)]) from None
    if not isinstance(data, dict):
        raise SpecError([Problem("", got_allowed(type(data).__name__, "a JSON object with the platform's fields"), source=shown)])
    return data


def resolved_json(spec: ResolvedSpec) -> str:
    """The resolved platform of one environment as JSON data: overrides applied, only that environment.

    Loading it with :func:`load_platform` gives the same platform back.
    """
    data = spec.platform.model_dump(mode="json", exclude_defaults=False)
    environment = data["environments"][spec.environment]
    environment["overrides"] = {}
    data["environments"] = {spec.environment: environment}
    return json.dumps(data, indent=2, sort_keys=True)


def resolve_data(
    data: dict[str, Any],
    *,
    source: str,
    environment: str | None = None,
    stack: StackOverrides | None = None,
    origin: Path | None = None,
) -> dict[str, ResolvedSpec]:
    """Resolve a platform given as plain data (see :func:`load_platform`).

    A problem that shows in every environment is reported once, without an
    environment tag; ``source`` names the file in every problem.
    """
    check_nesting(data, source=source)
    if stack is not None:
        check_nesting(stack.values, source=stack.source, prefix=stack.origin)
    environments = _environments(data, source)
    if environment is not None and environment not in environments:
        where = stack.source if stack is not None else source
        field = stack.environment_origin if stack is not None else "environment"
        allowed = f"an environment of the spec: {one_of(set(environments))}"
        raise SpecError([Problem(field, got_allowed(environment, allowed, "no such environment"), source=where)])
    chosen = [environment] if environment is not None else list(environments)
    resolved: dict[str, ResolvedSpec] = {}
    found: dict[str, list[Problem]] = {}
    for name in chosen:
        result, problems = _resolve(data, name, source, stack, origin)
        if result is not None:
            resolved[name] = result
        found[name] = problems
    problems = _merge_across_environments(found, always_tag=environment is not None)
    if problems:
        raise SpecError(problems)
    return resolved


def _merge_across_environments(found: dict[str, list[Problem]], *, always_tag: bool) -> list[Problem]:
    """Report each problem once, tagged with the environments that have it.

    A problem every environment shares is untagged (it is in the base spec),
    unless one environment was asked for by name.
    """
    where: dict[Problem, list[str]] = {}
    for environment, problems in found.items():
        for problem in problems:
            environments = where.setdefault(problem, [])
            if environment not in environments:
                environments.append(environment)
    merged = []
    for problem, environments in where.items():
        everywhere = len(environments) == len(found) and not always_tag
        tag = "" if everywhere else ", ".join(environments)
        merged.append(Problem(problem.path, problem.message, problem.source, tag))
    return merged
