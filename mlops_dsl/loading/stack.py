"""The Pulumi project and its per-environment stacks, read without the Pulumi CLI.

A stack file, ``stacks/Pulumi.<stack>.yaml``, names the spec file and the
environment it deploys, and may add overrides and secrets::

    config:
      mlops:spec: examples/churn/platform.py
      mlops:environment: prod
      mlops:overrides:
        models.churn.serving.replicas: 3
      mlops:slackWebhookUrl:
        secure: AAABAK...   # set with: pulumi config set --secret slackWebhookUrl ...
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, assert_never

import yaml

from mlops_dsl.loading.loader import ResolvedSpec, StackOverrides, display_path, load_platform, unreadable_file
from mlops_dsl.loading.nesting import MAX_DEPTH
from mlops_dsl.spec.environment import AwsTarget, KubernetesTarget, LocalTarget, Target
from mlops_dsl.spec.monitoring import channel_secrets
from mlops_dsl.spec.platform import Platform
from mlops_dsl.spec.problems import Problem, SpecError, got_allowed, one_of

PROJECT_FILE = "Pulumi.yaml"
REGISTRY_DATABASE_PASSWORD = "registryDatabasePassword"
"""The config secret of the Kubernetes target's registry database (PostgreSQL) password, which no spec field names."""


@dataclass(frozen=True)
class Project:
    """A Pulumi project: its root directory, name and where its stack files live."""

    root: Path
    name: str
    stack_dir: Path

    def stack_file(self, stack: str) -> Path:
        """The config file of a stack."""
        return self.stack_dir / f"Pulumi.{stack}.yaml"

    def stack_names(self) -> list[str]:
        """Every stack that has a config file, sorted."""
        return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in self.stack_dir.glob("Pulumi.*.yaml"))


@dataclass(frozen=True)
class StackConfig:
    """What a stack file says: which spec, which environment, overrides and secret names."""

    name: str
    file: Path
    spec: Path
    environment: str
    overrides: dict[str, Any] = field(default_factory=dict)
    secrets: frozenset[str] = frozenset()
    plain: frozenset[str] = frozenset()


