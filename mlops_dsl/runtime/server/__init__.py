"""The model server: registered versions served over the Open Inference Protocol, with Prometheus metrics."""
