"""Placeholder: being written (raises NotImplementedError until then)."""

__all__ = ['permutation', 'bit_reversal']


def permutation(*args, **kwargs):
    raise NotImplementedError('permutation is not implemented yet')


def bit_reversal(*args, **kwargs):
    raise NotImplementedError('bit_reversal is not implemented yet')

