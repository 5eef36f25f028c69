"""Run a Pulumi program under the SDK's mocks and record every resource it declares.

This is Pulumi's documented way to test programs without the CLI or a cloud
(``pulumi.runtime.set_mocks``). Each run gets a fresh event loop and a fresh
copy of the SDK's context variables, so runs never leak state into each other.
The recording keeps each resource's type, name, parent and inputs, so tests
(and ``mlops plan``) assert on inputs directly instead of nesting ``apply``.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import gc
import json
import os
import runpy
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockMonitor
from pulumi.runtime.stack import run_pulumi_func

from mlops_dsl.loading.stack import Project, stack_config

FAKE_ACCOUNT = "123456789012"


@dataclass(frozen=True)
class Secret:
    """An input the program marked secret; its value is kept for assertions, never printed by plans."""

    value: Any


@dataclass(frozen=True)
class RecordedResource:
    """One resource as the program declared it."""

    type: str
    name: str
    urn: str
    parent: str | None
    custom: bool
    inputs: dict[str, Any]
    provider: str | None = None
    dependencies: tuple[str, ...] = ()


@dataclass
class MockRun:
    """Everything one program run declared, and its stack outputs."""

    resources: list[RecordedResource] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)

    def of_type(self, type_token: str) -> list[RecordedResource]:
        """Every resource of this type, in declaration order."""
        return [r for r in self.resources if r.type == type_token]

    def one(self, type_token: str, name: str | None = None) -> RecordedResource:
        """The single resource of this type (and name); fails loudly otherwise."""
        found = [r for r in self.of_type(type_token) if name is None or r.name == name]
        if len(found) != 1:
            names = [r.name for r in self.of_type(type_token)]
            raise LookupError(f"expected one {type_token}{f' named {name}' if name else ''}, found {len(found)} among {names}")
        return found[0]

    def by_urn(self, urn: str) -> RecordedResource:
        """The resource with this URN."""
        return next(r for r in self.resources if r.urn == urn)


def _unwrap(value: Any) -> Any:
    if rpc.is_rpc_secret(value):
        return Secret(_unwrap(value["value"]))
    if isinstance(value, dict):
        return {k: _unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unwrap(v) for v in value]
    return value


def _plain(value: Any, secret: str | None) -> Any:
    if isinstance(value, Secret):
        return _plain(value.value, secret) if secret is None else _mask(value.value, secret)
    if isinstance(value, dict):
        return {k: _plain(v, secret) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v, secret) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)  # the engine's wire format has only doubles; manifests want integers
    return value


def _mask(value: Any, mask: str) -> Any:
    if isinstance(value, dict):
        return {k: _mask(v, mask) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(v, mask) for v in value]
    return mask


def kubernetes_manifests(run: MockRun, *, secret_mask: str | None = "[secret]") -> list[dict[str, Any]]:
    """The Kubernetes objects a run declared, as manifests (secret values masked unless ``secret_mask`` is None)."""
    return [_plain(r.inputs, secret_mask) for r in run.resources if r.type.startswith("kubernetes:") and r.custom]


def reveal(value: Any) -> Any:
    """The inputs with every :class:`Secret` replaced by its value."""
    if isinstance(value, Secret):
        return reveal(value.value)
    if isinstance(value, dict):
        return {k: reveal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [reveal(v) for v in value]
    return value


# How AWS spells the ARNs of the resources the platform creates: (service, resource-type prefix).
ARN_FORMS = {
    "aws:lambda/function:Function": ("lambda", "function:"),
    "aws:sns/topic:Topic": ("sns", ""),
    "aws:cloudwatch/eventRule:EventRule": ("events", "rule/"),
    "aws:cloudwatch/metricAlarm:MetricAlarm": ("cloudwatch", "alarm:"),
    "aws:cloudwatch/logGroup:LogGroup": ("logs", "log-group:"),
    "aws:dynamodb/table:Table": ("dynamodb", "table/"),
    "aws:sagemaker/pipeline:Pipeline": ("sagemaker", "pipeline/"),
    "aws:sagemaker/modelPackageGroup:ModelPackageGroup": ("sagemaker", "model-package-group/"),
    "aws:sagemaker/featureGroup:FeatureGroup": ("sagemaker", "feature-group/"),
    "aws:sagemaker/dataQualityJobDefinition:DataQualityJobDefinition": ("sagemaker", "data-quality-job-definition/"),
}


_NAME_INPUTS = ("name", "pipelineName", "modelPackageGroupName", "featureGroupName")


class StackMocks(pulumi.runtime.Mocks):
    """Answers the engine's questions the way a fresh deployment would, deterministically.

    A resource's outputs are its inputs plus what the cloud would add: ids,
    generated names and key ids carry ``unknown`` (which ``mlops plan`` turns
    into "(known after apply)"), and AWS resources get an ARN in ``account_id``.
    One class for every mock run: tests, ``mlops plan`` and ``mlops graph``.
    """

    def __init__(self, region: str = "eu-west-1", account_id: str = FAKE_ACCOUNT, unknown: str = "mock0001") -> None:
        self.region = region
        self.account_id = account_id
        self.unknown = unknown

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        state = dict(args.inputs)
        if args.typ.startswith("aws:"):
            # Without an explicit name, AWS resources get the logical name plus a random suffix.
            name = next((state[key] for key in _NAME_INPUTS if state.get(key)), f"{args.name}-{self.unknown}")
            state.setdefault("name", name)
            if args.typ == "aws:s3/bucket:Bucket":
                state.setdefault("bucket", f"{state.get('bucketPrefix', args.name + '-')}{self.unknown}")
                state["arn"] = f"arn:aws:s3:::{state['bucket']}"
            elif args.typ.startswith("aws:iam/"):
                state["arn"] = f"arn:aws:iam::{self.account_id}:role/{name}"
            elif args.typ == "aws:kms/key:Key":
                state["keyId"] = self.unknown
                state["arn"] = f"arn:aws:kms:{self.region}:{self.account_id}:key/{self.unknown}"
            else:
                service = args.typ.split(":")[1].split("/")[0]
                service, kind = ARN_FORMS.get(args.typ, (service, args.typ.split(":")[-1].lower() + "/"))
                state["arn"] = f"arn:aws:{service}:{self.region}:{self.account_id}:{kind}{name}"
        if args.typ.startswith("kubernetes:") and "metadata" in state:
            metadata = dict(state["metadata"] or {})
            metadata.setdefault("name", f"{args.name}-{self.unknown}")
            state["metadata"] = metadata
        return self.unknown, state

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        answers: dict[str, dict[str, Any]] = {
            "aws:index/getCallerIdentity:getCallerIdentity": {
                "accountId": self.account_id,
                "arn": f"arn:aws:iam::{self.account_id}:user/{self.unknown}",
                "userId": self.unknown,
            },
            "aws:index/getRegion:getRegion": {"name": self.region, "region": self.region, "id": self.region},
            "aws:index/getPartition:getPartition": {"partition": "aws", "dnsSuffix": "amazonaws.com"},
        }
        return answers.get(args.token, {}), []


class OutstandingOutputs:
    """The SDK's record of the outputs still resolving, with constant-time removal.

    Pulumi appends every output's future to a deque and removes it when it
    resolves; ``deque.remove`` scans from the left, so a program with n
    outputs spends time in n squared there (a third of a 50-model AWS plan).
    Upstream replaced the deque with a set (pulumi/pulumi#22946); this keeps
    the deque methods the SDK calls (``append``, ``remove``, ``popleft``,
    ``clear``, ``len``) and its first-in, first-out order, on an ordered dict.
    """

    def __init__(self) -> None:
        self._futures: dict[Any, None] = {}

    def append(self, future: Any) -> None:
        self._futures[future] = None

    def remove(self, future: Any) -> None:
        try:
            del self._futures[future]
        except KeyError:
            raise ValueError("not an outstanding output") from None  # what deque.remove raises, and the SDK expects

    def popleft(self) -> Any:
        future = next(iter(self._futures))
        del self._futures[future]
        return future

    def clear(self) -> None:
        self._futures.clear()

    def __len__(self) -> int:
        return len(self._futures)


class RecordingMonitor(MockMonitor):
    """A mock resource monitor that keeps every registration, in order."""

    def __init__(self, mocks: pulumi.runtime.Mocks) -> None:
        super().__init__(mocks)
        self.recorded: list[RecordedResource] = []

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - the gRPC method name
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            self.recorded.append(
                RecordedResource(
                    type=request.type,
                    name=request.name,
                    urn=response.urn,
                    parent=request.parent or None,
                    custom=bool(request.custom),
                    inputs=_unwrap(rpc.deserialize_properties(request.object)),
                    provider=request.provider or None,
                    dependencies=tuple(request.dependencies),
                )
            )
        return response


def run_under_mocks(
    program: Callable[[], None],
    *,
    project: str,
    stack: str,
    config: dict[str, Any] | None = None,
    secret_keys: list[str] | None = None,
    preview: bool = False,
    mocks: pulumi.runtime.Mocks | None = None,
) -> MockRun:
    """Run ``program`` under mocks with a fresh event loop; return what it declared.

    ``config`` uses the CLI's keys (``"mlops:environment"``); non-string values
    are passed as JSON, as the CLI does for structured config.
    """
    context = contextvars.Context()
    with _collecting_rarely():
        return context.run(_run, program, project, stack, config or {}, secret_keys or [], preview, mocks or StackMocks())


# Young objects a run allocates before the collector looks for cycles (Python's default is 700).
RUN_COLLECTION_THRESHOLD = 50_000


@contextlib.contextmanager
def _collecting_rarely() -> Iterator[None]:
    """Cycle collection tuned for a run, which allocates much and frees little until it ends.

    A run keeps every output (several futures and tasks each) alive until the
    program ends, so the collector's passes, every 700 allocations, kept
    traversing a heap that grew with every model: half the time of a 50-model
    AWS plan. What was alive before the run (imported modules) is frozen out of
    the passes, and the passes come after 50,000 allocations. Both are undone
    afterwards, so what the run left behind is collected as usual; a process
    that froze objects itself keeps them frozen.
    """
    threshold = gc.get_threshold()
    freezing = gc.get_freeze_count() == 0
    if freezing:
        gc.freeze()
    gc.set_threshold(RUN_COLLECTION_THRESHOLD, *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        if freezing:
            gc.unfreeze()


def _run(
    program: Callable[[], None],
    project: str,
    stack: str,
    config: dict[str, Any],
    secret_keys: list[str],
    preview: bool,
    mocks: pulumi.runtime.Mocks,
) -> MockRun:
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        encoded = {key: value if isinstance(value, str) else json.dumps(value) for key, value in config.items()}
        pulumi.runtime.set_all_config(encoded, secret_keys)
        monitor = RecordingMonitor(mocks)
        pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=preview, monitor=monitor)
        # Set after set_mocks, which gives each run a fresh deque; in this run's context only.
        pulumi.runtime.settings.SETTINGS.outputs = OutstandingOutputs()
        loop.run_until_complete(run_pulumi_func(program))
        root = pulumi.runtime.settings.get_root_resource()
        outputs: dict[str, Any] = {}
        if root is not None:
            exported = getattr(root, "outputs", {})
            for name, value in exported.items():
                outputs[name] = loop.run_until_complete(pulumi.Output.from_input(value).future())
        return MockRun(monitor.recorded, outputs)
    finally:
        loop.close()
        asyncio.set_event_loop(None)


def _run_main(main: Path) -> None:
    runpy.run_path(str(main), run_name="__main__")


def run_stack(project: Project, stack: str, *, secrets: dict[str, str] | None = None, **kwargs: Any) -> MockRun:
    """Run the project's ``__main__.py`` for a stack, as ``pulumi up`` would, under mocks.

    The stack file's config is passed as the CLI would pass it. Encrypted
    (``secure:``) values cannot be decrypted without the Pulumi CLI, so they and
    any ``secrets`` given here are passed as secret config with stand-in values.
    """
    config = stack_config(project, stack)
    given = {f"{project.name}:{name}": value for name, value in (secrets or {}).items()}
    encrypted = {key for key, value in config.items() if isinstance(value, dict) and set(value) == {"secure"}}
    config.update({key: f"mock-secret-for-{key}" for key in encrypted})
    config.update(given)
    secret_keys = sorted(encrypted | set(given))
    main = project.root / "__main__.py"
    previous = Path.cwd()
    os.chdir(project.root)  # Pulumi runs programs from the project directory.
    try:
        return run_under_mocks(
            lambda: _run_main(main),
            project=project.name,
            stack=stack,
            config=config,
            secret_keys=secret_keys,
            **kwargs,
        )
    finally:
        os.chdir(previous)
