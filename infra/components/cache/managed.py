"""Azure Managed Redis (Microsoft.Cache/redisEnterprise): a cluster and its one database.

Azure requires the database to be named `default` (it is the only one, index 0) and serves it
on port 10000 over TLS. The eviction policy is sent in Azure's spelling (`AllKeysLRU`);
everything the service would otherwise default is stated explicitly, so what the plan shows
is what Azure gets. Entra ID data access is an access policy assignment of the built-in
`default` policy on the database (the only policy Managed Redis supports).

Sources: ../../../shared/reference/azure-facts.md §3b; bicep-types redisenterprise 2025-07-01.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import redisenterprise

from infra.settings.model import RedisSettings
from infra.settings.rules.cache import managed_policy_name

DATABASE_NAME = "default"
PORT = 10000
ACCESS_POLICY = "default"
# accessPolicyAssignments names: letters and digits only, at most 60 (API 2025-07-01).
ASSIGNMENT_NAME = re.compile(r"^[A-Za-z0-9]{1,60}$")


def enabled(flag: bool) -> str:
    return "Enabled" if flag else "Disabled"


@dataclass(frozen=True)
class ManagedRedis:
    cluster: redisenterprise.RedisEnterprise
    database: redisenterprise.Database
    resource_group_name: pulumi.Input[str]

    @property
    def resource_id(self) -> pulumi.Output[str]:
        return self.cluster.id

    @property
    def database_id(self) -> pulumi.Output[str]:
        return self.database.id

    @property
    def host_name(self) -> pulumi.Output[str]:
        return self.cluster.host_name

    @property
    def port(self) -> pulumi.Output[int]:
        return self.database.port.apply(lambda port: int(port) if port is not None else PORT)

    def access_key(self, parent: pulumi.Resource) -> pulumi.Output[str]:
        keys = redisenterprise.list_database_keys_output(
            cluster_name=self.cluster.name,
            database_name=self.database.name,
            resource_group_name=self.resource_group_name,
            opts=pulumi.InvokeOutputOptions(parent=parent),
        )
        return pulumi.Output.secret(keys.primary_key)

    def grant(
        self, resource_name: str, grant_name: str, principal_id: pulumi.Input[str], opts: pulumi.ResourceOptions
    ) -> redisenterprise.AccessPolicyAssignment:
        assignment_name = grant_name.replace("-", "")
        if not ASSIGNMENT_NAME.match(assignment_name):
            raise ValueError(
                f"cache access grant name {grant_name!r}: Managed Redis assignment names are 1-60 letters and digits"
            )
        return redisenterprise.AccessPolicyAssignment(
            resource_name,
            access_policy_assignment_name=assignment_name,
            access_policy_name=ACCESS_POLICY,
            cluster_name=self.cluster.name,
            database_name=self.database.name,
            resource_group_name=self.resource_group_name,
            user=redisenterprise.AccessPolicyAssignmentPropertiesUserArgs(object_id=principal_id),
            opts=opts,
        )


def declare(
    name: str,
    redis: RedisSettings,
    *,
    azure_name: str,
    resource_group_name: pulumi.Input[str],
    location: pulumi.Input[str],
    tags: dict[str, str],
    opts: pulumi.ResourceOptions,
) -> ManagedRedis:
    """The cluster and its `default` database, with every setting that matters stated."""
    cluster = redisenterprise.RedisEnterprise(
        f"{name}-cluster",
        cluster_name=azure_name,
        resource_group_name=resource_group_name,
        location=location,
        sku=redisenterprise.SkuArgs(name=redis.sku),
        public_network_access=enabled(redis.public_network_access),
        minimum_tls_version=redis.minimum_tls_version,
        high_availability=enabled(redis.high_availability),
        tags=tags,
        opts=opts,
    )
    database = redisenterprise.Database(
        f"{name}-database",
        cluster_name=cluster.name,
        resource_group_name=resource_group_name,
        database_name=DATABASE_NAME,
        port=PORT,
        client_protocol="Encrypted",
        eviction_policy=managed_policy_name(redis.eviction_policy),
        clustering_policy=redis.clustering_policy,
        access_keys_authentication=enabled(redis.access_keys_authentication),
        opts=opts,
    )
    return ManagedRedis(cluster, database, resource_group_name)
