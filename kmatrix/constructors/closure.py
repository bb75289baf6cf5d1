"""Placeholder: being written (raises NotImplementedError until then)."""

__all__ = ['ksum', 'kron']


def ksum(*args, **kwargs):
    raise NotImplementedError('ksum is not implemented yet')


def kron(*args, **kwargs):
    raise NotImplementedError('kron is not implemented yet')

