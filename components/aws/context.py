"""What every AWS component of a platform shares: the spec, names, the account and helpers for roles.

IAM is least privilege by construction: a role is built from statements that
name their actions and the ARNs they act on; :func:`Account.role` refuses a
wildcard action, and ``Resource: "*"`` only where the service has no
resource-level permissions for that action.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from mlops_dsl.contracts.names import AwsNames, autonamed
from mlops_dsl.loading.loader import ResolvedSpec
from mlops_dsl.spec.environment import AwsTarget

# Actions AWS does not scope to a resource: they may (and must) use Resource "*".
UNSCOPED_ACTIONS = frozenset(
    {
        "ecr:GetAuthorizationToken",
        "cloudwatch:PutMetricData",
        "application-autoscaling:RegisterScalableTarget",
        "application-autoscaling:PutScalingPolicy",
        "application-autoscaling:DescribeScalableTargets",
        "application-autoscaling:DescribeScalingPolicies",
        "sagemaker:ListModelPackages",
        "sagemaker:ListModels",
    }
)


def statement(actions: list[str], resources: list[Any], **extra: Any) -> dict[str, Any]:
    """One Allow statement."""
    return {"Effect": "Allow", "Action": actions, "Resource": resources, **extra}


@dataclass(frozen=True)
class Account:
    """The AWS account and region a platform environment deploys to."""

    spec: ResolvedSpec
    names: AwsNames
    account_id: pulumi.Output[str]
    kms_key_arn: pulumi.Output[str]

    @property
    def target(self) -> AwsTarget:
        target = self.spec.target
        if not isinstance(target, AwsTarget):
            raise TypeError(f"the AWS components need an aws environment, got {target.kind!r}")
        return target

    @property
    def region(self) -> str:
        return self.target.region

    @property
    def tags(self) -> dict[str, str]:
        return {"mlops:platform": self.spec.platform.name, "mlops:environment": self.spec.environment}

    def arn(self, service: str, resource: str) -> pulumi.Output[str]:
        """An ARN in this account and region (``resource`` is the part after the account id)."""
        return pulumi.Output.concat(f"arn:aws:{service}:{self.region}:", self.account_id, f":{resource}")

    def role(
        self,
        name: str,
        service: str,
        statements: list[dict[str, Any]],
        parent: pulumi.Resource,
        managed: list[str] | None = None,
    ) -> aws.iam.Role:
        """A role that ``service`` assumes, with one inline policy of exactly these statements."""
        for item in statements:
            for action in item["Action"]:
                if "*" in action:
                    raise ValueError(f"role {name}: wildcard action {action!r}; name each action")
            if "*" in item["Resource"] and not set(item["Action"]) <= UNSCOPED_ACTIONS:
                raise ValueError(f"role {name}: Resource '*' for {item['Action']}, which can be scoped to an ARN")
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": service},
                    "Action": "sts:AssumeRole",
                    "Condition": {"StringEquals": {"aws:SourceAccount": self.account_id}},
                }
            ],
        }
        role = aws.iam.Role(
            name,
            name=autonamed(name, "role"),  # Pulumi's autoname, unless the logical name is too long for it
            assume_role_policy=pulumi.Output.json_dumps(trust),
            managed_policy_arns=managed or [],
            tags=self.tags,
            opts=pulumi.ResourceOptions(parent=parent),
        )
        aws.iam.RolePolicy(
            f"{name}-policy",
            name=autonamed(f"{name}-policy", "role_policy"),
            role=role.id,
            policy=pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": statements}),
            opts=pulumi.ResourceOptions(parent=role),
        )
        return role

    def logs_statement(self, *group_names: str) -> dict[str, Any]:
        """Writing to the CloudWatch log groups of named functions or jobs."""
        return statement(
            ["logs:CreateLogStream", "logs:PutLogEvents"],
            [self.arn("logs", f"log-group:{group}:*") for group in group_names],
        )


def as_json(value: Any) -> pulumi.Output[str]:
    """A JSON document from a structure that may hold Outputs."""
    return pulumi.Output.json_dumps(value)


def config_json(value: dict[str, Any]) -> str:
    """A JSON document from plain data (for function configuration known at plan time)."""
    return json.dumps(value, sort_keys=True)
