"""How fast `fin-infra check --source azure` judges a big stack, and how many calls it makes.

The stack: 50 container groups (backend + web in each), an Azure Managed Redis cache and an
Application Insights component (workspace-based), all answered by the local Azure stand-in
(`tests/fixtures/checks/fake_azure.py`: HTTPS on 127.0.0.1, documented response shapes).
Goals: at most one metrics batch call per namespace per 50 resources, and a whole run (the
installed command in a fresh process: imports, credential, metrics, logs, conformance reads,
report) under 2 s. The credential is `DefaultAzureCredential` restricted to the Azure CLI
credential, with a stand-in `az` that prints a token. Usage:

    .venv/bin/python tests/benchmarks/check_speed.py [GROUPS] [RUNS]
"""

from __future__ import annotations

import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.fixtures.checks.fake_azure import FakeAzure, Series  # noqa: E402

GOAL_SECONDS = 2.0
SUBSCRIPTION = "/subscriptions/00000000-0000-0000-0000-00000000beef/resourceGroups/rg-bench"


def stack_outputs(groups: int) -> dict:
    group_ids = [
        f"{SUBSCRIPTION}/providers/Microsoft.ContainerInstance/containerGroups/cg-{i:03d}" for i in range(groups)
    ]
    service = {
        "kind": "containergroup",
        "resourceIds": group_ids,
        "healthPath": "/health",
        "ingress": "external",
        "scale": None,
    }
    return {
        "contractVersion": 1,
        "project": "fin-agent",
        "stack": "bench",
        "environment": "prod",
        "location": "westeurope",
        "platform": "containerinstances",
        "resourceGroup": {"name": "rg-bench", "id": SUBSCRIPTION},
        "services": {
            "backend": {
                **service,
                "containerName": "backend",
                "roleName": "backend",
                "port": 3001,
                "requests": {"cpu": 1.5, "memoryGb": 3},
                "limits": {"cpu": 2, "memoryGb": 4},
            },
            "web": {
                **service,
                "containerName": "web",
                "roleName": "web",
                "port": 3000,
                "requests": {"cpu": 0.5, "memoryGb": 1},
                "limits": {"cpu": 1, "memoryGb": 2},
            },
        },
        "cache": {
            "tier": "managed",
            "resourceId": f"{SUBSCRIPTION}/providers/Microsoft.Cache/redisEnterprise/redis-bench",
            "databaseId": f"{SUBSCRIPTION}/providers/Microsoft.Cache/redisEnterprise/redis-bench/databases/default",
            "hostName": "redis-bench.westeurope.redis.azure.net",
            "port": 10000,
            "tls": True,
            "evictionPolicy": "allkeys-lru",
            "sku": "Balanced_B1",
            "auth": "entra",
        },
        "monitoring": {
            "logAnalyticsWorkspaceId": f"{SUBSCRIPTION}/providers/Microsoft.OperationalInsights/workspaces/log-bench",
            "logAnalyticsCustomerId": "00000000-0000-0000-0000-0000000000aa",
            "appInsightsId": f"{SUBSCRIPTION}/providers/Microsoft.Insights/components/appi-bench",
            "appInsightsAppId": "00000000-0000-0000-0000-0000000000bb",
            "databaseDependencyTypes": ["postgresql", "postgres", "pg", "SQL"],
        },
    }


