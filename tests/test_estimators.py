"""API conformance: scikit-learn's estimator checks, labels, and the documented mappings."""

import pytest

sklearn = pytest.importorskip("sklearn")
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from fastreg import LinearRegression, LogisticRegression  # noqa: E402


@parametrize_with_checks([LogisticRegression(), LinearRegression()])
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)
