"""The stack's Redis cache: Azure Managed Redis by default, Azure Cache for Redis on request.

`component` holds the `Cache` component and the interface the apps' compute consumes;
`managed` and `classic` declare each tier's Azure resources.
"""

from infra.components.cache.component import (
    AuthMode,
    Cache,
    CacheArgs,
    CacheConnection,
    CacheEnvironment,
    cache_protected,
)

__all__ = ["AuthMode", "Cache", "CacheArgs", "CacheConnection", "CacheEnvironment", "cache_protected"]
