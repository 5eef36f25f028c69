"""The estimator and training function a model trains with, checked without training.

The built-in trainer (:func:`mlops_dsl.runtime.trainer.build_estimator`) imports
``training.estimator`` as ``module.Class`` (or ``module.factory``), builds it once
without arguments to read its parameters, then with the spec's hyperparameters;
a custom ``training.entrypoint`` is a function it calls instead. A misspelled class,
function or parameter would pass validate and plan and fail only in the training
run; this check finds it when the spec is loaded.

Modules are imported here, by name, at check time (never statically: the loading
layer does not depend on scikit-learn or the team's code), from the installed
packages and the platform's code folder (``Platform.code``), which every target
ships. A module found only beside the spec file is refused with the fix: no
target but this machine would have it. A custom image may hold modules this
process cannot see, so a model trained in one is not checked.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.machinery
import inspect
import pkgutil
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any, assert_never

from mlops_dsl.spec.environment import AwsTarget, KubernetesTarget, LocalTarget, Target
from mlops_dsl.spec.platform import Model
from mlops_dsl.spec.problems import Problem, got_allowed, join_path, one_of

ESTIMATOR_RULE = "an importable estimator class"


class EstimatorNotFoundError(Exception):
    """The estimator named in a spec cannot be resolved; the message says why, for a problem line."""


def _suggestion(name: str, candidates: list[str]) -> str:
    close = difflib.get_close_matches(name, candidates, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _submodules(package: str) -> list[str]:
    module = sys.modules.get(package)
    locations = getattr(module, "__path__", None)
    return [info.name for info in pkgutil.iter_modules(locations)] if locations is not None else []


def _attempt(module_name: str) -> ModuleType | ModuleNotFoundError:
    """The module, or the error saying it (not one of its own imports) is missing."""
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        missing = error.name or module_name
        if module_name == missing or module_name.startswith(missing + "."):
            return error
        raise EstimatorNotFoundError(f"importing {module_name!r} failed: {error}") from None
    except Exception as error:  # the module exists but raises while importing: its own bug, reported as such
        raise EstimatorNotFoundError(f"importing {module_name!r} failed: {type(error).__name__}: {error}") from None


def _found_with(module_name: str, folder: Path) -> ModuleType | ModuleNotFoundError:
    """:func:`_attempt` with ``folder`` appended to ``sys.path`` (as the runtime appends the code), removed after."""
    entry = str(folder.resolve())
    added = entry not in sys.path
    if added:
        sys.path.append(entry)
    importlib.invalidate_caches()
    try:
        return _attempt(module_name)
    finally:
        if added:
            sys.path.remove(entry)


def _import(module_name: str, code_dir: Path | None, spec_dir: Path | None) -> ModuleType:
    """Import ``module_name`` from the installed packages, else from the platform's code folder."""
    found = _attempt(module_name)
    tried = "the installed packages"
    if isinstance(found, ModuleNotFoundError) and code_dir is not None and code_dir.is_dir():
        tried += f" and the platform's code {code_dir}"
        found = _found_with(module_name, code_dir)
    if isinstance(found, ModuleType):
        return found
    missing = found.name or module_name
    parent, _, leaf = missing.rpartition(".")
    if parent in sys.modules:
        raise EstimatorNotFoundError(f"{parent} has no module {leaf!r}{_suggestion(leaf, _submodules(parent))}")
    if code_dir is None and spec_dir is not None and spec_dir.is_dir():
        beside = importlib.machinery.PathFinder.find_spec(missing.partition(".")[0], [str(spec_dir.resolve())])
        if beside is not None:
            raise EstimatorNotFoundError(
                f"{missing.partition('.')[0]!r} is beside the spec but not part of the platform's code, so no target ships it "
                "(declare Platform(code=...) naming the folder that holds it)"
            )
    raise EstimatorNotFoundError(f"no module named {missing!r} (tried {tried})")


def _resolve(path: str, code_dir: Path | None, spec_dir: Path | None) -> Any:
    module_name, _, attribute = path.rpartition(".")
    module = _import(module_name, code_dir, spec_dir)
    if not hasattr(module, attribute):
        public = [name for name in dir(module) if not name.startswith("_")]
        raise EstimatorNotFoundError(f"{module_name} has no {attribute!r}{_suggestion(attribute, public)}")
    return getattr(module, attribute)


