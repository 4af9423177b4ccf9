"""deploy/helm/paystream, checked with the real tools: `helm lint` and `helm template` (helm built
from the Go module proxy by deploy/local/tools.sh), the rendered manifests validated against
the Kubernetes schemas (kubernetes-validate ships them), strictly."""

from __future__ import annotations

import os
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "deploy" / "helm" / "paystream"
SERVICES = ("checkout", "webhook-ingest", "ledger", "invoicing")
DATABASES = ("checkout", "ledger", "invoicing")
K8S_VERSION = "1.33"


def helm() -> str:
    path = os.environ.get("PAYSTREAM_HELM", "")
    # `make test` installs it (deploy/local/tools.sh) and exports PAYSTREAM_HELM.
    assert path, "PAYSTREAM_HELM is not set: run through `make test`"
    assert Path(path).exists(), f"{path} is missing: deploy/local/tools.sh install"
    return path


def render(*sets: str) -> list[dict[str, Any]]:
    args = [helm(), "template", "pay", str(CHART), "--namespace", "payments"]
    for s in sets:
        args += ["--set", s]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    return [d for d in yaml.safe_load_all(out) if d]


def by_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


# A production Kafka: TLS with the cluster's CA, and each service's own user (Strimzi's
# KafkaUser Secrets, one per user).
KAFKA_USERS = (*SERVICES, "operator")
SASL_SSL = (
    "kafka.security.protocol=SASL_SSL",
    "kafka.security.caSecret=my-cluster-cluster-ca-cert",
    *(f"kafka.security.users.{u}.passwordSecret=kafka-{u}" for u in KAFKA_USERS),
)


