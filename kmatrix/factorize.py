"""Placeholder: being written (raises NotImplementedError until then)."""

__all__ = ['factorize']


def factorize(*args, **kwargs):
    raise NotImplementedError('factorize is not implemented yet')

