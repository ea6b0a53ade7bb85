"""BanquAsso: pooled short-term treasury between the members of an employer group."""
