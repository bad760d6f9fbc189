"""Platform `containerapps`: a workload-profiles environment and one autoscaling app per service.

- Environment: workload-profiles kind with the Consumption profile (allocations up to 4 vCPU /
  8 Gi), plus a Dedicated profile when settings ask for one; logs leave through diagnostic
  settings (`azure-monitor`), so no workspace key is handed out.
- Sizes: Container Apps has one allocation per app, no request/limit split. The guide's
  limits become the allocation (validated as an allowed pair; never rounded); its requests are
  reported in the outputs for reference.
- Scale: min/max replicas, a `cpu` custom rule (Utilization), an HTTP concurrency rule, and
  `cooldownPeriod`/`pollingInterval` on `template.scale` (API 2025-02-02-preview, the SDK's
  default for this module).
- Probes: liveness, readiness and startup on the health path, within Container Apps' bounds.
- Ingress: HTTPS only (`allowInsecure: false`); web external; backend as configured; web gets
  the backend's URL. Each app runs as its service's user-assigned identity.
- Secrets: Container Apps secrets, referenced by `secretRef`; never plain values. With a Key
  Vault, the app secrets are Key Vault references read with the app's identity.
- Network: with a stack network, the environment runs in the delegated apps subnet.
- Revisions: with the canary rollout strategy, a predictable revision suffix and the traffic
  split of `infra.components.revisions` (multiple-revision mode while a canary is in flight);
  the `rollout` output names the stable and canary revisions and the canary label's FQDN.
"""

from __future__ import annotations

import pulumi
from pulumi_azure_native import app

from infra.components.app_env import AppEnvVar, service_env
from infra.components.compute_shared import ComputeArgs, ServiceDeployment, identity_env, pull_identity_id
from infra.components.revisions import plan_revisions
from infra.settings.model import AutoscaleSettings, ServiceSettings

CONSUMPTION_PROFILE = "Consumption"
DEDICATED_PROFILE = "dedicated"
STARTUP_FAILURE_THRESHOLD = 10  # Container Apps' maximum: startup may take period x 10


def memory_quantity(memory_gb: float) -> str:
    """4 -> '4Gi', 0.5 -> '0.5Gi' (Container Apps takes Gi with up to two decimals)."""
    return f"{memory_gb:g}Gi"


def scale_rules(scale: AutoscaleSettings) -> list[app.ScaleRuleArgs]:
    rules = [
        app.ScaleRuleArgs(
            name="cpu-utilization",
            custom=app.CustomScaleRuleArgs(
                type="cpu",
                metadata={"type": "Utilization", "value": str(scale.cpu_utilization)},
            ),
        )
    ]
    if scale.http_concurrency is not None:
        rules.append(
            app.ScaleRuleArgs(
                name="http-concurrency",
                http=app.HttpScaleRuleArgs(metadata={"concurrentRequests": str(scale.http_concurrency)}),
            )
        )
    return rules


def scale_contract(scale: AutoscaleSettings) -> dict[str, int | None]:
    return {
        "minReplicas": scale.min_replicas,
        "maxReplicas": scale.max_replicas,
        "cpuUtilization": scale.cpu_utilization,
        "httpConcurrency": scale.http_concurrency,
        "cooldownSeconds": scale.cooldown_seconds,
        "pollingSeconds": scale.polling_seconds,
    }


def health_probes(service: ServiceSettings) -> list[app.ContainerAppProbeArgs]:
    timings = service.probes

    def probe(kind: str, failure_threshold: int) -> app.ContainerAppProbeArgs:
        return app.ContainerAppProbeArgs(
            type=kind,
            http_get=app.ContainerAppProbeHttpGetArgs(path=service.health_path, port=service.port, scheme="HTTP"),
            initial_delay_seconds=timings.initial_delay_seconds or None,
            period_seconds=timings.period_seconds,
            timeout_seconds=timings.timeout_seconds,
            failure_threshold=failure_threshold,
            success_threshold=1,
        )

    return [
        probe("Startup", STARTUP_FAILURE_THRESHOLD),
        probe("Liveness", timings.failure_threshold),
        probe("Readiness", timings.failure_threshold),
    ]


