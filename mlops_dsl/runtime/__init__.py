"""The runtime services every target runs, one module or package per job.

May import: the spec, loading, contracts and the AWS runtime; never a target, review or the CLI.
"""
