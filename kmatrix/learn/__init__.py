"""Placeholder: being written (raises NotImplementedError until then)."""

__all__ = ['vjp', 'fit']


def vjp(*args, **kwargs):
    raise NotImplementedError('vjp is not implemented yet')


def fit(*args, **kwargs):
    raise NotImplementedError('fit is not implemented yet')

