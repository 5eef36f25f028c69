"""The Pulumi program: deploy the platform spec that the current stack names.

The stack's config says which spec file and which environment
(``mlops:spec``, ``mlops:environment``) and may add overrides
(``mlops:overrides``). Everything else lives in importable modules.
"""

from pathlib import Path

import pulumi

from components import build_platform
from mlops_dsl.loading.loader import StackOverrides, load_platform
from mlops_dsl.spec.problems import SpecError

config = pulumi.Config()
environment = config.require("environment")
spec_file = Path(__file__).resolve().parent / config.require("spec")
overrides = config.get_object("overrides") or {}

try:
    resolved = load_platform(
        spec_file,
        environment=environment,
        stack=StackOverrides(overrides, f"Pulumi.{pulumi.get_stack()}.yaml"),
    )[environment]
except SpecError as error:
    # RunError prints the message without a Python traceback.
    raise pulumi.RunError(f"the platform spec is invalid:\n{error}") from None

platform = build_platform(resolved)
pulumi.export("platform", resolved.platform.name)
pulumi.export("environment", resolved.environment)
pulumi.export("target", resolved.target.kind)
pulumi.export("models", [model.name for model in resolved.platform.models])
pulumi.export("endpoints", platform.endpoints)
