"""Delivery by e-mail: the board's monthly statement and the morning's alerts, sent once through SMTP."""