def find_project(start: Path | None = None) -> Project:
    """The Pulumi project containing ``start`` (the working directory by default)."""
    here = (start or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        candidate = directory / PROJECT_FILE
        if candidate.is_file() or candidate.is_symlink():  # a broken link is reported, not skipped
            document = _read_yaml(candidate)
            name = document.get("name") if isinstance(document, dict) else None
            if not isinstance(name, str) or not name:
                raise SpecError([Problem("name", got_allowed(name, "the project's name"), source=display_path(candidate))])
            stack_dir = document.get("stackConfigDir") or "."
            return Project(directory, name, directory / str(stack_dir))
    raise SpecError([Problem("", f"no {PROJECT_FILE} in {here} or any parent; run mlops from the project directory", source="mlops")])


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing a key written twice in one mapping.

    YAML requires unique keys, but PyYAML keeps the second silently: a stack
    file with ``mlops:environment`` twice would deploy whichever came last.
    """


def _mapping_with_unique_keys(loader: _UniqueKeyLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    first_line: dict[Any, int] = {}
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue  # `<<: *defaults` may be overridden by the mapping's own keys, as YAML intends
        key = loader.construct_object(key_node, deep=True)
        try:
            written = key in first_line
        except TypeError:
            continue  # an unhashable key: construct_mapping reports it
        if written:
            raise yaml.constructor.ConstructorError(
                "while reading a mapping",
                node.start_mark,
                f"the key {key!r} is written twice (first on line {first_line[key] + 1}); allowed: each key once",
                key_node.start_mark,
            )
        first_line[key] = key_node.start_mark.line
    return loader.construct_mapping(node)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_with_unique_keys)


def _read_yaml(path: Path) -> Any:
    shown = display_path(path)
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise SpecError([Problem("", f"cannot be read: {error.strerror}", source=shown)]) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        message = f"is not UTF-8 text: byte 0x{raw[error.start]:02x} cannot be decoded; allowed: a YAML file in UTF-8"
        raise SpecError([Problem("", message, source=f"{shown}:{line}")]) from None
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader subclass: no arbitrary objects
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{shown}:{mark.line + 1}" if mark is not None else shown
        reason = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise SpecError([Problem("", f"is not valid YAML: {reason}", source=where)]) from None
    except RecursionError:
        message = f"is not usable YAML: it nests too deeply to read; allowed: at most {MAX_DEPTH} levels of lists and mappings"
        raise SpecError([Problem("", message, source=shown)]) from None


def stack_config(project: Project, stack: str) -> dict[str, Any]:
    """The ``config`` mapping of a stack file, as written (secure values stay encrypted)."""
    path = project.stack_file(stack)
    if not path.exists() and not path.is_symlink():
        allowed = f"a stack with a file in {display_path(project.stack_dir)}: {one_of(project.stack_names())}"
        raise SpecError([Problem("", got_allowed(stack, allowed, "no such stack"), source="--stack")])
    unreadable = unreadable_file(path, "stack file", "a readable stack file (a symlink loop or a dangling link is not)")
    if unreadable is not None:
        raise SpecError([unreadable])
    document = _read_yaml(path) or {}
    config = document.get("config") if isinstance(document, dict) else None
    if not isinstance(config, dict):
        raise SpecError([Problem("config", got_allowed(config, "a mapping of config keys"), source=display_path(path))])
    return config


def read_stack(project: Project, stack: str) -> StackConfig:
    """Read and check a stack's config file."""
    config = stack_config(project, stack)
    path = project.stack_file(stack)
    shown = display_path(path)
    prefix = f"{project.name}:"
    problems = []
    spec = config.get(prefix + "spec")
    environment = config.get(prefix + "environment")
    overrides = config.get(prefix + "overrides", {})
    if not isinstance(spec, str) or not spec:
        problems.append(
            Problem(f"config.{prefix}spec", got_allowed(spec, "the path of the platform spec file, relative to the project"), source=shown)
        )
    if not isinstance(environment, str) or not environment:
        problems.append(
            Problem(
                f"config.{prefix}environment", got_allowed(environment, "the name of an environment declared in the spec"), source=shown
            )
        )
    if not isinstance(overrides, dict):
        problems.append(Problem(f"config.{prefix}overrides", got_allowed(overrides, "a mapping of spec paths to values"), source=shown))
    if problems:
        raise SpecError(problems)
    own = {key[len(prefix) :]: value for key, value in config.items() if isinstance(key, str) and key.startswith(prefix)}
    secrets = frozenset(key for key, value in own.items() if isinstance(value, dict) and set(value) == {"secure"})
    plain = frozenset(own) - secrets - {"spec", "environment", "overrides"}
    return StackConfig(stack, path, project.root / str(spec), str(environment), overrides, secrets, plain)


def spec_secret_names(platform: Platform) -> set[str]:
    """Every secret the spec names: the retraining webhook's and the notification channels'."""
    names = {platform.retraining_webhook.secret}
    for channel in platform.notifications:
        names.update(channel_secrets(channel))
    return names


def target_secret_names(platform: Platform, target: Target) -> set[str]:
    """Every Pulumi config secret the components of ``target`` read for ``platform``.

    The one list the components' ``secret_config_names``, the stack check for plain
    text and the plan policy's leak check all read.
    """
    named = spec_secret_names(platform)
    match target:
        case KubernetesTarget():
            return named | {REGISTRY_DATABASE_PASSWORD}
        case AwsTarget():  # EventBridge drives the retraining trigger, so no webhook token
            return named - {platform.retraining_webhook.secret}
        case LocalTarget():  # `mlops up` reads environment variables and its state directory, not Pulumi config
            return set()
        case _:
            assert_never(target)


def config_secret_names(resolved: ResolvedSpec) -> set[str]:
    """Every Pulumi config secret the resolved platform's target reads (see :func:`target_secret_names`)."""
    return target_secret_names(resolved.platform, resolved.target)


def load_stack(project: Project, stack: str, spec: Path | None = None) -> ResolvedSpec:
    """Resolve the platform a stack deploys: its environment plus its overrides, validated.

    Also checks what only the stack can get wrong: a secret kept as plain
    text, or an environment whose target Pulumi does not deploy.
    """
    config = read_stack(project, stack)
    shown = display_path(config.file)
    resolved = load_platform(
        spec or config.spec,
        environment=config.environment,
        stack=StackOverrides(config.overrides, shown, f"config.{project.name}:overrides", f"config.{project.name}:environment"),
    )[config.environment]
    problems = []
    if resolved.target.kind == "local":
        problems.append(
            Problem(
                f"config.{project.name}:environment",
                got_allowed(
                    config.environment,
                    "an environment whose target is kubernetes or aws",
                    "the local target runs with `mlops up`, not Pulumi",
                ),
                source=shown,
                environment=config.environment,
            )
        )
    # What the spec names as secrets stays secret on every target, even one that does not read it.
    for name in sorted((spec_secret_names(resolved.platform) | config_secret_names(resolved)) & config.plain):
        problems.append(
            Problem(
                f"config.{project.name}:{name}",
                got_allowed(
                    "plain text", f"a secret: pulumi config set --secret {name} <value>", "secrets must not be stored as plain text"
                ),
                source=shown,
                environment=config.environment,
            )
        )
    if problems:
        raise SpecError(problems)
    return resolved
