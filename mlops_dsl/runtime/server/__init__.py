"""The model server: registered versions served over the Open Inference Protocol, with Prometheus metrics.

May import: the spec, loading, contracts and the runtime's registry.
"""
