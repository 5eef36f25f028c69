"""The code of the platform's Lambda functions, packaged from this project's own files.

Only the modules a function imports go in (they need the standard library and
boto3, which Lambda provides); a stub package ``__init__`` keeps the spec's
pydantic models out.
"""

from __future__ import annotations

from pathlib import Path

import pulumi

PACKAGE = Path(__file__).resolve().parents[2] / "mlops_dsl"
MODULES = (
    "durations.py",
    "retraining/__init__.py",
    "retraining/policy.py",
    "retraining/backends.py",
    "aws/__init__.py",
    "aws/state.py",
    "aws/trigger_function.py",
    "aws/deploy_function.py",
    "aws/batch_function.py",
)
RUNTIME = "python3.12"


def archive() -> pulumi.AssetArchive:
    """The zip every platform function runs from (each with its own handler)."""
    assets: dict[str, pulumi.Asset | pulumi.Archive] = {"mlops_dsl/__init__.py": pulumi.StringAsset('"""mlops-dsl functions."""\n')}
    for module in MODULES:
        assets[f"mlops_dsl/{module}"] = pulumi.FileAsset(str(PACKAGE / module))
    return pulumi.AssetArchive(assets)


HANDLERS = {
    "trigger": "mlops_dsl.aws.trigger_function.handler",
    "deploy": "mlops_dsl.aws.deploy_function.handler",
    "batch": "mlops_dsl.aws.batch_function.handler",
}
