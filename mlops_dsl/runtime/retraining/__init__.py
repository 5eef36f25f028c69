"""The retraining trigger: alerts, schedules and new data in; at most the allowed training runs out.

The decisions themselves are :mod:`mlops_dsl.contracts.retraining`, shared with the AWS trigger function.
May import: the spec, loading, contracts and the rest of the runtime.
"""
