"""Contracts: the typed shapes the deploy side hands to the runtime (settings, environment names, command lines, retraining events).

May import: the standard library and the spec's plain value types (durations) only; the AWS function archive ships this folder.
"""
