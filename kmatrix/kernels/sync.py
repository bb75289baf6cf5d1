"""Work sharing between threads that apply one array together: shared counters, yielding waits.

Threads sharing the rows of one array do a stage's work in *units* (a chunk or slab of a
kernel phase, a block of rows of a copy). Each thread owns a contiguous range of a
stage's units and takes them first, so that from one apply to the next (and between
stages over the same rows) a thread finds its rows in its own core's cache; taking
units in turn from one counter moved rows between cores at every stage, and two threads
were slower than one. Once its range is done a thread takes what is left of the
others'. Finished units are counted on one more counter, and a thread with nothing left
to take waits until that count is complete before the next stage (a stage shared by
``nparts`` threads uses ``nparts + 1`` counters). A thread that the operating system
deschedules (cores shared with other processes) thus delays the others by at most the
unit it holds, and one that has not started yet delays nobody: the others take its share.
A fixed share per thread with a barrier after each phase would wait at every phase for
the slowest thread's whole share; on two busy cores that ran 3x slower than one thread.

Waits spin for a few microseconds (a phase usually ends within microseconds of the
last unit; waking a sleeping thread took 65-100 us here), then yield the core at every
check (``sched_yield``), so a waiting thread never holds a core that the thread it waits
for could use. Numba has no CPU atomics, so the two LLVM instructions are exposed as
intrinsics, and the yield is a call to the C library, declared by name (cacheable, unlike
a ctypes function pointer).
"""

__all__ = ["RELEASE", "stage_counters", "take", "finish", "wait_done", "take_unit", "finish_unit", "wait_units",
           "release_all"]

import sys

from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

# Added to every counter to end every wait and leave no unit to take (a failing thread
# does this, so that none waits for the unit it will never finish).
RELEASE = 1 << 40


def stage_counters(nparts):
    """Counters (int64 entries) one stage shared by ``nparts`` threads uses."""
    return nparts + 1
# Atomic reads before a waiting thread starts yielding (about 1-5 us).
SPIN = 1 << 10
# The C library's "give the core to another runnable thread" (returns at once if none).
_YIELD = "SwitchToThread" if sys.platform == "win32" else "sched_yield"


def _slot(context, builder, signature, args):
    # pointer to counter[i] of a 1-D int64 array
    ary = context.make_array(signature.args[0])(context, builder, args[0])
    i = context.cast(builder, args[1], signature.args[1], types.intp)
    return builder.gep(ary.data, [i])


@intrinsic
def _fetch_add(typingctx, counter, i, value):
    # atomically counter[i] += value, returning the old value
    sig = types.int64(counter, i, value)

    def codegen(context, builder, signature, args):
        v = context.cast(builder, args[2], signature.args[2], types.int64)
        return builder.atomic_rmw("add", _slot(context, builder, signature, args), v, "seq_cst")

    return sig, codegen


@intrinsic
def _load(typingctx, counter, i):
    # an atomic (acquire) read of counter[i]: cannot be hoisted out of a wait loop
    sig = types.int64(counter, i)

    def codegen(context, builder, signature, args):
        return builder.load_atomic(_slot(context, builder, signature, args), "acquire", 8)

    return sig, codegen


@intrinsic
def _yield_core(typingctx):
    sig = types.void()

    def codegen(context, builder, signature, args):
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.IntType(32), []),
                                            _YIELD)
        builder.call(fn, [])
        return context.get_dummy_value()

    return sig, codegen


@njit(inline="always")
def take(counter, base, part, nparts, nunits):
    """The next unit for thread ``part`` of ``nparts`` in the stage at ``counter[base:]``.

    Units ``0..nunits-1`` are split in ``nparts`` contiguous ranges; ``counter[base + q]``
    counts the units taken from range ``q``. The thread takes from its own range first,
    then from the others' in turn. Returns ``nunits`` when nothing is left.
    """
    for j in range(nparts):
        q = part + j
        if q >= nparts:
            q -= nparts
        u = q * nunits // nparts + _fetch_add(counter, base + q, 1)
        if u < (q + 1) * nunits // nparts:
            return u
    return nunits


@njit(inline="always")
def finish(counter, base, nparts):
    """Count one finished unit of the stage at ``counter[base:]`` (its writes are visible
    to the waiters)."""
    _fetch_add(counter, base + nparts, 1)


@njit(inline="always")
def wait_done(counter, base, nparts, nunits):
    """Return once all ``nunits`` of the stage at ``counter[base:]`` are finished: spin
    briefly, then yield the core at each check."""
    spins = 0
    while _load(counter, base + nparts) < nunits:
        if spins < SPIN:
            spins += 1
        else:
            _yield_core()


# The same three operations for Python code (row copies between kernel calls).

@njit(cache=True)
def take_unit(counter, base, part, nparts, nunits):
    """:func:`take`, callable from Python."""
    return take(counter, base, part, nparts, nunits)


@njit(cache=True)
def finish_unit(counter, base, nparts):
    """:func:`finish`, callable from Python."""
    finish(counter, base, nparts)


@njit(cache=True, nogil=True)
def wait_units(counter, base, nparts, nunits):
    """:func:`wait_done`, callable from Python (releases the GIL while it waits)."""
    wait_done(counter, base, nparts, nunits)


@njit(cache=True)
def release_all(counter):
    """Add :data:`RELEASE` to every entry of ``counter`` (atomically: none is lost)."""
    for i in range(counter.shape[0]):
        _fetch_add(counter, i, RELEASE)
