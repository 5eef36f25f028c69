"""Policy rules for serving and monitoring in prod: monitored endpoints, alarms that act, data capture,
two replicas at least, and gated promotion."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from mlops_dsl.review.policy.view import Finding, PlanView, address_of, declared_in, json_document, labels_match, pipeline_steps, value_at


def _alarm_dimensions(alarm: dict[str, Any]) -> list[dict[str, Any]]:
    """The dimensions of every metric an alarm watches (top-level, or in its metric queries)."""
    if alarm.get("dimensions") is not None or alarm.get("metricName"):
        return [alarm.get("dimensions") or {}]
    return [value_at(q, "metric", "dimensions") or {} for q in alarm.get("metricQueries") or [] if q.get("metric") is not None]


def endpoint_monitoring(view: PlanView) -> Iterator[Finding]:
    """Prod model servers are scraped and alerted on; prod SageMaker endpoints have Model Monitor and alarms."""
    monitors = view.manifests("ServiceMonitor")
    services = view.manifests("Service")
    alerted = {
        value_at(r, "labels", "model")
        for _, m in view.manifests("PrometheusRule")
        for g in value_at(m, "spec", "groups") or []
        for r in g.get("rules") or []
        if r.get("alert")
    }
    for resource, manifest, model in view.serving_deployments(stable_only=False):
        pods = value_at(manifest, "spec", "template", "metadata", "labels") or {}
        namespace = value_at(manifest, "metadata", "namespace")
        fronting = [
            s
            for _, s in services
            if value_at(s, "metadata", "namespace") == namespace and labels_match(value_at(s, "spec", "selector"), pods)
        ]
        scraped = any(
            labels_match(value_at(m, "spec", "selector", "matchLabels"), value_at(s, "metadata", "labels") or {})
            for _, m in monitors
            for s in fronting
        )
        if not scraped:
            yield Finding(
                address_of(resource),
                f"no ServiceMonitor scrapes a Service in front of model {model}'s servers, so its metrics are never collected",
                "declare the model's serving in the spec (the platform adds a ServiceMonitor), or add one that selects its Service",
            )
        if model not in alerted:
            yield Finding(
                address_of(resource),
                f"no alert rule watches model {model} (no PrometheusRule alert has model={model!r})",
                f"add monitors to model {model} in the spec (drift, latency, error rate or quality)",
            )
    jobs = {value_at(r, "inputs", "name"): r for r in view.of_type("aws:sagemaker/dataQualityJobDefinition:DataQualityJobDefinition")}
    alarms = view.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
    endpoints = {name: f"endpoint:{name}" for name in view.endpoint_settings()}
    for resource in view.of_type("aws:sagemaker/endpoint:Endpoint"):
        endpoints.setdefault(resource["inputs"].get("name", resource["name"]), address_of(resource))
    for endpoint, subject in sorted(endpoints.items()):
        settings: Mapping[str, Any] = view.endpoint_settings().get(endpoint) or {}
        job = jobs.get(value_at(settings, "monitoring", "job_definition"))
        if settings and (job is None or value_at(job, "inputs", "dataQualityJobInput", "endpointInput", "endpointName") != endpoint):
            yield Finding(
                subject,
                f"endpoint {endpoint} has no Model Monitor data-quality job that reads it{declared_in(settings)}",
                "keep the model's monitors in the spec; the platform declares the job definition the deploy function schedules",
            )
        watched = any(endpoint in dims.values() for alarm in alarms for dims in _alarm_dimensions(alarm["inputs"]))
        if not watched:
            yield Finding(
                subject,
                f"no CloudWatch alarm watches endpoint {endpoint} (no alarm has it in its dimensions)",
                "add monitors (latency, error rate, drift or quality) to the model in the spec",
            )


def _route_receivers(route: dict[str, Any], labels: dict[str, str]) -> list[str]:
    """The receivers Alertmanager would notify for an alert with ``labels`` (matchers as in AlertmanagerConfig)."""
    for matcher in route.get("matchers") or []:
        value, pattern, kind = labels.get(matcher.get("name", ""), ""), str(matcher.get("value", "")), matcher.get("matchType", "=")
        matched = re.fullmatch(pattern, value) is not None if kind in ("=~", "!~") else value == pattern
        if matched == kind.startswith("!"):
            return []
    found: list[str] = []
    for child in route.get("routes") or []:
        got = _route_receivers(child, labels)
        found += got
        if got and not child.get("continue", False):
            break
    return found or [route.get("receiver", "")]


def alarm_dimensions_and_actions(view: PlanView) -> Iterator[Finding]:
    """Prod alarms watch one resource (dimensions, a model label) and notify someone (an action, a receiver)."""
    for alarm in view.of_type("aws:cloudwatch/metricAlarm:MetricAlarm"):
        inputs = alarm["inputs"]
        dimensions = _alarm_dimensions(inputs)
        if not dimensions or not all(dimensions):
            yield Finding(
                address_of(alarm),
                "the alarm watches a metric without dimensions, so it aggregates every endpoint (or none) instead of one",
                "give every metric the alarm watches its dimensions (EndpointName and VariantName, or Endpoint and MonitoringSchedule)",
            )
        if not inputs.get("alarmActions"):
            yield Finding(
                address_of(alarm),
                "the alarm has no alarm action, so firing notifies nobody",
                "route the monitor to a notification channel in the spec (monitor.notify, or platform notifications)",
            )
    configs = view.manifests("AlertmanagerConfig")
    for resource, manifest in view.manifests("PrometheusRule"):
        namespace = value_at(manifest, "metadata", "namespace")
        routing = [m for _, m in configs if value_at(m, "metadata", "namespace") == namespace]
        for group in value_at(manifest, "spec", "groups") or []:
            for alert in group.get("rules") or []:
                if not alert.get("alert"):
                    continue
                labels = {str(k): str(v) for k, v in (alert.get("labels") or {}).items()}
                name = alert["alert"]
                if not labels.get("model"):
                    yield Finding(
                        address_of(resource),
                        f"alert {name} has no model label, so routing and retraining cannot tell which model fired",
                        "declare the alert as a monitor of a model in the spec",
                    )
                acting = False
                for config in routing:
                    receivers = {r.get("name"): r for r in value_at(config, "spec", "receivers") or []}
                    for receiver in _route_receivers(value_at(config, "spec", "route") or {}, {**labels, "alertname": name}):
                        acting |= any(k.endswith("Configs") and v for k, v in (receivers.get(receiver) or {}).items())
                if not acting:
                    yield Finding(
                        address_of(resource),
                        f"alert {name} reaches no receiver that acts (no AlertmanagerConfig route sends it to a channel or webhook)",
                        "give the monitor a notification channel (monitor.notify or platform notifications) or a retraining trigger",
                    )


def data_capture(view: PlanView) -> Iterator[Finding]:
    """Prod endpoints capture their traffic."""
    for endpoint, settings in sorted(view.endpoint_settings().items()):
        if not value_at(settings, "capture", "enabled"):
            yield Finding(
                f"endpoint:{endpoint}",
                f"endpoint {endpoint} does not capture its traffic, so drift and quality cannot be monitored{declared_in(settings)}",
                "set serving.data_capture.enabled=True for the model in the prod environment",
            )
    for resource in view.of_type("aws:sagemaker/endpointConfiguration:EndpointConfiguration"):
        if not value_at(resource, "inputs", "dataCaptureConfig", "enableCapture"):
            yield Finding(address_of(resource), "the endpoint configuration captures no data", "set dataCaptureConfig.enableCapture")
    if view.plan.get("target") == "kubernetes":
        for model in view.online_models():
            if not value_at(model, "serving", "data_capture", "enabled"):
                yield Finding(
                    f"model:{model.get('name')}",
                    f"model {model.get('name')} is served without data capture, so drift and quality cannot be monitored",
                    "set serving.data_capture.enabled=True for the model in the prod environment",
                )


def serving_replicas(view: PlanView) -> Iterator[Finding]:
    """Prod serving starts with and scales down to at least two replicas (instances on SageMaker)."""
    autoscalers = view.manifests("HorizontalPodAutoscaler")
    for resource, manifest, model in view.serving_deployments(stable_only=True):
        replicas = value_at(manifest, "spec", "replicas")
        replicas = 1 if replicas is None else replicas
        if replicas < 2:
            yield Finding(
                address_of(resource),
                f"model {model} runs {replicas} replica in prod, so one pod's restart is an outage",
                f"set models.{model}.serving.replicas to 2 or more for prod",
            )
        name, namespace = value_at(manifest, "metadata", "name"), value_at(manifest, "metadata", "namespace")
        for scaler, hpa in autoscalers:
            target = value_at(hpa, "spec", "scaleTargetRef") or {}
            if target.get("kind") == "Deployment" and target.get("name") == name and value_at(hpa, "metadata", "namespace") == namespace:
                least = value_at(hpa, "spec", "minReplicas") or 1
                if least < 2:
                    yield Finding(
                        address_of(scaler),
                        f"model {model}'s autoscaler may scale down to {least} replica in prod",
                        f"set models.{model}.serving.autoscaling.min_replicas to 2 or more for prod",
                    )
    for endpoint, settings in sorted(view.endpoint_settings().items()):
        where = f"endpoint:{endpoint}"
        count, least = settings.get("initial_instance_count") or 1, value_at(settings, "autoscaling", "min") or 1
        for what, value, field in (("starts with", count, "replicas"), ("may scale down to", least, "autoscaling.min_replicas")):
            if value < 2:
                yield Finding(
                    where,
                    f"endpoint {endpoint} {what} {value} instance in prod, so one instance's failure is an outage{declared_in(settings)}",
                    f"set models.{settings.get('model', '<model>')}.serving.{field} to 2 or more for prod",
                )
    for resource in view.of_type("aws:sagemaker/endpointConfiguration:EndpointConfiguration"):
        for variant in resource["inputs"].get("productionVariants") or []:
            if (variant.get("initialInstanceCount") or 1) < 2:
                yield Finding(address_of(resource), "a production variant starts with one instance", "set initialInstanceCount >= 2")


def gated_approval(view: PlanView) -> Iterator[Finding]:
    """Prod versions are approved by a person or behind the evaluation gate."""
    for model in (view.artifacts.get("platform_spec") or {}).get("models", []):
        if value_at(model, "registry", "approval") == "automatic" and not value_at(model, "training", "gate"):
            yield Finding(
                f"model:{model.get('name')}",
                f"model {model.get('name')} is promoted to prod automatically with no evaluation gate",
                "set registry.approval='manual' for prod, or give training a gate (metric and threshold)",
            )
    for pipeline in view.of_type("aws:sagemaker/pipeline:Pipeline"):
        definition = json_document(pipeline["inputs"].get("pipelineDefinition")) or {}
        for step, gated in pipeline_steps(definition.get("Steps") or []):
            approved = value_at(step, "Arguments", "ModelApprovalStatus") == "Approved"
            if step.get("Type") == "RegisterModel" and approved and not gated:
                yield Finding(
                    address_of(pipeline),
                    f"step {step.get('Name')} registers versions as Approved without a gate before it",
                    "register inside the gate's Condition step, or register as PendingManualApproval",
                )
