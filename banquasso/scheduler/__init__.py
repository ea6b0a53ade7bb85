"""The scheduled jobs (daily, monthly) and the hook that runs them beside Fava."""
