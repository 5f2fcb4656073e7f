"""Billing: the usage outbox, counters, quotas and invoices."""
