"""The local target: the whole platform as processes on one machine (``mlops up``, ``status``, ``down``).

- :mod:`~mlops_dsl.local.layout`: which services run, on which ports, with which command lines;
- :mod:`~mlops_dsl.local.configs`: Prometheus and Alertmanager configuration, from the same rules and
  routes the Kubernetes target renders;
- :mod:`~mlops_dsl.local.processes`: starting, finding and stopping the processes;
- :mod:`~mlops_dsl.local.up`: bringing the platform up (data, features, first training, services) and down;
- :mod:`~mlops_dsl.local.status`: what is running, registered, retraining and firing.

May import: the spec, loading, rendering and the runtime; never the Pulumi components (a target of its own).
"""
