"""The mlops command: argument parsing and exit codes only; each command calls into the layer that does the work.

May import: every layer. Nothing imports it.
"""
