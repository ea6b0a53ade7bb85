"""`python -m comptasso.synthetic OUT_DIR [--members N] [--years Y] [--seed S]`."""

from comptasso.synthetic.cli import generate_command

generate_command(prog_name="python -m comptasso.synthetic")
