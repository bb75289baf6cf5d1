"""Constructors that build structured maps exactly as K-matrices (certificates: the theory page of the docs)."""
