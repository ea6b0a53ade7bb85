"""Accounting outputs: annual accounts (bilan, compte de résultat), their PDF, the FEC and its verifier."""
