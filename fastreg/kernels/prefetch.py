"""A software prefetch hint for the row-wise passes over X.

The fused pass reads a block of rows, then spends a while on their exps and on adding them
to the gradient; the hardware prefetcher only runs ahead while loads are being issued, so
during that work nothing is fetched and the next block's first reads wait on memory. On
100000 x 100 float64 this left the pass at 1.9x one streaming read; asking for the rows a
few kilobytes ahead keeps the memory busy while the core computes.

The hint is an LLVM intrinsic (``llvm.prefetch``) wrapped as a Numba intrinsic: it compiles
to one prefetch instruction, changes no value and never faults, so no result depends on it.
"""

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from .._jit import kernel

# Bytes per cache line: one hint per line of a row.
CACHE_LINE_BYTES = 64


@intrinsic
def prefetch_element(typingctx, array, i, j):
    """Hint that array[i, j] (a 2-D array, integer indices in range) is about to be read."""
    if not (isinstance(array, types.Array) and array.ndim == 2
            and isinstance(i, types.Integer) and isinstance(j, types.Integer)):
        return None

    def codegen(context, builder, signature, arguments):
        array_type = signature.args[0]
        data = context.make_array(array_type)(context, builder, arguments[0])
        indices = [context.cast(builder, value, value_type, types.intp)
                   for value, value_type in zip(arguments[1:], signature.args[1:])]
        pointer = cgutils.get_item_pointer(context, builder, array_type, data, indices, wraparound=False)
        byte_pointer = ir.IntType(8).as_pointer()
        int32 = ir.IntType(32)
        hint = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [byte_pointer, int32, int32, int32]),
            "llvm.prefetch.p0i8")
        # Read access, keep in all cache levels, data cache.
        builder.call(hint, [builder.bitcast(pointer, byte_pointer), int32(0), int32(3), int32(1)])
        return context.get_dummy_value()

    return types.none(array, i, j), codegen


@kernel
def prefetch_row(X, i):
    """Hint every cache line of row i of X (N, D) C-ordered."""
    step = CACHE_LINE_BYTES // X.itemsize
    for j in range(0, X.shape[1], step):
        prefetch_element(X, i, j)
