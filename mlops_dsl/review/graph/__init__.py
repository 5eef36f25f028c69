"""The platform graph: what ``mlops graph`` draws.

:mod:`~mlops_dsl.review.graph.model` is the graph as data; :mod:`~mlops_dsl.review.graph.build`
makes it from a resolved spec, and :mod:`~mlops_dsl.review.graph.resources` adds what a
stack creates (its program run under Pulumi's mocks); :mod:`~mlops_dsl.review.graph.render`
draws it as Mermaid, SVG or PNG; :mod:`~mlops_dsl.review.graph.command` is the CLI.
May import: the rest of review, rendering, loading, the spec and the Pulumi components.
"""

from mlops_dsl.review.graph.build import platform_graph
from mlops_dsl.review.graph.model import Edge, Node, PlatformGraph
from mlops_dsl.review.graph.render import GraphvizMissingError, render_image, to_dot, to_mermaid

__all__ = ["Edge", "GraphvizMissingError", "Node", "PlatformGraph", "platform_graph", "render_image", "to_dot", "to_mermaid"]
