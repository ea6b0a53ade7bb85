"""The group's shared management practice: the ratios members compare themselves on (indicateurs de gestion)."""
