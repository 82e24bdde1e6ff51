"""The mapping: which Opportunities become projects and how Salesforce fields become BigTime fields.

model describes and validates it (with fields and conditions, its building blocks), load reads a YAML
document onto the bundled default, source finds the stack's mapping, transform applies it to an Opportunity.
"""
