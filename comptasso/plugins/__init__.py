"""Beancount plugins the product ships (the group's consolidated view)."""
