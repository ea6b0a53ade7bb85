"""Initial registry: advances, schedule lines, payments, postings and the append-only audit log.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

MONEY = sa.Numeric(14, 2)


def upgrade() -> None:
    op.create_table(
        "advance",
        sa.Column("id", sa.String(16), nullable=False),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("lender", sa.String(32), nullable=False),
        sa.Column("borrower", sa.String(32), nullable=False),
        sa.Column("principal", MONEY, nullable=False),
        sa.Column("rate", sa.Numeric(9, 6), nullable=False),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("day_count", sa.String(8), nullable=False),
        sa.Column("grace_days", sa.Integer, nullable=False),
        sa.Column("disburse_on", sa.Date, nullable=False),
        sa.Column("repay_on", sa.Date, nullable=False),
        sa.Column("convention", sa.String(64), nullable=True),
        sa.Column("tranche_date", sa.Date, nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("proposed_on", sa.Date, nullable=False),
        sa.Column("approved_by", sa.String(128), nullable=True),
        sa.Column("decision", sa.String(128), nullable=True),
        sa.Column("approved_on", sa.Date, nullable=True),
        sa.Column("rejected_reason", sa.Text, nullable=True),
        sa.Column("disbursed_on", sa.Date, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_advance"),
        sa.UniqueConstraint("year", "seq", name="uq_advance_year_seq"),
    )
    op.create_table(
        "schedule_line",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("advance_id", sa.String(16), nullable=False),
        sa.Column("n", sa.Integer, nullable=False),
        sa.Column("date", sa.Date, nullable=False),
        sa.Column("principal", MONEY, nullable=False),
        sa.Column("interest", MONEY, nullable=False),
        sa.Column("payment", MONEY, nullable=False),
        sa.Column("remaining", MONEY, nullable=False),
        sa.ForeignKeyConstraint(["advance_id"], ["advance.id"], name="fk_schedule_line_advance_id_advance"),
        sa.PrimaryKeyConstraint("id", name="pk_schedule_line"),
        sa.UniqueConstraint("advance_id", "n", name="uq_schedule_line_advance_n"),
    )
    op.create_table(
        "payment",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("advance_id", sa.String(16), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("event", sa.String(64), nullable=False),
        sa.Column("date", sa.Date, nullable=False),
        sa.Column("principal", MONEY, nullable=False),
        sa.Column("interest", MONEY, nullable=False),
        sa.Column("confirmed_on", sa.Date, nullable=True),
        sa.ForeignKeyConstraint(["advance_id"], ["advance.id"], name="fk_payment_advance_id_advance"),
        sa.PrimaryKeyConstraint("id", name="pk_payment"),
        sa.UniqueConstraint("advance_id", "seq", name="uq_payment_advance_seq"),
        sa.UniqueConstraint("event", name="uq_payment_event"),
    )
    op.create_table(
        "posting",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("advance_id", sa.String(16), nullable=False),
        sa.Column("event", sa.String(64), nullable=False),
        sa.Column("member", sa.String(32), nullable=False),
        sa.Column("flag", sa.String(1), nullable=False),
        sa.Column("written_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["advance_id"], ["advance.id"], name="fk_posting_advance_id_advance"),
        sa.PrimaryKeyConstraint("id", name="pk_posting"),
        sa.UniqueConstraint("event", "member", name="uq_posting_event_member"),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("advance_id", sa.String(16), nullable=True),
        sa.Column("as_of", sa.Date, nullable=True),
        sa.Column("before", sa.Text, nullable=True),
        sa.Column("after", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
    )
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_log_no_{verb.lower()} BEFORE {verb} ON audit_log "
                "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
            )
    elif dialect == "postgresql":
        op.execute(
            "CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$"
        )
        op.execute(
            "CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log "
            "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()"
        )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_change ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
    for table in ("audit_log", "posting", "payment", "schedule_line", "advance"):
        op.drop_table(table)
