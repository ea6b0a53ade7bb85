"""The pool: needs, lending capacity, the allocation program and the plan of the day."""