def resolve_entrypoint(path: str, code_dir: Path | None = None, spec_dir: Path | None = None) -> Any:
    """The training function a dotted ``module.function`` path names; raises :class:`EstimatorNotFoundError`."""
    found = _resolve(path, code_dir, spec_dir)
    if inspect.isclass(found) or not callable(found):
        raise EstimatorNotFoundError(f"{path} is a {type(found).__name__}, not a function")
    try:
        inspect.signature(found).bind(object())
    except TypeError:
        raise EstimatorNotFoundError(f"{path} must take one argument (the TrainingContext)") from None
    except ValueError:
        pass  # a builtin without a signature: called and seen
    return found


def resolve_estimator(path: str, code_dir: Path | None = None, spec_dir: Path | None = None) -> Any:
    """The class (or factory) a dotted ``module.Class`` path names; raises :class:`EstimatorNotFoundError`."""
    found = _resolve(path, code_dir, spec_dir)
    attribute = path.rpartition(".")[2]
    if not callable(found):
        raise EstimatorNotFoundError(f"{path} is a {type(found).__name__}, not a class")
    if inspect.isclass(found):
        lacking = [method for method in ("fit", "get_params") if not hasattr(found, method)]
        if lacking:
            raise EstimatorNotFoundError(f"{attribute} has no {' or '.join(lacking)} method (the trainer needs a scikit-learn estimator)")
    return found


def estimator_parameters(estimator: Any) -> list[str] | None:
    """The keyword arguments ``estimator`` accepts, or None when it takes any (``**kwargs``) or cannot be inspected."""
    try:
        signature = inspect.signature(estimator)
    except (TypeError, ValueError):
        return None
    parameters = signature.parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return None
    return [p.name for p in parameters if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)]


def _required(estimator: Any) -> list[str]:
    try:
        signature = inspect.signature(estimator)
    except (TypeError, ValueError):
        return []
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return [p.name for p in signature.parameters.values() if p.kind in kinds and p.default is inspect.Parameter.empty]


def is_checked(model: Model, target: Target) -> bool:
    """Whether the built-in trainer resolves this model's estimator where this process can see what it imports.

    Every target runs the built-in trainer with the platform's code; on Kubernetes and AWS a custom
    training image holds its own packages instead.
    """
    match target:
        case LocalTarget():
            return True
        case KubernetesTarget() | AwsTarget():
            return model.training.image is None
        case _:
            assert_never(target)


ENTRYPOINT_ALLOWED = "a function of the installed packages or of the platform's code, taking the TrainingContext"


def check_estimator(model: Model, base: str, code_dir: Path | None = None, spec_dir: Path | None = None) -> Iterator[Problem]:
    """Problems with ``model``'s estimator, training function and hyperparameters, at ``base`` (``models.<name>``)."""
    training = model.training
    if training.custom:
        try:
            resolve_entrypoint(training.entrypoint, code_dir, spec_dir)
        except EstimatorNotFoundError as error:
            yield Problem(join_path(base, "training.entrypoint"), got_allowed(training.entrypoint, ENTRYPOINT_ALLOWED, str(error)))
    if training.estimator is None:
        if not training.custom:
            yield Problem(
                join_path(base, "training.estimator"),
                got_allowed(None, f"{ESTIMATOR_RULE}, required unless training.entrypoint names a training function"),
            )
        return
    path = join_path(base, "training.estimator")
    try:
        estimator = resolve_estimator(training.estimator, code_dir, spec_dir)
    except EstimatorNotFoundError as error:
        yield Problem(path, got_allowed(training.estimator, ESTIMATOR_RULE, str(error)))
        return
    name = getattr(estimator, "__name__", training.estimator.rpartition(".")[2])
    required = _required(estimator)
    if required:
        # The trainer builds it once without arguments to read its parameters (random_state and the rest).
        yield Problem(
            path,
            got_allowed(
                training.estimator,
                "an estimator class whose parameters all have defaults",
                f"{name} requires {', '.join(map(repr, required))}, and the trainer builds it without arguments first",
            ),
        )
    accepted = estimator_parameters(estimator)
    if accepted is None:
        return
    for parameter in training.hyperparameters:
        if parameter not in accepted:
            yield Problem(
                join_path(base, "training.hyperparameters", parameter),
                got_allowed(
                    parameter,
                    f"a parameter of {name}: {one_of(accepted)}",
                    f"{name} has no parameter {parameter!r}{_suggestion(parameter, accepted)}",
                ),
            )
