"""The mapping: which Opportunities become projects and how Salesforce fields become BigTime fields.

model describes and validates it, transform applies it to an Opportunity as read.
"""
