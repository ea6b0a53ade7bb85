"""The web layer: Fava served over every member ledger, with log-in and access scopes."""
