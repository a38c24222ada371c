"""exp and log that LLVM can vectorize, for the logistic loss's per-sample math.

Numba compiles np.exp and np.log1p to calls into libm, one sample at a time: on a loop over N
samples of the logistic loss (an exp and a log1p each) that came to 25 to 40 ns per sample,
more than reading a row of 100 features. Written as polynomials, with the exponent handled
by bit operations, the same functions are plain arithmetic that LLVM inlines into the loop
and vectorizes: about 7 ns per sample for the exp, the log1p and the residual together.

Each function takes and returns float64 (float32 callers convert: the float64 result rounds
correctly to float32 in all but rare ties). Accuracy: a few units in the last place over the
documented domain (tests/test_kernels.py compares with NumPy's). They are compiled with
``ordered=True``: the range reductions subtract k ln2 in two parts whose order matters, which
reassociation would undo (2e-14 relative error at exp(-670) with it).
"""

import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from .._jit import kernel

LOG2_E = 1.4426950408889634
# ln 2 in two parts: LN2_HIGH has 32 significant bits, so k * LN2_HIGH is exact for |k| < 2^21.
LN2_HIGH = 6.93147180369123816490e-01
LN2_LOW = 1.90821492927058770002e-10
SQRT2 = 1.4142135623730951
# Below this exp(x) is 0 in float64 (the smallest subnormal is exp(-744.44)).
EXP_FLOOR = -746.0
SMALLEST_NORMAL = 2.2250738585072014e-308
MANTISSA_BITS = 0x000FFFFFFFFFFFFF
ONE_BITS = 0x3FF0000000000000
# 2^54: scales a subnormal into the normal range before its exponent is read.
SUBNORMAL_SCALE = 18014398509481984.0


@intrinsic
def bits_to_float(typingctx, bits):
    """The float64 whose IEEE bit pattern is the int64 ``bits``."""
    if not (isinstance(bits, types.Integer) and bits.bitwidth == 64):
        return None

    def codegen(context, builder, signature, arguments):
        return builder.bitcast(arguments[0], ir.DoubleType())

    return types.float64(bits), codegen


@intrinsic
def float_to_bits(typingctx, value):
    """The IEEE bit pattern of the float64 ``value``, as an int64."""
    if value != types.float64:
        return None

    def codegen(context, builder, signature, arguments):
        return builder.bitcast(arguments[0], ir.IntType(64))

    return types.int64(value), codegen


@intrinsic
def cast_like(typingctx, reference, value):
    """``value`` converted to the type of ``reference`` (real scalars).

    Functions inlined into their callers (``kernel(inline=True)``) convert with this rather
    than ``type(z)(value)``: the class that ``type(z)`` returns is a value of its own, and
    where a loop's z changes from float32 to float64 Numba cannot unify the two classes.
    """
    if not (isinstance(reference, types.Float) and isinstance(value, (types.Float, types.Integer))):
        return None

    def codegen(context, builder, signature, arguments):
        return context.cast(builder, arguments[1], signature.args[1], signature.args[0])

    return reference(reference, value), codegen


@kernel(ordered=True)
def exp_nonpositive(x):
    """exp(x) for x <= 0 (float64), subnormal results included; 0 below EXP_FLOOR."""
    x = max(x, EXP_FLOOR)
    k = np.floor(x * LOG2_E + 0.5)
    r = (x - k * LN2_HIGH) - k * LN2_LOW
    # exp(r), |r| <= ln2 / 2: Taylor to degree 13, truncation below 1e-17 relative.
    p = 1.0 / 6227020800.0
    p = p * r + 1.0 / 479001600.0
    p = p * r + 1.0 / 39916800.0
    p = p * r + 1.0 / 3628800.0
    p = p * r + 1.0 / 362880.0
    p = p * r + 1.0 / 40320.0
    p = p * r + 1.0 / 5040.0
    p = p * r + 1.0 / 720.0
    p = p * r + 1.0 / 120.0
    p = p * r + 1.0 / 24.0
    p = p * r + 1.0 / 6.0
    p = p * r + 0.5
    p = p * r + 1.0
    p = p * r + 1.0
    # 2^k as two normal powers of two, so that k down to -1076 (subnormal results) works.
    ki = np.int64(k)
    half = ki >> 1
    return p * bits_to_float((half + 1023) << 52) * bits_to_float((ki - half + 1023) << 52)


@kernel(ordered=True, inline=True)
def log_reduced(m):
    """log(m) for m in [sqrt(1/2), sqrt(2)] as 2 atanh(s), s = (m - 1) / (m + 1), |s| <= 0.172."""
    s = (m - 1.0) / (m + 1.0)
    s2 = s * s
    # atanh(s) / s = sum s^(2i) / (2i + 1): ten terms leave less than 1e-17 relative.
    q = 1.0 / 21.0
    q = q * s2 + 1.0 / 19.0
    q = q * s2 + 1.0 / 17.0
    q = q * s2 + 1.0 / 15.0
    q = q * s2 + 1.0 / 13.0
    q = q * s2 + 1.0 / 11.0
    q = q * s2 + 1.0 / 9.0
    q = q * s2 + 1.0 / 7.0
    q = q * s2 + 1.0 / 5.0
    q = q * s2 + 1.0 / 3.0
    q = q * s2 + 1.0
    return 2.0 * s * q


@kernel(ordered=True)
def log1p_unit(e):
    """log(1 + e) for 0 <= e <= 1 (float64)."""
    u = 1.0 + e
    above = u > SQRT2
    value = log_reduced(u * 0.5 if above else u)
    if above:
        value = (value + LN2_LOW) + LN2_HIGH
    # u - 1 is exact, and e - (u - 1) is what the rounding of 1 + e lost: log(1 + e) =
    # log(u) + (e - (u - 1)) / u to first order in it (so tiny e gives e, not 0).
    return value + (e - (u - 1.0)) / u


@kernel(ordered=True)
def log_positive(x):
    """log(x) for finite x > 0 (float64), subnormals included."""
    subnormal = x < SMALLEST_NORMAL
    scaled = x * SUBNORMAL_SCALE if subnormal else x
    bits = float_to_bits(scaled)
    exponent = (bits >> 52) - (1023 + 54 if subnormal else 1023)
    m = bits_to_float((bits & MANTISSA_BITS) | ONE_BITS)
    if m > SQRT2:
        m *= 0.5
        exponent += 1
    k = np.float64(exponent)
    return (log_reduced(m) + k * LN2_LOW) + k * LN2_HIGH
