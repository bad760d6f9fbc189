"""Component resources, one per Azure concern (monitoring, identities, compute, cache, ...).

Each takes one args object built from validated settings, parents its children, and exposes
what the next component needs (ids, endpoints) as attributes.
"""