def test_the_chart_lints() -> None:
    r = subprocess.run([helm(), "lint", "--strict", str(CHART)], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.parametrize(
    "sets",
    [
        (),
        ("secrets.existingSecret=paystream-prod",),
        ("services.ledger.autoscaling.enabled=false", "kafka.topicPrefix=staging."),
        ("kafka.security.protocol=SSL", "kafka.security.caSecret=cluster-ca"),
        SASL_SSL,
    ],
)
def test_every_rendered_manifest_is_valid_kubernetes(sets: tuple[str, ...]) -> None:
    docs = render(*sets)
    assert docs
    for doc in docs:
        # Raises ValidationError naming the resource and the field.
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def test_a_deployment_per_service_with_probes_resources_and_its_configuration() -> None:
    docs = render()
    deployments = by_kind(docs, "Deployment")
    assert set(deployments) == {f"pay-paystream-{s}" for s in SERVICES}
    for name, d in deployments.items():
        pod = d["spec"]["template"]["spec"]
        (c,) = pod["containers"]
        assert c["livenessProbe"]["httpGet"]["path"] == "/healthz", name
        assert c["readinessProbe"]["httpGet"]["path"] == "/readyz", name
        assert c["resources"]["requests"]["cpu"], name
        assert c["resources"]["requests"]["memory"], name
        refs = {next(iter(e.values()))["name"] for e in c["envFrom"]}
        assert refs == {"pay-paystream-config", "pay-paystream-secrets"}, name
        assert pod["securityContext"]["runAsNonRoot"] is True
    ledger = deployments["pay-paystream-ledger"]["spec"]["template"]["spec"]["containers"][0]
    assert ledger["command"] == ["python", "-m", "paystream.ledger"]
    env = {e["name"]: e["value"] for e in ledger["env"]}
    assert env["PAYSTREAM_DATABASE"] == "paystream_ledger"
    config = by_kind(docs, "ConfigMap")["pay-paystream-config"]["data"]
    # External Kafka and PostgreSQL by default: nothing of theirs is rendered.
    assert config["PAYSTREAM_KAFKA_BOOTSTRAP"] == "kafka-bootstrap.kafka.svc:9092"
    assert config["PAYSTREAM_PG_HOST"] == "postgres.database.svc"
    # Metrics, documents and detailed readiness on the ops port, which only the cluster reaches.
    assert config["PAYSTREAM_OPS_PORT"] == "9000"
    for d in deployments.values():
        (c,) = d["spec"]["template"]["spec"]["containers"]
        assert {p["name"]: p["containerPort"] for p in c["ports"]} == {"http": 8000, "ops": 9000}
        assert d["spec"]["template"]["metadata"]["annotations"]["prometheus.io/port"] == "9000"
    assert not by_kind(docs, "StatefulSet")
    secret = by_kind(docs, "Secret")["pay-paystream-secrets"]
    assert "PAYSTREAM_JWT_SECRET" in secret["stringData"]


def test_autoscalers_and_disruption_budgets() -> None:
    docs = render("services.ledger.autoscaling.enabled=false")
    hpas = by_kind(docs, "HorizontalPodAutoscaler")
    assert set(hpas) == {f"pay-paystream-{s}" for s in SERVICES if s != "ledger"}
    assert hpas["pay-paystream-checkout"]["spec"]["minReplicas"] == 2
    pdbs = by_kind(docs, "PodDisruptionBudget")
    assert set(pdbs) == {f"pay-paystream-{s}" for s in SERVICES}
    # Without an autoscaler the Deployment keeps its replicas.
    assert by_kind(docs, "Deployment")["pay-paystream-ledger"]["spec"]["replicas"] == 2
    assert "replicas" not in by_kind(docs, "Deployment")["pay-paystream-checkout"]["spec"]


def test_topics_and_migration_jobs_run_before_the_services() -> None:
    jobs = by_kind(render(), "Job")
    assert set(jobs) == {"pay-paystream-topics"} | {
        f"pay-paystream-migrate-{db}" for db in DATABASES
    }
    for name, job in jobs.items():
        hooks = job["metadata"]["annotations"]
        assert hooks["helm.sh/hook"] == "pre-install,pre-upgrade", name
        (c,) = job["spec"]["template"]["spec"]["containers"]
        assert c["command"] == ["python", "-m", "paystream.shared.prepare"]
    weights = {n: int(j["metadata"]["annotations"]["helm.sh/hook-weight"]) for n, j in jobs.items()}
    assert weights["pay-paystream-topics"] < weights["pay-paystream-migrate-ledger"]
    ledger = jobs["pay-paystream-migrate-ledger"]["spec"]["template"]["spec"]["containers"][0]
    assert ledger["args"] == [
        "migrate",
        "--database",
        "paystream_ledger",
        "--migrations",
        "/app/services/ledger/migrations",
    ]
    # The migrations directory the Job names is where the image puts the service's sources.
    assert (REPO / "services" / "ledger" / "migrations" / "versions").is_dir()


def test_an_existing_secret_is_used_and_none_is_created() -> None:
    docs = render("secrets.existingSecret=paystream-prod")
    assert not by_kind(docs, "Secret")
    for d in by_kind(docs, "Deployment").values():
        env_from = d["spec"]["template"]["spec"]["containers"][0]["envFrom"]
        assert {"secretRef": {"name": "paystream-prod"}} in env_from


def test_kafka_must_be_given() -> None:
    r = subprocess.run(
        [helm(), "template", "pay", str(CHART), "--set", "kafka.bootstrap="],
        capture_output=True,
        text=True,
    )
    assert r.returncode != 0
    assert "kafka.bootstrap is required" in r.stderr


def test_monitoring_resources_carry_the_checked_rules_and_dashboard() -> None:
    docs = render(
        "monitoring.serviceMonitor=true",
        "monitoring.prometheusRule=true",
        "monitoring.grafanaDashboard=true",
    )
    monitors = by_kind(docs, "ServiceMonitor")
    assert len(monitors) == len(SERVICES)
    for name, monitor in monitors.items():
        assert monitor["spec"]["endpoints"][0]["port"] == "ops", name
        # The port it names is one the Service has.
        service = by_kind(docs, "Service")[name]
        assert "ops" in {p["name"] for p in service["spec"]["ports"]}, name
    (rule,) = by_kind(docs, "PrometheusRule").values()
    alerts = yaml.safe_load((CHART / "files" / "alerts.yml").read_text())
    assert rule["spec"] == alerts
    dashboard = by_kind(docs, "ConfigMap")["pay-paystream-dashboard"]
    assert dashboard["metadata"]["labels"]["grafana_dashboard"] == "1"
    for doc in docs:
        if doc["apiVersion"].startswith("monitoring.coreos.com/"):
            continue  # the Prometheus Operator's CRDs: not in the Kubernetes schemas
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def _env(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


def test_with_sasl_ssl_each_service_connects_as_its_own_kafka_user() -> None:
    docs = render(*SASL_SSL)
    config = by_kind(docs, "ConfigMap")["pay-paystream-config"]["data"]
    assert config["PAYSTREAM_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    assert config["PAYSTREAM_KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-512"
    assert config["PAYSTREAM_KAFKA_SSL_CA_FILE"] == "/etc/paystream/kafka-ca/ca.crt"
    acls = tomllib.loads((REPO / "deploy" / "kafka" / "acls.toml").read_text())
    users = {name: u["user"] for name, u in acls["users"].items()}
    for service in SERVICES:
        pod = by_kind(docs, "Deployment")[f"pay-paystream-{service}"]["spec"]["template"]["spec"]
        (c,) = pod["containers"]
        env = _env(c)
        # The user the ACLs of deploy/kafka/acls.toml are written for, and only its password.
        assert env["PAYSTREAM_KAFKA_SASL_USERNAME"] == users[service]
        assert env["PAYSTREAM_KAFKA_SASL_PASSWORD"] == {
            "secretKeyRef": {"name": f"kafka-{service}", "key": "password"}
        }
        assert {"name": "kafka-ca", "mountPath": "/etc/paystream/kafka-ca", "readOnly": True} in c[
            "volumeMounts"
        ]
        assert {"name": "kafka-ca", "secret": {"secretName": "my-cluster-cluster-ca-cert"}} in pod[
            "volumes"
        ]
    jobs = by_kind(docs, "Job")
    (topics,) = jobs["pay-paystream-topics"]["spec"]["template"]["spec"]["containers"]
    # The topics are created by the operator, a super user of the ACLs; migrations need no Kafka.
    assert _env(topics)["PAYSTREAM_KAFKA_SASL_USERNAME"] == acls["super_users"][0]
    (migrate,) = jobs["pay-paystream-migrate-ledger"]["spec"]["template"]["spec"]["containers"]
    assert "PAYSTREAM_KAFKA_SASL_USERNAME" not in _env(migrate)


def test_sasl_ssl_without_a_users_password_secret_does_not_render() -> None:
    r = subprocess.run(
        [helm(), "template", "pay", str(CHART), "--set", "kafka.security.protocol=SASL_SSL"],
        capture_output=True,
        text=True,
    )
    assert r.returncode != 0
    assert "passwordSecret is required with SASL_SSL" in r.stderr


def test_plaintext_by_default_sets_no_kafka_user() -> None:
    docs = render()
    assert (
        by_kind(docs, "ConfigMap")["pay-paystream-config"]["data"][
            "PAYSTREAM_KAFKA_SECURITY_PROTOCOL"
        ]
        == "PLAINTEXT"
    )
    for d in by_kind(docs, "Deployment").values():
        (c,) = d["spec"]["template"]["spec"]["containers"]
        assert "PAYSTREAM_KAFKA_SASL_USERNAME" not in _env(c)