def load_fake(fake: FakeAzure, outputs: dict) -> None:
    buckets = 15
    for rid in outputs["services"]["backend"]["resourceIds"]:
        fake.metric(
            rid,
            "CpuUsage",
            "Count",
            Series({"containerName": "backend"}, [900.0] * buckets),
            Series({"containerName": "web"}, [400.0] * buckets),
        )
        fake.metric(
            rid,
            "MemoryUsage",
            "Bytes",
            Series({"containerName": "backend"}, [2.5e9] * buckets),
            Series({"containerName": "web"}, [1.0e9] * buckets),
        )
        container = lambda name, req, lim: {  # noqa: E731
            "name": name,
            "properties": {
                "resources": {
                    "requests": {"cpu": req[0], "memoryInGB": req[1]},
                    "limits": {"cpu": lim[0], "memoryInGB": lim[1]},
                },
                "environmentVariables": [{"name": "OTEL_SERVICE_NAME", "value": name}],
            },
        }
        fake.resource(rid, {"containers": [container("backend", (1.5, 3), (2, 4)), container("web", (0.5, 1), (1, 2))]})
    cache = outputs["cache"]
    fake.metric(cache["resourceId"], "cachehits", "Count", Series({}, [900.0, 950.0, 920.0]))
    fake.metric(cache["resourceId"], "cachemisses", "Count", Series({}, [100.0, 50.0, 80.0]))
    fake.resource(cache["databaseId"], {"evictionPolicy": "AllKeysLRU"})
    for table, value in (("AppRequests", 110.0), ("AppDependencies", 14.0), ("AppBrowserTimings", 1900.0)):
        fake.log(table, value, 5000)


def main() -> int:
    groups = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    with tempfile.TemporaryDirectory(prefix="fin-check-bench-") as scratch:
        directory = Path(scratch)
        outputs = stack_outputs(groups)
        (directory / "outputs.json").write_text(json.dumps(outputs), encoding="utf-8")
        az = directory / "az"
        az.write_text(
            '#!/bin/sh\necho \'{"accessToken": "bench-token", "expiresOn": "2099-01-01 00:00:00.000000", '
            '"expires_on": 4070908800, "tokenType": "Bearer"}\'\n',
            encoding="utf-8",
        )
        az.chmod(0o755)
        fake = FakeAzure(directory).start()
        load_fake(fake, outputs)
        env = {
            **os.environ,
            "PATH": f"{directory}:{os.environ['PATH']}",
            "AZURE_TOKEN_CREDENTIALS": "AzureCliCredential",
            "REQUESTS_CA_BUNDLE": str(fake.cert),
        }
        command = [
            str(Path(sys.executable).with_name("fin-infra")), "check", "bench", "--source", "azure",
            "--outputs", str(directory / "outputs.json"), "--format", "json",
            "--arm-endpoint", fake.url, "--metrics-endpoint", fake.url, "--logs-endpoint", fake.url,
        ]  # fmt: skip
        timings = []
        document = {}
        try:
            for _ in range(runs):
                fake.requests.clear()
                started = time.perf_counter()
                completed = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
                timings.append(time.perf_counter() - started)
                if completed.returncode != 0:
                    print(completed.stderr, file=sys.stderr)
                    return 1
                document = json.loads(completed.stdout)
            metrics_calls = Counter(
                (call.query["metricnamespace"][0], len(call.body["resourceids"])) for call in fake.calls("metrics")
            )
            per_namespace = Counter(namespace for namespace, _ in metrics_calls.elements())
            logs_calls = len(fake.calls("logs"))
            arm_calls = len(fake.calls("arm"))
        finally:
            fake.stop()
    median = statistics.median(timings)
    allowed = {
        "Microsoft.ContainerInstance/containerGroups": math.ceil(groups / 50),
        "Microsoft.Cache/redisEnterprise": 1,
    }
    calls_ok = all(per_namespace[ns] <= allowed.get(ns, 1) for ns in per_namespace)
    rows = sum(len(t["evidence"]) for t in document["targets"])
    print(f"fin-infra check (azure) of {groups} container groups + Managed Redis + App Insights:")
    for (namespace, resources), count in sorted(metrics_calls.items()):
        print(f"  metrics batch calls: {count} x {namespace} with {resources} resources")
    print(f"  log queries: {logs_calls}; Resource Manager reads: {arm_calls}; evidence rows: {rows}; "
          f"conformance rows: {len(document['conformance'])}; exit code {document['exitCode']}")  # fmt: skip
    print(
        f"  {runs} runs: fastest {min(timings):.2f} s, median {median:.2f} s, slowest {max(timings):.2f} s "
        f"(goal < {GOAL_SECONDS:.0f} s); calls per namespace within one per 50 resources: {calls_ok}"
    )
    return 0 if median < GOAL_SECONDS and calls_ok else 1


if __name__ == "__main__":
    sys.exit(main())
