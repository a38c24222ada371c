"""Every check of user input, in one place.

Each function either returns a clean value or raises a ValueError / TypeError that names the
argument and says how to fix the call. Nothing here modifies the caller's arrays.
"""

from __future__ import annotations

import numbers
import operator

import numpy as np

LOSSES = ("logistic", "squared")

# Counts reach the kernels as int64: a larger Python int does not convert (Numba refuses it,
# or it wraps to a negative count that runs nothing).
LARGEST_COUNT = int(np.iinfo(np.int64).max)


def _is_sparse(X) -> bool:
    """Whether X is a SciPy sparse matrix or array, detected without importing SciPy."""
    return type(X).__module__.startswith("scipy.sparse")


def as_matrix(X, name: str = "X", *, allow_object: bool = False) -> np.ndarray:
    """X as a finite 2-D float32 or float64 array; other numeric dtypes become float64.

    float32 and float64 arrays are returned as they are (no copy, memory order kept).
    ``allow_object`` converts object arrays holding numbers, as scikit-learn's estimators do.
    """
    if allow_object:
        X = objects_to_float(X)
    if X is None:
        raise ValueError(f"{name} is None; pass a 2-D array of shape (n_samples, n_features).")
    if _is_sparse(X):
        raise TypeError(
            f"{name} is a sparse matrix; fastreg does not support sparse input yet: "
            f"pass {name}.toarray() instead."
        )
    array = np.asarray(X)
    kind = array.dtype.kind
    if kind == "O":
        raise TypeError(
            f"{name} has dtype object; pass a numeric array, e.g. np.asarray({name}, dtype=float)."
        )
    elif kind == "c":
        raise ValueError(f"Complex data not supported: {name} has dtype {array.dtype}; pass real numbers.")
    elif kind in "biu":
        array = array.astype(np.float64)
    elif kind == "f":
        if array.dtype not in (np.float32, np.float64):
            array = array.astype(np.float64)
    else:
        raise TypeError(f"{name} has non-numeric dtype {array.dtype}; pass a numeric array.")
    if array.ndim != 2:
        raise ValueError(
            f"{name} must be a 2-D array of shape (n_samples, n_features); got shape {array.shape}. "
            "Reshape your data with X.reshape(-1, 1) for a single feature "
            "or X.reshape(1, -1) for a single sample."
        )
    n, d = array.shape
    if n == 0:
        raise ValueError(
            f"Found array with 0 sample(s) (shape={array.shape}) while a minimum of 1 is required: "
            f"{name} is empty."
        )
    if d == 0:
        raise ValueError(
            f"Found array with 0 feature(s) (shape={array.shape}) while a minimum of 1 is required: "
            f"{name} has no columns."
        )
    check_data(array, name)
    return array


def objects_to_float(X):
    """X with an object dtype converted to float64, as scikit-learn's estimators do; else X as is.

    Elements that are not numbers raise numpy's TypeError.
    """
    if X is None or _is_sparse(X):
        return X
    array = np.asarray(X)
    return array.astype(np.float64) if array.dtype.kind == "O" else X


def check_finite(array: np.ndarray, name: str) -> None:
    """Raise if a float array holds NaN or inf."""
    # The sum is one cheap pass with no temporary; only when it is not finite (NaN, inf, or a
    # sum that overflowed) does the exact element-wise check run.
    with np.errstate(over="ignore", invalid="ignore"):
        total = np.sum(array)
    if not np.isfinite(total):
        _check_elements_finite(array, name)


def check_data(array: np.ndarray, name: str) -> None:
    """Raise if a float array of data holds NaN or inf, or numbers whose squares overflow.

    The solvers compute squared norms of the data (step sizes, curvatures, the squared loss):
    where those overflow, steps become 0 or NaN and a solve stalls or diverges with a message
    about its step, so such data is refused here with a message about its scale.
    """
    # One pass and no temporary: the sum of squares is finite unless an entry is NaN or inf or
    # the squares overflow; only then does the exact element-wise check run. einsum, not BLAS's
    # dot: after a call, BLAS's threads spin for about 0.1 s and take the cores from the
    # multi-threaded kernels that run next (a 2-thread gd iteration on 100000 x 100 took 1.71x
    # as long right after np.dot on X, 0.97x after einsum: python bench/blas_spin.py). einsum
    # reads X at about a third of BLAS's speed: 0.15 ms for leukemia's 2.2 MB.
    axes = "ijklmn"[:array.ndim]
    with np.errstate(over="ignore", invalid="ignore"):
        total = np.einsum(f"{axes},{axes}->", array, array)
    if np.isfinite(total):
        return
    _check_elements_finite(array, name)
    largest = max(float(np.max(array)), -float(np.min(array)))
    raise ValueError(
        f"{name} is too large to compute with: the sum of its squares overflows {array.dtype} "
        f"(largest |{name}| = {largest:.3g}); rescale {name}, e.g. divide it by its largest absolute value."
    )


