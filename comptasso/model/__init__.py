"""The ledger conventions as values: chart, grants, invoices, previsions, and the checks over them."""
