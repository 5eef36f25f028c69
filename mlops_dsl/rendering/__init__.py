"""Rendering every target shares: the spec's monitors as Prometheus rules and Alertmanager routes.

May import: the spec and loading.
"""
