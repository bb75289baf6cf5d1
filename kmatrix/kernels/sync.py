"""A spinning barrier for threads that run one compiled kernel call each.

Threads sharing the rows of one array must all finish a phase before any starts the
next. Waiting in Python (a :class:`threading.Barrier`) cost 0.1-0.2 ms per wait here
(thread wake-ups in a VM); these waits stay inside the kernel, on an atomic counter.
Numba has no CPU atomics, so two LLVM instructions are exposed as intrinsics.
"""

__all__ = ["barrier", "RELEASE"]

from numba import njit, types
from numba.extending import intrinsic

# Added to a counter to release every waiter at once (a failing thread does this).
RELEASE = 1 << 40


@intrinsic
def _fetch_add(typingctx, counter, value):
    # atomically counter[0] += value; counter is a 1-D int64 array
    sig = types.int64(counter, value)

    def codegen(context, builder, signature, args):
        ary = context.make_array(signature.args[0])(context, builder, args[0])
        v = context.cast(builder, args[1], signature.args[1], types.int64)
        return builder.atomic_rmw("add", ary.data, v, "seq_cst")

    return sig, codegen


@intrinsic
def _load(typingctx, counter):
    # an atomic (acquire) read of counter[0]: cannot be hoisted out of a wait loop
    sig = types.int64(counter)

    def codegen(context, builder, signature, args):
        ary = context.make_array(signature.args[0])(context, builder, args[0])
        return builder.load_atomic(ary.data, "acquire", 8)

    return sig, codegen


@njit(inline="always")
def barrier(counter, nparts, b):
    """The ``b``-th wait (1, 2, ...) of ``nparts`` threads sharing ``counter`` (starts at 0).

    Returns once every thread has arrived, i.e. the counter reached ``nparts * b``.
    """
    _fetch_add(counter, 1)
    target = nparts * b
    # spin rather than sleep: the waits last microseconds, a sleeping thread's wake-up
    # took 65-100 us here
    while True:
        if _load(counter) >= target:
            return