class ContainerAppsCompute(pulumi.ComponentResource):
    def __init__(self, name: str, args: ComputeArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("fin-agent:compute:ContainerApps", name, None, opts)
        settings = args.settings
        apps_settings = settings.compute.container_apps
        profile = apps_settings.workload_profile if apps_settings else CONSUMPTION_PROFILE
        profiles = [app.WorkloadProfileArgs(name=CONSUMPTION_PROFILE, workload_profile_type=CONSUMPTION_PROFILE)]
        if profile != CONSUMPTION_PROFILE:
            assert apps_settings is not None
            profiles.append(
                app.WorkloadProfileArgs(
                    name=DEDICATED_PROFILE,
                    workload_profile_type=profile,
                    minimum_count=apps_settings.workload_profile_min_nodes,
                    maximum_count=apps_settings.workload_profile_max_nodes,
                )
            )
        self.environment = app.ManagedEnvironment(
            f"{name}-environment",
            environment_name=args.naming.name("container_apps_environment"),
            resource_group_name=args.resource_group_name,
            location=settings.location,
            workload_profiles=profiles,
            zone_redundant=bool(apps_settings and apps_settings.zone_redundant),
            app_logs_configuration=app.AppLogsConfigurationArgs(destination="azure-monitor"),
            # In the stack's network when it has one; the environment stays externally
            # reachable (web is public), apps choose internal or external ingress themselves.
            vnet_configuration=(
                app.VnetConfigurationArgs(infrastructure_subnet_id=args.apps_subnet_id, internal=False)
                if args.apps_subnet_id is not None
                else None
            ),
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.workload_profile_name = CONSUMPTION_PROFILE if profile == CONSUMPTION_PROFILE else DEDICATED_PROFILE
        self.apps: dict[str, app.ContainerApp] = {}
        self.services: dict[str, ServiceDeployment] = {}
        self.rollout: dict[str, pulumi.Output] = {}

        backend = self._app(name, args, "backend", settings.services.backend, extra_env=[])
        backend_url = self.services["backend"].url
        web_env = [AppEnvVar("BACKEND_URL", backend_url.apply(lambda url: url or ""))]
        self._app(name, args, "web", settings.services.web, extra_env=web_env, after=[backend])
        self.register_outputs({s: d.resource_ids for s, d in self.services.items()})

    def _app(
        self,
        name: str,
        args: ComputeArgs,
        service_name: str,
        service: ServiceSettings,
        extra_env: list[AppEnvVar],
        after: list[pulumi.Resource] | None = None,
    ) -> app.ContainerApp:
        settings = args.settings
        identity = args.identities.by_service[service_name]
        variables = (
            service_env(service, args.secret_values, args.key_vault_urls)
            + args.shared_env
            + identity_env(args, service_name)
            + args.service_extra_env.get(service_name, [])
            + extra_env
        )
        secrets = [
            app.SecretArgs(name=v.container_apps_secret_name(), key_vault_url=v.key_vault_url, identity=identity.id)
            if v.key_vault_url is not None
            else app.SecretArgs(name=v.container_apps_secret_name(), value=v.value)
            for v in variables
            if v.secret
        ]
        env = [
            app.EnvironmentVarArgs(name=v.name, secret_ref=v.container_apps_secret_name())
            if v.secret
            else app.EnvironmentVarArgs(name=v.name, value=v.value)
            for v in variables
        ]
        registry = settings.compute.registry
        pull_identity = pull_identity_id(settings, identity.id)
        # A pre-granted pull identity must be assigned to the app as well.
        assigned = [identity.id] if pull_identity in (None, identity.id) else [identity.id, pull_identity]
        scale = settings.autoscale
        assert scale is not None, "settings give Container Apps an autoscale block"
        app_name = args.naming.name("container_app", service_name)
        revisions = plan_revisions(settings, service_name, app_name)
        container_app = app.ContainerApp(
            f"{name}-{service_name}",
            container_app_name=app_name,
            resource_group_name=args.resource_group_name,
            location=settings.location,
            environment_id=self.environment.id,
            workload_profile_name=self.workload_profile_name,
            identity=app.ManagedServiceIdentityArgs(type="UserAssigned", user_assigned_identities=assigned),
            configuration=app.ConfigurationArgs(
                active_revisions_mode=revisions.mode,
                ingress=app.IngressArgs(
                    external=service.ingress == "external",
                    target_port=service.port,
                    allow_insecure=False,
                    transport="auto",
                    traffic=[
                        app.TrafficWeightArgs(
                            revision_name=t.get("revisionName"),
                            latest_revision=t.get("latestRevision"),
                            weight=t["weight"],
                            label=t.get("label"),
                        )
                        for t in revisions.traffic
                    ],
                ),
                secrets=secrets or None,
                registries=(
                    [app.RegistryCredentialsArgs(server=registry.server, identity=pull_identity)]
                    if registry is not None and pull_identity is not None
                    else None
                ),
            ),
            template=app.TemplateArgs(
                revision_suffix=revisions.suffix,
                containers=[
                    app.ContainerArgs(
                        name=service_name,
                        image=revisions.image,
                        resources=app.ContainerResourcesArgs(
                            cpu=service.resources.limits.cpu,
                            memory=memory_quantity(service.resources.limits.memory_gb),
                        ),
                        env=env,
                        probes=health_probes(service),
                    )
                ],
                scale=app.ScaleArgs(
                    min_replicas=scale.min_replicas,
                    max_replicas=scale.max_replicas,
                    cooldown_period=scale.cooldown_seconds,
                    polling_interval=scale.polling_seconds,
                    rules=scale_rules(scale),
                ),
            ),
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*args.depends_on, *(after or [])]),
        )
        # The configuration holds the app's secrets, so Pulumi marks all of it secret; the FQDN is not.
        fqdn = pulumi.Output.unsecret(
            container_app.configuration.apply(lambda c: c.ingress.fqdn if c and c.ingress else None)
        )
        self.apps[service_name] = container_app
        internal = service.ingress == "internal"
        self.rollout[service_name] = self.environment.default_domain.apply(
            lambda domain: revisions.contract(app_name, domain, internal)
        )
        self.services[service_name] = ServiceDeployment(
            name=service_name,
            settings=service,
            kind="containerapp",
            resource_ids=container_app.id.apply(lambda i: [i]),
            fqdn=fqdn,
            url=fqdn.apply(lambda f: f"https://{f}" if f else None),
            scale=scale_contract(scale),
        )
        return container_app
