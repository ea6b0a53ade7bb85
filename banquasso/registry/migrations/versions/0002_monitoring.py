"""Monitoring: forecast snapshots, alerts and job runs of the scheduler (banquasso.watch.monitoring).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

MONEY = sa.Numeric(14, 2)


def upgrade() -> None:
    op.create_table(
        "forecast_snapshot",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("taken_on", sa.Date, nullable=False),
        sa.Column("member", sa.String(32), nullable=False),
        sa.Column("horizon_days", sa.Integer, nullable=False),
        sa.Column("opening_balance", MONEY, nullable=False),
        sa.Column("floor", MONEY, nullable=False),
        sa.Column("min_balance", MONEY, nullable=False),
        sa.Column("min_date", sa.Date, nullable=False),
        sa.Column("days_below_floor", sa.Integer, nullable=False),
        sa.Column("balances", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_forecast_snapshot"),
        sa.UniqueConstraint("taken_on", "member", name="uq_forecast_snapshot_taken_on_member"),
    )
    op.create_table(
        "alert",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("raised_on", sa.Date, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("member", sa.String(32), nullable=False),
        sa.Column("reference", sa.String(64), nullable=False),
        sa.Column("due_on", sa.Date, nullable=True),
        sa.Column("amount", MONEY, nullable=True),
        sa.Column("message", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_alert"),
        sa.UniqueConstraint("raised_on", "kind", "member", "reference",
                            name="uq_alert_raised_on_kind_member_reference"),
    )
    op.create_table(
        "job_run",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("job", sa.String(32), nullable=False),
        sa.Column("run_for", sa.Date, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("message", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_job_run"),
        sa.UniqueConstraint("job", "run_for", name="uq_job_run_job_run_for"),
    )


def downgrade() -> None:
    for table in ("job_run", "alert", "forecast_snapshot"):
        op.drop_table(table)
