"""Placeholder: being written (raises NotImplementedError until then)."""

__all__ = ['circulant', 'toeplitz', 'convolution']


def circulant(*args, **kwargs):
    raise NotImplementedError('circulant is not implemented yet')


def toeplitz(*args, **kwargs):
    raise NotImplementedError('toeplitz is not implemented yet')


def convolution(*args, **kwargs):
    raise NotImplementedError('convolution is not implemented yet')

