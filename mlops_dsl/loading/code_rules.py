"""The team's code (``Platform.code``), checked where the spec file is: there, importable as itself, shippable.

Every target appends the code folder to ``sys.path`` (:mod:`mlops_dsl.runtime.code`),
so a module of it named like a standard-library module or an installed package
would never be imported: the other one would, silently. Such a name is refused
here, as is a folder that is missing or empty, and, on Kubernetes, code too big
for the ConfigMap that carries it into the pods.
"""

from __future__ import annotations

import importlib.machinery
import os
import sys
from collections.abc import Iterator
from pathlib import Path

from mlops_dsl.contracts.code import CONFIG_MAP_BUDGET, code_files, top_level_modules
from mlops_dsl.spec.environment import KubernetesTarget
from mlops_dsl.spec.platform import CODE_RULE, Platform
from mlops_dsl.spec.problems import Problem, got_allowed

RENAME = "a module name of its own (not one of Python's standard library or an installed package)"


def code_folder(platform: Platform, spec_file: Path | None) -> Path | None:
    """The code folder a spec file names, absolute; None without ``Platform.code`` or a spec file."""
    if platform.code is None or spec_file is None:
        return None
    return Path(os.path.normpath(spec_file.resolve().parent / platform.code))


def _installed_elsewhere(name: str, folder: Path) -> bool:
    """Whether a module of this name is importable from somewhere other than ``folder``."""
    try:  # the path finder, not sys.modules: a module imported from elsewhere earlier is not installed
        found = importlib.machinery.PathFinder.find_spec(name)
    except (ImportError, ValueError):
        return False
    if found is None:
        return False
    locations = [found.origin or "", *(found.submodule_search_locations or [])]
    # The team's own module, imported by an earlier check, is not another one.
    return not any(location and Path(location).resolve().is_relative_to(folder) for location in locations)


def check_code(platform: Platform, environment: str, spec_file: Path | None) -> Iterator[Problem]:
    """Problems with the platform's code folder, for ``environment``'s target."""
    folder = code_folder(platform, spec_file)
    if folder is None:
        return
    if not folder.is_dir():
        reason = "it is a file" if folder.exists() else f"no folder {folder}"
        yield Problem("code", got_allowed(platform.code, CODE_RULE, reason))
        return
    files = code_files(folder)
    if not files:
        yield Problem("code", got_allowed(platform.code, "a folder holding the team's modules", f"{folder} holds no files"))
        return
    spec = spec_file.resolve() if spec_file is not None else None
    for name, origin in sorted(top_level_modules([relative for relative, _ in files]).items()):
        if spec is not None and (folder / origin) == spec:
            continue  # the spec file itself is loaded by its path, never imported by name
        if name in sys.stdlib_module_names:
            reason = f"{origin} would be hidden by Python's standard library module {name!r}"
        else:
            if not _installed_elsewhere(name, folder):
                continue
            reason = f"{origin} would be hidden by the installed module {name!r}"
        yield Problem("code", got_allowed(origin, RENAME, reason))
    target = platform.environments[environment].target
    size = sum(path.stat().st_size for _, path in files)
    if isinstance(target, KubernetesTarget) and size > CONFIG_MAP_BUDGET:
        yield Problem(
            "code",
            got_allowed(
                platform.code,
                f"at most {CONFIG_MAP_BUDGET:,} bytes of code on Kubernetes (a ConfigMap carries it into the pods)",
                f"{len(files)} files hold {size:,} bytes; keep data and models out of the code folder, or build them into Training.image",
            ),
        )