def _check_elements_finite(array: np.ndarray, name: str) -> None:
    if not np.isfinite(array).all():
        raise ValueError(f"Input {name} contains NaN or infinity; remove or impute those entries.")


def as_vector(y, n_samples: int, name: str = "y") -> np.ndarray:
    """y as a 1-D array of length n_samples (any dtype; labels are checked elsewhere)."""
    if y is None:
        raise ValueError(f"{name} is None; pass a 1-D array of {n_samples} targets.")
    if _is_sparse(y):
        raise TypeError(f"{name} is a sparse matrix; pass a dense 1-D array.")
    array = np.asarray(y)
    if array.ndim != 1:
        raise ValueError(
            f"{name} must be a 1-D array of length {n_samples}; got shape {array.shape}"
            + (f" (pass {name}.ravel())." if array.ndim == 2 and 1 in array.shape else ".")
        )
    if array.shape[0] != n_samples:
        raise ValueError(
            f"{name} has {array.shape[0]} entries but X has {n_samples} rows; they must match."
        )
    return array


def as_float_target(y, n_samples: int, dtype, name: str = "y") -> np.ndarray:
    """A regression target: finite numbers, returned as a new array of ``dtype``."""
    array = as_vector(y, n_samples, name)
    if array.dtype.kind == "c":
        raise ValueError(f"Complex data not supported: {name} has dtype {array.dtype}.")
    try:
        array = array.astype(dtype)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{name} must hold numbers for the squared loss: {error}") from None
    check_data(array, name)
    return array


def encode_binary_labels(y, n_samples: int, dtype, name: str = "y", estimator: str = "logistic regression"):
    """(classes, labels): the two sorted classes of y and y mapped to {0, 1} in ``dtype``."""
    array = as_vector(y, n_samples, name)
    if array.dtype.kind == "c":
        raise ValueError(f"Complex data not supported: {name} has dtype {array.dtype}.")
    if array.dtype.kind == "f":
        check_finite(array, name)
    try:
        classes, codes = np.unique(array, return_inverse=True)
    except TypeError as error:
        raise TypeError(f"{name} mixes label types that cannot be sorted: {error}") from None
    if len(classes) == 1:
        raise ValueError(
            f"{name} has only 1 class ({classes[0]!r}); {estimator} needs samples of two classes."
        )
    if len(classes) > 2:
        if array.dtype.kind == "f" and np.any(classes != np.round(classes)):
            raise ValueError(
                f"Unknown label type: continuous. {name} holds {len(classes)} distinct non-integer "
                f"values; {estimator} needs two class labels (use the squared loss for regression)."
            )
        raise ValueError(
            f"Only binary classification is supported. {name} has {len(classes)} classes "
            f"({classes[:5].tolist()}{'...' if len(classes) > 5 else ''}); {estimator} needs exactly two."
        )
    return classes, codes.reshape(-1).astype(dtype)


def check_choice(value, name: str, choices) -> str:
    """value, if it is one of ``choices``."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name}={value!r} is not supported; choose one of {', '.join(map(repr, choices))}.")
    return value


def check_nonnegative(value, name: str) -> float:
    """A finite real number >= 0."""
    real = check_real(value, name)
    if not real >= 0:
        raise ValueError(f"{name}={value!r} must be >= 0.")
    return real


def check_positive(value, name: str) -> float:
    """A finite real number > 0."""
    real = check_real(value, name)
    if not real > 0:
        raise ValueError(f"{name}={value!r} must be > 0.")
    return real


def _is_integer(value) -> bool:
    """An int or NumPy integer; bools, which are ints to Python, are not."""
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def check_positive_int(value, name: str) -> int:
    """An integer from 1 to LARGEST_COUNT."""
    if not _is_integer(value):
        raise TypeError(f"{name}={value!r} must be an integer >= 1.")
    integer = operator.index(value)
    if integer < 1:
        raise ValueError(f"{name}={value!r} must be an integer >= 1.")
    if integer > LARGEST_COUNT:
        raise ValueError(f"{name}={value!r} must be at most 2**63 - 1 = {LARGEST_COUNT}.")
    return integer


def check_bool(value, name: str) -> bool:
    """A bool (numpy bools included)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name}={value!r} must be True or False.")
    return bool(value)


