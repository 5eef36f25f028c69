"""Check rendered Kubernetes manifests with real validators.

Built-in kinds: the official OpenAPI schemas of several Kubernetes versions,
through the kubernetes-validate package. Custom resources: their CRD schemas
(Prometheus Operator, Gateway API), through the @kubernetes-models packages
run by Node. The AlertmanagerConfig resource is also turned into the
Alertmanager configuration the operator would generate, for amtool.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate

ROOT = Path(__file__).resolve().parents[2]
CRD_VALIDATOR = ROOT / "tools" / "crd-validate"
KUBERNETES_VERSIONS = ("1.36.0", "1.37.0")
CUSTOM_GROUPS = ("monitoring.coreos.com/", "gateway.networking.k8s.io/")


def is_custom(manifest: dict[str, Any]) -> bool:
    return str(manifest["apiVersion"]).startswith(CUSTOM_GROUPS)


def builtin_errors(manifests: list[dict[str, Any]], version: str) -> list[str]:
    """Strict schema errors of built-in kinds against one Kubernetes version."""
    errors = []
    for manifest in manifests:
        if is_custom(manifest):
            continue
        try:
            kubernetes_validate.validate(manifest, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            errors.append(
                f"{manifest['kind']} {manifest['metadata']['name']} ({version}): {error.message} at {'/'.join(map(str, error.path))}"
            )
    return errors


def custom_results(manifests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each custom resource checked against its CRD schema (one result per manifest)."""
    node = shutil.which("node")
    if node is None or not (CRD_VALIDATOR / "node_modules").is_dir():
        raise RuntimeError("the CRD validators are not installed; run the README's test command (make test)")
    custom = [m for m in manifests if is_custom(m)]
    result = subprocess.run(
        [node, str(CRD_VALIDATOR / "validate.mjs")], input=json.dumps(custom), capture_output=True, text=True, timeout=120
    )
    if result.returncode == 2 or (result.returncode and not result.stdout):
        raise RuntimeError(result.stdout + result.stderr)
    return [json.loads(line) for line in result.stdout.splitlines()]


def _secret_file(selector: dict[str, str], secrets_dir: Path) -> str:
    path = secrets_dir / f"{selector['name']}--{selector['key']}"
    path.write_text("stand-in")
    return str(path)


def alertmanager_config_from(resource: dict[str, Any], secrets_dir: Path) -> dict[str, Any]:
    """The Alertmanager configuration that an AlertmanagerConfig resource stands for.

    The Prometheus Operator does this conversion in a cluster; here it covers
    the fields the platform renders (webhook, Slack, email, PagerDuty), with
    each Secret reference written to a file, as Alertmanager reads them.
    """
    spec = resource["spec"]
    namespace = resource["metadata"]["namespace"]

    def route(node: dict[str, Any]) -> dict[str, Any]:
        converted: dict[str, Any] = {"receiver": node["receiver"]}
        for camel, snake in (
            ("groupBy", "group_by"),
            ("groupWait", "group_wait"),
            ("groupInterval", "group_interval"),
            ("repeatInterval", "repeat_interval"),
            ("continue", "continue"),
        ):
            if camel in node:
                converted[snake] = node[camel]
        matchers = [f'{m["name"]}{m.get("matchType", "=")}"{m["value"]}"' for m in node.get("matchers", [])]
        if matchers:
            converted["matchers"] = matchers
        if node.get("routes"):
            converted["routes"] = [route(child) for child in node["routes"]]
        return converted

    receivers = []
    for receiver in spec["receivers"]:
        converted: dict[str, Any] = {"name": receiver["name"]}
        for hook in receiver.get("webhookConfigs", []):
            config: dict[str, Any] = {"send_resolved": hook.get("sendResolved", True)}
            if "url" in hook:
                config["url"] = hook["url"]
            if "urlSecret" in hook:  # the operator puts the Secret's value itself in the generated config
                config["url"] = f"https://stand-in.example.com/{hook['urlSecret']['key']}"
            authorization = hook.get("httpConfig", {}).get("authorization")
            if authorization:
                config["http_config"] = {
                    "authorization": {
                        "type": authorization["type"],
                        "credentials_file": _secret_file(authorization["credentials"], secrets_dir),
                    }
                }
            converted.setdefault("webhook_configs", []).append(config)
        for slack in receiver.get("slackConfigs", []):
            converted.setdefault("slack_configs", []).append(
                {
                    "api_url_file": _secret_file(slack["apiURL"], secrets_dir),
                    "channel": slack["channel"],
                    "send_resolved": slack.get("sendResolved", True),
                }
            )
        for email in receiver.get("emailConfigs", []):
            config = {
                "to": email["to"],
                "from": email["from"],
                "smarthost": email["smarthost"],
                "send_resolved": email.get("sendResolved", True),
            }
            if "authUsername" in email:
                config["auth_username"] = email["authUsername"]
            if "authPassword" in email:
                config["auth_password_file"] = _secret_file(email["authPassword"], secrets_dir)
            converted.setdefault("email_configs", []).append(config)
        for pager in receiver.get("pagerdutyConfigs", []):
            converted.setdefault("pagerduty_configs", []).append(
                {"routing_key_file": _secret_file(pager["routingKey"], secrets_dir), "send_resolved": pager.get("sendResolved", True)}
            )
        receivers.append(converted)
    # The operator nests the resource's route under one that matches its namespace.
    top = route(spec["route"])
    top["matchers"] = [*top.get("matchers", []), f'namespace="{namespace}"']
    return {"route": {"receiver": "operator-default", "routes": [top]}, "receivers": [{"name": "operator-default"}, *receivers]}
