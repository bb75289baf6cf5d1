"""Host code of the Numba CPU backend: execution plan, apply (threads) and vjp."""
