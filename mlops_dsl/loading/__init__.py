"""Loading: spec file + environment + stack file -> one resolved spec (loader, overlays, one-line problems, JSON Schema).

May import: the spec. Also what each target accepts that the spec alone cannot say (AWS regions with the images a plan names).
"""
