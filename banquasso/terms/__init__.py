"""The pool's terms: policy, floors and repayment schedules, used by the registry and the forecast."""
