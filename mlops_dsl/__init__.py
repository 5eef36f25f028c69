"""mlops-dsl: describe a whole MLOps platform as a typed Python spec and deploy it.

Spec files import the spec classes from here::

    from mlops_dsl import Platform, FeatureStore, Model, Training, ...
"""

from mlops_dsl.spec import *  # noqa: F403  (the spec classes are this package's public API)
from mlops_dsl.spec import __all__ as __all__

__version__ = "0.1.0"