def check_real(value, name: str) -> float:
    """A finite real number (bools refused)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}={value!r} must be a real number.")
    real = float(value)
    if not np.isfinite(real):
        raise ValueError(f"{name}={value!r} must be finite.")
    return real


def as_start(w0, n_features: int, dtype, name: str = "w0") -> np.ndarray:
    """A warm start for the coefficients: a new finite array of shape (n_features,) and ``dtype``."""
    array = np.asarray(w0)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers; got dtype {array.dtype}.")
    if array.shape != (n_features,):
        raise ValueError(f"{name} must have shape ({n_features},) like the columns of X; got {array.shape}.")
    array = array.astype(dtype)
    check_data(array, name)
    return array


def check_intercept(value, dtype, name: str = "intercept0") -> float:
    """A finite real number whose square does not overflow ``dtype`` (the rule of :func:`check_data`)."""
    real = check_real(value, name)
    if not real * real <= float(np.finfo(dtype).max):
        raise ValueError(f"{name}={value!r} is too large to compute with: its square overflows {np.dtype(dtype)}; "
                         f"start from a smaller intercept or from None (the optimal constant).")
    return real


def as_penalties(lambdas, name: str = "lambdas") -> np.ndarray:
    """A grid of penalties: a new 1-D float64 array of positive finite numbers, largest first."""
    if _is_sparse(lambdas):
        raise TypeError(f"{name} is a sparse matrix; pass a 1-D list or array of numbers.")
    array = np.asarray(lambdas)
    if array.dtype.kind not in "iuf":
        raise TypeError(f"{name} must hold real numbers; got dtype {array.dtype}.")
    if array.ndim != 1:
        raise ValueError(f"{name} must be a 1-D list or array of penalties; got shape {array.shape}"
                         + (f" (pass np.ravel({name}))." if array.ndim == 2 and 1 in array.shape else "."))
    if array.size == 0:
        raise ValueError(f"{name} is empty; pass at least one penalty > 0.")
    array = array.astype(np.float64)
    _check_elements_finite(array, name)
    if not np.all(array > 0):
        raise ValueError(f"{name} must be > 0; got {float(array.min())!r} (lambda = 0 is no penalty: "
                         f"use fit with l1=0 for it).")
    return np.sort(array)[::-1]


def check_index(value, length: int, name: str = "index") -> int:
    """An integer from 0 to length - 1."""
    if not _is_integer(value):
        raise TypeError(f"{name}={value!r} must be an integer from 0 to {length - 1}.")
    index = operator.index(value)
    if not 0 <= index < length:
        raise ValueError(f"{name}={value!r} must be an integer from 0 to {length - 1} (there are {length}).")
    return index


def check_type(value, kind: type, name: str, hint: str):
    """value, if it is an instance of ``kind``; ``hint`` says where such a value comes from."""
    if not isinstance(value, kind):
        raise TypeError(f"{name} must be a {kind.__module__.split('.')[0]}.{kind.__name__} ({hint}); "
                        f"got {type(value).__name__}.")
    return value


def check_callback(value, name: str):
    """None or a callable."""
    if value is not None and not callable(value):
        raise TypeError(f"{name}={value!r} must be a callable or None.")
    return value


def check_random_state(value, name: str = "random_state") -> np.random.Generator:
    """A NumPy Generator from None, an integer >= 0, a Generator (returned as is) or a legacy
    RandomState (which, as in scikit-learn, gives up one draw to seed it)."""
    if isinstance(value, np.random.Generator):
        return value
    if isinstance(value, np.random.RandomState):
        return np.random.default_rng(value.randint(np.iinfo(np.int32).max))
    if value is not None and not _is_integer(value):
        raise TypeError(f"{name}={value!r} must be None, an integer >= 0 or a numpy.random.Generator (or RandomState).")
    if value is not None and value < 0:
        raise ValueError(f"{name}={value!r} must be >= 0.")
    return np.random.default_rng(value)


def check_fraction(value, name: str) -> float:
    """A real number in (0, 1]."""
    value = check_real(value, name)
    if not 0.0 < value <= 1.0:
        raise ValueError(f"{name}={value!r} must be in (0, 1]; {name}=1 is the pure l1 penalty.")
    return value
