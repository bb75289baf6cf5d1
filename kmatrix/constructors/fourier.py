"""Placeholder: being written (raises NotImplementedError until then)."""

__all__ = ['dft', 'idft', 'hadamard']


def dft(*args, **kwargs):
    raise NotImplementedError('dft is not implemented yet')


def idft(*args, **kwargs):
    raise NotImplementedError('idft is not implemented yet')


def hadamard(*args, **kwargs):
    raise NotImplementedError('hadamard is not implemented yet')

