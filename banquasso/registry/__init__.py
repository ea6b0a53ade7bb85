"""The advance registry: advances, schedules, payments, ledger postings and the audit log, in SQL."""
