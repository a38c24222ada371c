"""Warnings and errors that fastreg raises."""


class ConvergenceWarning(UserWarning):
    """A solver ran out of iterations before its certificate reached the tolerance."""


class DivergenceError(ValueError):
    """A solve whose objective became non-finite or grew: the step size is too large."""
