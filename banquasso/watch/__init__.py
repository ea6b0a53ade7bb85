"""Watching the pool: daily snapshots, alerts and forecast accuracy."""
