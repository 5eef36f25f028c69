"""The ML policy gates every plan is checked against: rules (each id declared once, in gates), the plan view, waivers, the report.

May import: the rest of review, loading and the spec.
"""
