"""Click commands of `banquasso`, one module per concept."""
