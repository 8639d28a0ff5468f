"""Vendor-neutral machinery: namespaces, clock, store, lifecycles, pagination, ids, fake data, errors.

Nothing in this package imports a vendor; vendors build on it.
"""
