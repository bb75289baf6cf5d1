"""Host code of the numba.cuda backend: planning, device plumbing, apply and vjp."""
