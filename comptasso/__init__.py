"""Comptasso: the shared bookkeeping of the member associations of an employer group."""

__version__ = "0.1.0"
