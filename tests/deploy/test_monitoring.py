"""The Prometheus alert rules and the Grafana dashboard under deploy/, checked with promtool
(built from the Go module proxy by deploy/local/tools.sh): the rules parse and their unit tests
pass, every dashboard query parses as PromQL, and every metric they name is one the services
export."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
FILES = REPO / "deploy" / "helm" / "paystream" / "files"


def promtool(*args: str, cwd: Path = FILES) -> subprocess.CompletedProcess[str]:
    path = os.environ.get("PAYSTREAM_PROMTOOL", "")
    assert path, "PAYSTREAM_PROMTOOL is not set: run through `make test`"
    assert Path(path).exists(), f"{path} is missing: deploy/local/tools.sh install"
    return subprocess.run([path, *args], capture_output=True, text=True, cwd=cwd)


def test_the_alert_rules_are_valid() -> None:
    r = promtool("check", "rules", "alerts.yml")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "SUCCESS: 5 rules found" in r.stdout


def test_each_alert_fires_when_it_should() -> None:
    r = promtool("test", "rules", "alerts_test.yml")
    assert r.returncode == 0, r.stdout + r.stderr


def test_the_issue_s_alerts_are_all_there() -> None:
    doc = yaml.safe_load((FILES / "alerts.yml").read_text())
    names = {r["alert"] for g in doc["groups"] for r in g["rules"]}
    assert names == {
        "PaystreamConsumerLagGrowing",
        "PaystreamDeadLetters",
        "PaystreamWebhook5xx",
        "PaystreamOutboxStuck",
        "PaystreamNotReady",
    }


def _dashboard_queries() -> list[str]:
    dash = json.loads((FILES / "dashboard.json").read_text())
    return [t["expr"] for p in dash["panels"] for t in p["targets"]]


def test_every_dashboard_query_is_valid_promql(tmp_path: Path) -> None:
    # promtool parses a rule's expression with Prometheus' own parser.
    rules = {
        "groups": [
            {
                "name": "dashboard",
                "rules": [
                    {"record": f"paystream:dashboard_query_{i}", "expr": q}
                    for i, q in enumerate(_dashboard_queries())
                ],
            }
        ]
    }
    (tmp_path / "queries.yml").write_text(yaml.safe_dump(rules))
    r = promtool("check", "rules", "queries.yml", cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr


def _exported_metrics() -> set[str]:
    names: set[str] = set()
    for src in (REPO / "shared" / "src", REPO / "services"):
        for path in src.rglob("*.py"):
            names |= set(re.findall(r'"(paystream_[a-z_]+)"', path.read_text()))
    # Counters and histograms are exported with their suffixes.
    return names | {f"{n}_total" for n in names} | {f"{n}_bucket" for n in names}


def test_the_dashboard_and_the_alerts_name_metrics_the_services_export() -> None:
    exported = _exported_metrics()
    alerts = (FILES / "alerts.yml").read_text()
    used = set(re.findall(r"\b(paystream_[a-z_]+)\b", " ".join(_dashboard_queries()) + alerts))
    assert used, "no metric found"
    assert used <= exported, f"not exported by any service: {sorted(used - exported)}"
    for metric in (
        "paystream_consumer_lag_messages",
        "paystream_outbox_backlog",
        "paystream_outbox_oldest_age_seconds",
        "paystream_consumer_dead_letters_total",
        "paystream_payments_total",
    ):
        assert metric in used, metric
