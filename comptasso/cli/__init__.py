"""The `comptasso` command line: entry point, lazy command table, shared options, accounting commands."""
