"""Placeholder: being written (raises NotImplementedError until then)."""

__all__ = ['sparse']


def sparse(*args, **kwargs):
    raise NotImplementedError('sparse is not implemented yet')

