// Validate custom resources against their CRD schemas.
// Reads a JSON array of manifests on stdin; prints one JSON line per manifest:
// {"kind", "name", "ok", "errors"}; exits 1 if any is invalid, 2 if a kind is unknown.
import { PrometheusRule, ServiceMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1";
import { AlertmanagerConfig } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1alpha1";
import { HTTPRoute } from "@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1";

const models = {
  "monitoring.coreos.com/v1/PrometheusRule": PrometheusRule,
  "monitoring.coreos.com/v1/ServiceMonitor": ServiceMonitor,
  "monitoring.coreos.com/v1alpha1/AlertmanagerConfig": AlertmanagerConfig,
  "gateway.networking.k8s.io/v1/HTTPRoute": HTTPRoute,
};

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const manifests = JSON.parse(Buffer.concat(chunks).toString("utf8"));
let status = 0;
for (const manifest of manifests) {
  const key = `${manifest.apiVersion}/${manifest.kind}`;
  const Model = models[key];
  const name = manifest.metadata?.name;
  if (!Model) {
    console.log(JSON.stringify({ kind: key, name, ok: false, errors: [`no CRD schema for ${key}`] }));
    status = Math.max(status, 2);
    continue;
  }
  try {
    new Model(manifest).validate();
    console.log(JSON.stringify({ kind: key, name, ok: true, errors: [] }));
  } catch (error) {
    const details = (error.errors || []).map((e) => `${e.instancePath || "/"} ${e.message}${e.params ? " " + JSON.stringify(e.params) : ""}`);
    console.log(JSON.stringify({ kind: key, name, ok: false, errors: details.length ? details : [String(error)] }));
    status = Math.max(status, 1);
  }
}
process.exit(status);
