"""The Kubernetes target: every kubernetes stack under Pulumi mocks, its wiring, and real validators.

Manifests are checked against the official Kubernetes OpenAPI schemas (two
versions) and the Prometheus Operator and Gateway API CRD schemas; alert
rules with promtool (check and unit tests); routing with amtool.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.kubernetes import (
    FeatureStore,
    FeatureStoreArgs,
    Foundation,
    FoundationArgs,
    ModelRegistry,
    ModelRegistryArgs,
    ModelServing,
    ModelServingArgs,
    Monitoring,
    MonitoringArgs,
    RetrainingWebhook,
    RetrainingWebhookArgs,
    Training,
    TrainingArgs,
)
from components.kubernetes.context import Cluster
from mlops_dsl.loading.loader import StackOverrides, load_platform
from mlops_dsl.loading.stack import Project, load_stack
from mlops_dsl.rendering.alerting import promtool_tests
from mlops_dsl.review.mocks import MockRun, Secret, kubernetes_manifests, reveal
from tests.conftest import StackRuns, stacks_of
from tests.helpers.kubernetes import KUBERNETES_VERSIONS, alertmanager_config_from, builtin_errors, custom_results

ROOT = Path(__file__).resolve().parents[1]
SECRETS = {
    "retrainWebhookToken": "token-0f3c9d8e7a6b",
    "slackWebhookUrl": "https://hooks.slack.com/services/T0/B0/secret-slack-path",
    "registryDatabasePassword": "db-password-8d7f6e5c",
    "pagerdutyFraudKey": "pagerduty-routing-key-1a2b",
    "marketingWebhookUrl": "https://marketing.example.com/hook/secret-path",
}


STACKS = stacks_of("kubernetes")


@pytest.fixture(scope="module")
def runs() -> StackRuns:
    return StackRuns(STACKS, SECRETS)


def objects(run: MockRun, kind: str) -> list[dict[str, Any]]:
    return [m for m in kubernetes_manifests(run) if m["kind"] == kind]


def named(run: MockRun, kind: str, name: str) -> dict[str, Any]:
    [found] = [m for m in objects(run, kind) if m["metadata"]["name"] == name]
    return found


def test_there_are_kubernetes_stacks() -> None:
    assert set(STACKS) >= {"churn-dev", "churn-staging", "retail-prod"}


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_builtin_manifest_is_valid_for_current_kubernetes(stack: str, version: str, runs: StackRuns) -> None:
    manifests = kubernetes_manifests(runs[stack])
    assert len(manifests) > 30
    assert builtin_errors(manifests, version) == []


@pytest.mark.parametrize("stack", STACKS)
def test_every_custom_resource_matches_its_crd_schema(stack: str, runs: StackRuns) -> None:
    results = custom_results(kubernetes_manifests(runs[stack]))
    kinds = {r["kind"].split("/")[-1] for r in results}
    assert {"PrometheusRule", "ServiceMonitor", "AlertmanagerConfig"} <= kinds
    assert [r for r in results if not r["ok"]] == []


def test_the_validators_reject_broken_manifests() -> None:
    # Both validators must be able to fail, or passing them proves nothing.
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "x"},
        "spec": {"replicas": "two", "selector": {}, "template": {}},
    }
    assert builtin_errors([deployment], KUBERNETES_VERSIONS[-1])
    monitor = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": {"name": "x"},
        "spec": {"endpoints": [{"port": 8080}], "selector": {}},
    }
    assert not custom_results([monitor])[0]["ok"]


# --- wiring ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_each_hpa_targets_its_models_serving_deployment_within_the_spec_bounds(stack: str, runs: StackRuns, project: Project) -> None:
    platform = load_stack(project, stack).platform
    hpas = objects(runs[stack], "HorizontalPodAutoscaler")
    scaled = [m for m in platform.models if m.serving.online and m.serving.autoscaling]
    assert len(hpas) == len(scaled) > 0
    for model in scaled:
        [hpa] = [h for h in hpas if h["metadata"]["labels"]["mlops.dev/model"] == model.name]
        target = hpa["spec"]["scaleTargetRef"]
        deployment = named(runs[stack], "Deployment", target["name"])
        assert target["kind"] == "Deployment" and deployment["metadata"]["labels"]["mlops.dev/model"] == model.name
        assert "serve" in deployment["spec"]["template"]["spec"]["containers"][0]["args"]
        scaling = model.serving.autoscaling
        assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (scaling.min_replicas, scaling.max_replicas)  # type: ignore[union-attr]


@pytest.mark.parametrize("stack", STACKS)
def test_each_service_monitor_selects_a_service_with_its_port(stack: str, runs: StackRuns) -> None:
    services = objects(runs[stack], "Service")
    for monitor in objects(runs[stack], "ServiceMonitor"):
        wanted = monitor["spec"]["selector"]["matchLabels"]
        selected = [s for s in services if wanted.items() <= s["metadata"]["labels"].items()]
        assert selected, f"ServiceMonitor {monitor['metadata']['name']} selects no Service"
        port = monitor["spec"]["endpoints"][0]["port"]
        assert all(port in {p["name"] for p in s["spec"]["ports"]} for s in selected)
        assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"  # what Prometheus selects by


@pytest.mark.parametrize("stack", STACKS)
def test_model_servers_are_scraped_and_probed(stack: str, runs: StackRuns) -> None:
    servers = [d for d in objects(runs[stack], "Deployment") if d["metadata"]["labels"]["app.kubernetes.io/component"] == "model-server"]
    assert servers
    services = objects(runs[stack], "Service")
    monitors = objects(runs[stack], "ServiceMonitor")
    for deployment in servers:
        pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
        service = next(s for s in services if s["spec"]["selector"].items() <= pod_labels.items())
        assert any(m["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items() for m in monitors)
        server = deployment["spec"]["template"]["spec"]["containers"][0]
        assert (
            server["readinessProbe"]["httpGet"]["path"].endswith("/ready")
            and server["livenessProbe"]["httpGet"]["path"] == "/v2/health/live"
        )
        assert server["resources"]["requests"]["cpu"] and server["resources"]["limits"]["memory"]


@pytest.mark.parametrize("stack", STACKS)
def test_the_monitor_reads_the_state_volume_the_model_servers_capture_to(stack: str, runs: StackRuns) -> None:
    def state_mount(deployment: dict[str, Any]) -> tuple[str, str, bool]:
        pod = deployment["spec"]["template"]["spec"]
        container = pod["containers"][0]
        env = {e["name"]: e.get("value") for e in container["env"]}
        claims = {v["name"]: v["persistentVolumeClaim"]["claimName"] for v in pod["volumes"] if "persistentVolumeClaim" in v}
        [mount] = [m for m in container["volumeMounts"] if m["name"] in claims and m["mountPath"] == env["MLOPS_STATE_DIR"]]
        return claims[mount["name"]], mount["mountPath"], bool(mount.get("readOnly"))

    deployments = objects(runs[stack], "Deployment")
    [monitor] = [d for d in deployments if d["spec"]["template"]["spec"]["containers"][0]["args"][0] == "monitor"]
    servers = [d for d in deployments if d["metadata"]["labels"]["app.kubernetes.io/component"] == "model-server"]
    claim, path, read_only = state_mount(monitor)
    assert read_only  # it only reads captures and labels
    assert servers and all(state_mount(server)[:2] == (claim, path) for server in servers)


@pytest.mark.parametrize("stack", STACKS)
def test_every_serving_deployment_has_a_disruption_budget(stack: str, runs: StackRuns) -> None:
    budgets = objects(runs[stack], "PodDisruptionBudget")
    stable = [
        d for d in objects(runs[stack], "Deployment") if d["spec"]["template"]["metadata"]["labels"].get("mlops.dev/role") == "stable"
    ]
    assert len(budgets) == len(stable) > 0
    for deployment in stable:
        pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert any(b["spec"]["selector"]["matchLabels"].items() <= pod_labels.items() for b in budgets)


@pytest.mark.parametrize("stack", STACKS)
def test_retraining_alerts_route_to_the_webhook_service(stack: str, runs: StackRuns) -> None:
    [config] = objects(runs[stack], "AlertmanagerConfig")
    route = next(r for r in config["spec"]["route"]["routes"] if r["matchers"] == [{"name": "retrain", "value": "true", "matchType": "="}])
    receiver = next(r for r in config["spec"]["receivers"] if r["name"] == route["receiver"])
    [hook] = receiver["webhookConfigs"]
    host, _, rest = hook["url"].removeprefix("http://").partition(":")
    service_name, namespace = host.split(".")[:2]
    service = named(runs[stack], "Service", service_name)
    assert namespace == service["metadata"]["namespace"]
    assert rest == f"{service['spec']['ports'][0]['port']}/alerts"
    trigger = named(runs[stack], "Deployment", service_name)
    assert trigger["spec"]["template"]["spec"]["containers"][0]["args"][0] == "trigger"
    assert service["spec"]["selector"].items() <= trigger["spec"]["template"]["metadata"]["labels"].items()
    credentials = hook["httpConfig"]["authorization"]["credentials"]
    assert credentials["name"] == named(runs[stack], "Secret", credentials["name"])["metadata"]["name"]


@pytest.mark.parametrize("stack", STACKS)
def test_the_webhook_role_allows_creating_jobs_and_nothing_more(stack: str, runs: StackRuns) -> None:
    [role] = objects(runs[stack], "Role")
    assert role["rules"] == [{"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["create"]}]
    [binding] = objects(runs[stack], "RoleBinding")
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    [subject] = binding["subjects"]
    assert (subject["kind"], subject["namespace"]) == ("ServiceAccount", role["metadata"]["namespace"])
    assert not objects(runs[stack], "ClusterRole") and not objects(runs[stack], "ClusterRoleBinding")
    pods = [
        *(d["spec"]["template"]["spec"] for d in objects(runs[stack], "Deployment")),
        *(c["spec"]["jobTemplate"]["spec"]["template"]["spec"] for c in objects(runs[stack], "CronJob")),
    ]
    with_token = [p for p in pods if p.get("automountServiceAccountToken", True)]
    assert [p["serviceAccountName"] for p in with_token] == [subject["name"]]  # only the webhook holds an API token


@pytest.mark.parametrize("stack", STACKS)
def test_secrets_are_marked_secret_and_never_appear_in_plain_text(stack: str, runs: StackRuns) -> None:
    run = runs[stack]
    [secret] = [r for r in run.resources if r.type == "kubernetes:core/v1:Secret"]
    assert isinstance(secret.inputs["stringData"], Secret)
    stored = reveal(secret.inputs["stringData"])
    assert stored["retrainWebhookToken"] == SECRETS["retrainWebhookToken"]
    everything_else = json.dumps([reveal(r.inputs) for r in run.resources if r is not secret], default=str)
    for value in SECRETS.values():
        assert value not in everything_else
    assert all(value not in json.dumps(kubernetes_manifests(run)) for value in SECRETS.values())  # masked when rendered
    stack_file = (ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text()
    assert all(value not in stack_file for value in SECRETS.values())


def test_the_canary_is_a_second_deployment_with_its_declared_share(runs: StackRuns) -> None:
    run = runs["churn-staging"]
    [route] = objects(run, "HTTPRoute")
    weights = {ref["name"]: ref["weight"] for ref in route["spec"]["rules"][0]["backendRefs"]}
    assert weights == {"churn-churn-server": 90, "churn-churn-canary": 10}
    assert route["spec"]["parentRefs"] == [{"name": "internal", "namespace": "gateway-system"}]
    canary = named(run, "Deployment", "churn-churn-canary")
    assert canary["spec"]["template"]["spec"]["containers"][0]["args"][3:5] == ["--role", "canary"]
    assert named(run, "Service", "churn-churn-canary")["spec"]["selector"]["mlops.dev/role"] == "canary"
    assert not objects(runs["churn-dev"], "HTTPRoute")  # dev declares no canary


def test_a_public_model_gets_a_route_on_the_gateway_and_a_private_one_none(mock_program: Callable[..., MockRun]) -> None:
    def routes(overrides: dict[str, Any]) -> list[dict[str, Any]]:
        spec = load_platform(ROOT / "examples/churn/platform.py", environment="staging", stack=StackOverrides(overrides, "test"))["staging"]
        model = spec.platform.models[0]
        return objects(mock_program(lambda: ModelServing("serving", ModelServingArgs(Cluster(spec, "churn-staging"), model))), "HTTPRoute")

    [route] = routes({"models.churn.serving.canary": None, "models.churn.serving.public": True})
    assert route["spec"]["rules"][0]["backendRefs"] == [{"name": "churn-churn-server", "port": 8080, "weight": 100}]
    assert route["spec"]["parentRefs"] == [{"name": "internal", "namespace": "gateway-system"}]
    assert routes({"models.churn.serving.canary": None}) == []


def test_the_feature_store_runs_feast_with_redis_and_materialization(runs: StackRuns) -> None:
    run = runs["churn-staging"]
    assert named(run, "StatefulSet", "churn-redis")["spec"]["template"]["spec"]["containers"][0]["image"].startswith("redis:")
    server = named(run, "Deployment", "churn-features")["spec"]["template"]["spec"]["containers"][0]
    assert server["args"][:2] == ["features", "serve"]
    assert named(run, "Service", "churn-features")["spec"]["ports"][0]["port"] == 6566
    cron = named(run, "CronJob", "churn-materialize")
    assert cron["spec"]["schedule"] == "*/30 * * * *"
    assert cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["args"] == ["features", "materialize"]
    claim = named(run, "PersistentVolumeClaim", "churn-data")
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]
    spec_map = named(run, "ConfigMap", "churn-spec")
    platform = json.loads(spec_map["data"]["platform.json"])
    assert [v["name"] for v in platform["feature_store"]["feature_views"]] == ["customer_activity", "billing"]


def test_the_registry_is_mlflow_with_a_database_and_an_artifact_store(runs: StackRuns) -> None:
    run = runs["churn-staging"]
    server = named(run, "Deployment", "churn-registry")["spec"]["template"]["spec"]["containers"][0]
    assert server["command"] == ["mlflow", "server"]
    assert "--backend-store-uri=postgresql://mlflow:$(DATABASE_PASSWORD)@churn-registry-db:5432/mlflow" in server["args"]
    assert "--serve-artifacts" in server["args"]
    database = named(run, "StatefulSet", "churn-registry-db")["spec"]["template"]["spec"]["containers"][0]
    password = next(e for e in database["env"] if e["name"] == "POSTGRES_PASSWORD")
    assert password["valueFrom"]["secretKeyRef"] == {"name": "churn-secrets", "key": "registryDatabasePassword"}


def test_training_has_a_schedule_and_a_job_template_the_webhook_mounts(runs: StackRuns) -> None:
    run = runs["churn-staging"]
    cron = named(run, "CronJob", "churn-churn-train")
    assert cron["spec"]["schedule"] == "0 3 * * 1"
    jobs = named(run, "ConfigMap", "churn-jobs")
    template = yaml.safe_load(jobs["data"]["churn.yaml"])
    assert builtin_errors([template], KUBERNETES_VERSIONS[-1]) == []
    container = template["spec"]["template"]["spec"]["containers"][0]
    assert container["args"] == ["train", "--model", "churn"]
    assert container["resources"]["requests"] == {"cpu": "2", "memory": "4Gi"}
    assert template["spec"]["activeDeadlineSeconds"] == 7200
    trigger = named(run, "Deployment", "churn-retraining")["spec"]["template"]["spec"]
    assert {"name": "jobs", "configMap": {"name": "churn-jobs"}} in trigger["volumes"]


def test_gpu_requests_where_the_spec_asks(mock_program: Callable[..., MockRun]) -> None:
    spec = load_platform(
        ROOT / "examples/churn/platform.py", environment="dev", stack=StackOverrides({"models.churn.training.resources.gpu": 2}, "test")
    )["dev"]
    run = mock_program(lambda: Training("training", TrainingArgs(Cluster(spec, "churn-dev"), "retrainWebhookToken")))
    [cron] = objects(run, "CronJob")
    scheduled = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["resources"]
    [jobs] = objects(run, "ConfigMap")
    triggered = yaml.safe_load(jobs["data"]["churn.yaml"])["spec"]["template"]["spec"]["containers"][0]["resources"]
    for resources in (scheduled, triggered):
        assert resources["requests"]["nvidia.com/gpu"] == "2" and resources["limits"]["nvidia.com/gpu"] == "2"


# --- alert rules and routing, with Prometheus' and Alertmanager's own tools ------------------------

PROMTOOL = shutil.which("promtool") or "promtool"
AMTOOL = shutil.which("amtool") or "amtool"


@pytest.mark.parametrize("stack", STACKS)
def test_rendered_rules_pass_promtool_check(stack: str, runs: StackRuns, tmp_path: Path) -> None:
    [rule] = objects(runs[stack], "PrometheusRule")
    (tmp_path / "rules.yml").write_text(yaml.safe_dump(rule["spec"]))
    result = subprocess.run([PROMTOOL, "check", "rules", str(tmp_path / "rules.yml")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


@pytest.mark.parametrize("stack", STACKS)
def test_each_alert_fires_on_its_series_and_stays_quiet_otherwise(stack: str, runs: StackRuns, project: Project, tmp_path: Path) -> None:
    [rule] = objects(runs[stack], "PrometheusRule")
    (tmp_path / "rules.yml").write_text(yaml.safe_dump(rule["spec"]))
    platform = load_stack(project, stack).platform
    tests = promtool_tests(platform, "rules.yml", keep={"namespace": rule["metadata"]["namespace"]})
    assert len(tests["tests"]) == 2 * sum(len(m.monitors) for m in platform.models)
    (tmp_path / "tests.yml").write_text(yaml.safe_dump(tests))
    result = subprocess.run([PROMTOOL, "test", "rules", "tests.yml"], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_unit_tests_can_fail(runs: StackRuns, project: Project, tmp_path: Path) -> None:
    [rule] = objects(runs["churn-dev"], "PrometheusRule")
    broken = json.loads(json.dumps(rule["spec"]).replace("> 0.2", "> 9"))  # the drift alert could never fire
    (tmp_path / "rules.yml").write_text(yaml.safe_dump(broken))
    tests = promtool_tests(load_stack(project, "churn-dev").platform, "rules.yml", keep={"namespace": "churn-dev"})
    (tmp_path / "tests.yml").write_text(yaml.safe_dump(tests))
    result = subprocess.run([PROMTOOL, "test", "rules", "tests.yml"], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode != 0 and "churn-feature-drift" in result.stdout + result.stderr


@pytest.mark.parametrize("stack", STACKS)
def test_rendered_alertmanager_routing_passes_amtool(stack: str, runs: StackRuns, tmp_path: Path) -> None:
    [config] = objects(runs[stack], "AlertmanagerConfig")
    (tmp_path / "alertmanager.yml").write_text(yaml.safe_dump(alertmanager_config_from(config, tmp_path)))
    result = subprocess.run([AMTOOL, "check-config", str(tmp_path / "alertmanager.yml")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    routed = subprocess.run(
        [
            AMTOOL,
            "config",
            "routes",
            "test",
            f"--config.file={tmp_path / 'alertmanager.yml'}",
            "--verify.receivers=retraining-webhook",
            "retrain=true",
            f"namespace={config['metadata']['namespace']}",
        ],
        capture_output=True,
        text=True,
    )
    assert routed.returncode == 0, routed.stdout + routed.stderr


# --- components and their type tokens --------------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "token"),
    [
        (lambda c: Foundation("x", FoundationArgs(c, {"retrainWebhookToken": "t"})), "mlops:kubernetes:Foundation"),
        (lambda c: FeatureStore("x", FeatureStoreArgs(c)), "mlops:kubernetes:FeatureStore"),
        (lambda c: ModelRegistry("x", ModelRegistryArgs(c)), "mlops:kubernetes:ModelRegistry"),
        (lambda c: Training("x", TrainingArgs(c, "retrainWebhookToken")), "mlops:kubernetes:Training"),
        (lambda c: ModelServing("x", ModelServingArgs(c, c.spec.platform.models[0])), "mlops:kubernetes:ModelServing"),
        (lambda c: Monitoring("x", MonitoringArgs(c, "http://hook/alerts", "retrainWebhookToken")), "mlops:kubernetes:Monitoring"),
        (lambda c: RetrainingWebhook("x", RetrainingWebhookArgs(c, "retrainWebhookToken", "jobs")), "mlops:kubernetes:RetrainingWebhook"),
    ],
)
def test_component_type_tokens_are_pinned_and_children_are_parented(
    build: Callable[[Cluster], Any], token: str, mock_program: Callable[..., MockRun]
) -> None:
    spec = load_platform(ROOT / "examples/churn/platform.py", environment="staging")["staging"]
    run = mock_program(lambda: build(Cluster(spec, "churn-staging")))
    component = run.resources[0]
    assert component.type == token
    assert len(run.resources) > 1 and all(r.parent == component.urn for r in run.resources[1:])
