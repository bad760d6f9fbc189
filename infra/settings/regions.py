"""Azure regions a stack may name, and which of them have availability zones.

Settings reject a location that is not an Azure region's programmatic name, before any
resource exists, because ARM would otherwise fail half-way through `pulumi up`. Zone support
decides whether a prod stack can ask for zone redundancy (Container Apps environments, Managed
Redis) at all.

Source: learn.microsoft.com/azure/reliability/regions-list (programmatic names and the
"Availability zones" column), as of late 2026. A region Azure opens later is added here; a
stack can meanwhile set `allowUnlistedLocation: true` to bypass the check (zones are then
assumed absent).
"""

from __future__ import annotations

# programmatic name -> has availability zones
REGIONS: dict[str, bool] = {
    # Americas
    "brazilsouth": True,
    "brazilsoutheast": False,
    "canadacentral": True,
    "canadaeast": False,
    "centralus": True,
    "chilecentral": True,
    "eastus": True,
    "eastus2": True,
    "mexicocentral": True,
    "northcentralus": False,
    "southcentralus": True,
    "westcentralus": False,
    "westus": False,
    "westus2": True,
    "westus3": True,
    # Europe
    "austriaeast": True,
    "belgiumcentral": True,
    "denmarkeast": True,
    "francecentral": True,
    "francesouth": False,
    "germanynorth": False,
    "germanywestcentral": True,
    "italynorth": True,
    "northeurope": True,
    "norwayeast": True,
    "norwaywest": False,
    "polandcentral": True,
    "spaincentral": True,
    "swedencentral": True,
    "swedensouth": False,
    "switzerlandnorth": True,
    "switzerlandwest": False,
    "uksouth": True,
    "ukwest": False,
    "westeurope": True,
    # Middle East and Africa
    "israelcentral": True,
    "qatarcentral": True,
    "southafricanorth": True,
    "southafricawest": False,
    "uaecentral": False,
    "uaenorth": True,
    # Asia Pacific
    "australiacentral": False,
    "australiacentral2": False,
    "australiaeast": True,
    "australiasoutheast": False,
    "centralindia": True,
    "eastasia": True,
    "indonesiacentral": True,
    "japaneast": True,
    "japanwest": True,
    "jioindiacentral": False,
    "jioindiawest": False,
    "koreacentral": True,
    "koreasouth": False,
    "malaysiawest": True,
    "newzealandnorth": True,
    "southeastasia": True,
    "southindia": False,
    "westindia": False,
    # Sovereign clouds
    "usgovarizona": False,
    "usgovtexas": False,
    "usgovvirginia": True,
    "chinaeast": False,
    "chinaeast2": False,
    "chinaeast3": False,
    "chinanorth": False,
    "chinanorth2": False,
    "chinanorth3": True,
}


def is_known_region(name: str) -> bool:
    return name in REGIONS


def has_availability_zones(name: str) -> bool:
    return REGIONS.get(name, False)
