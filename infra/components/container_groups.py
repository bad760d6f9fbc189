"""Platform `containerinstances`: container groups holding backend and web, with exact requests and limits.

Container groups keep the guide's request/limit split exactly (the group is allocated the sum
of requests; each container may burst to its limit). They cannot autoscale (Azure Monitor
autoscale does not support them, and settings refuse autoscale here): a stack runs a fixed
`groupCount` of identical groups. Liveness and readiness probes hit the health path; container
logs go to Log Analytics (which needs the workspace key: container groups cannot use Entra ID
for it); secrets become secure environment variables; the group has a public IP with a DNS
label, exposing web and, when external, the backend.
"""

from __future__ import annotations

import pulumi
from pulumi_azure_native import containerinstance

from infra.components.app_env import AppEnvVar, service_env
from infra.components.compute_shared import ComputeArgs, ServiceDeployment, identity_env, pull_identity_id
from infra.settings.model import ServiceSettings


def group_probe(service: ServiceSettings, failure_threshold: int) -> containerinstance.ContainerProbeArgs:
    timings = service.probes
    return containerinstance.ContainerProbeArgs(
        http_get=containerinstance.ContainerHttpGetArgs(path=service.health_path, port=service.port, scheme="http"),
        initial_delay_seconds=timings.initial_delay_seconds,
        period_seconds=timings.period_seconds,
        timeout_seconds=timings.timeout_seconds,
        failure_threshold=failure_threshold,
        success_threshold=1,
    )


def group_environment(variables: list[AppEnvVar]) -> list[containerinstance.EnvironmentVariableArgs]:
    return [
        containerinstance.EnvironmentVariableArgs(name=v.name, secure_value=v.value)
        if v.secret
        else containerinstance.EnvironmentVariableArgs(name=v.name, value=v.value)
        for v in variables
    ]


class ContainerGroupsCompute(pulumi.ComponentResource):
    def __init__(self, name: str, args: ComputeArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("fin-agent:compute:ContainerGroups", name, None, opts)
        settings = args.settings
        groups_settings = settings.compute.container_instances
        count = groups_settings.group_count if groups_settings else 1
        services = settings.services
        backend_url = f"http://localhost:{services.backend.port}"
        containers = []
        for service_name, service in services.items():
            extra = args.service_extra_env.get(service_name, []) + (
                [AppEnvVar("BACKEND_URL", backend_url)] if service_name == "web" else []
            )
            variables = (
                service_env(service, args.secret_values) + args.shared_env + identity_env(args, service_name) + extra
            )
            requests, limits = service.resources.requests, service.resources.limits
            containers.append(
                containerinstance.ContainerArgs(
                    name=service_name,
                    image=service.image,
                    ports=[containerinstance.ContainerPortArgs(port=service.port, protocol="TCP")],
                    resources=containerinstance.ResourceRequirementsArgs(
                        requests=containerinstance.ResourceRequestsArgs(
                            cpu=requests.cpu, memory_in_gb=requests.memory_gb
                        ),
                        limits=containerinstance.ResourceLimitsArgs(cpu=limits.cpu, memory_in_gb=limits.memory_gb),
                    ),
                    environment_variables=group_environment(variables),
                    liveness_probe=group_probe(service, service.probes.failure_threshold),
                    readiness_probe=group_probe(service, service.probes.failure_threshold),
                )
            )
        in_subnet = (
            args.apps_subnet_id is not None and groups_settings is not None and groups_settings.network == "subnet"
        )
        public_ports = [
            containerinstance.PortArgs(port=service.port, protocol="TCP")
            for _, service in services.items()
            if service.ingress == "external"
        ]
        registry = settings.compute.registry
        # The group pulls once for both containers, with the backend's identity (granted AcrPull
        # by this stack) or the pre-granted identity the settings name; none when anonymous.
        pull_identity = pull_identity_id(settings, args.identities.by_service["backend"].id)
        assigned = [identity.id for identity in args.identities.by_service.values()]
        if registry is not None and registry.identity is not None:
            assigned.append(registry.identity)
        label_base = (groups_settings.dns_label if groups_settings and groups_settings.dns_label else None) or (
            f"finagent-{args.naming.environment_code}-{args.naming.token}"
        )
        self.groups: list[containerinstance.ContainerGroup] = []
        for index in range(1, count + 1):
            suffix = f"{index:02d}"
            label = label_base if count == 1 else f"{label_base}-{suffix}"
            group = containerinstance.ContainerGroup(
                f"{name}-group-{suffix}",
                container_group_name=args.naming.name("container_group", suffix),
                resource_group_name=args.resource_group_name,
                location=settings.location,
                os_type="Linux",
                sku="Standard",
                restart_policy="Always",
                containers=containers,
                identity=containerinstance.ContainerGroupIdentityArgs(
                    type="UserAssigned",
                    user_assigned_identities=assigned,
                ),
                image_registry_credentials=(
                    [containerinstance.ImageRegistryCredentialArgs(server=registry.server, identity=pull_identity)]
                    if registry is not None and pull_identity is not None
                    else None
                ),
                ip_address=(
                    containerinstance.IpAddressArgs(type="Private", ports=public_ports)
                    if in_subnet
                    else containerinstance.IpAddressArgs(
                        type="Public",
                        dns_name_label=label,
                        # Only this tenant may reuse the label after deletion (no subdomain takeover):
                        # the label's hash comes from the resource name and tenant id (Learn,
                        # AutoGeneratedDomainNameLabelScope, TenantReuse: "deterministically generated
                        # using the resource name and tenant id").
                        auto_generated_domain_name_label_scope="TenantReuse",
                        ports=public_ports,
                    )
                ),
                subnet_ids=[containerinstance.ContainerGroupSubnetIdArgs(id=args.apps_subnet_id)]
                if in_subnet
                else None,
                diagnostics=containerinstance.ContainerGroupDiagnosticsArgs(
                    log_analytics=containerinstance.LogAnalyticsArgs(
                        workspace_id=args.logs.customer_id,
                        workspace_key=args.logs.shared_key,
                        workspace_resource_id=args.logs.workspace_id,
                        log_type="ContainerInstanceLogs",
                    )
                ),
                tags=args.tags,
                opts=pulumi.ResourceOptions(parent=self, depends_on=args.depends_on),
            )
            self.groups.append(group)

        group_ids = pulumi.Output.all(*[g.id for g in self.groups]).apply(list)
        # In a subnet the group has a private IP and no DNS name: its address is the endpoint.
        first_fqdn = self.groups[0].ip_address.apply(lambda ip: (ip.ip if in_subnet else ip.fqdn) if ip else None)
        self.services: dict[str, ServiceDeployment] = {}
        for service_name, service in services.items():
            exposed = service.ingress == "external"
            port = service.port
            self.services[service_name] = ServiceDeployment(
                name=service_name,
                settings=service,
                kind="containergroup",
                resource_ids=group_ids,
                fqdn=first_fqdn if exposed else pulumi.Output.from_input(None),
                url=first_fqdn.apply(lambda f, p=port: f"http://{f}:{p}" if f else None)
                if exposed
                else pulumi.Output.from_input(None),
                scale=None,
            )
        self.register_outputs({"groupIds": group_ids})
