"""Placeholder: being written (raises NotImplementedError until then)."""

__all__ = ['low_rank']


def low_rank(*args, **kwargs):
    raise NotImplementedError('low_rank is not implemented yet')

