"""Review: what looks at a stack without deploying it (the mock engine, plan, diff, policy rules, graph).

May import: the spec, loading, rendering and the Pulumi components; never the runtime or the CLI.
"""
