"""What is kept: the audit trail, staff actions, case events and reports."""
