"""The monitors: drift and quality per served version, the canary controller, and the HTTP app that runs them.

May import: the spec, loading, contracts and the rest of the runtime.
"""
