"""Constructors that build structured maps exactly as K-matrices (DESIGN.md section 2)."""
