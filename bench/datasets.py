"""The real data sets in ../shared/data (svmlight files; see the README there)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

DATA_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data"

# name -> (file, n_features); n_features because an all-zero column is invisible in the file.
SHARED = {
    "leukemia": ("leu.bz2", 7129),
    "colon-cancer": ("colon-cancer.bz2", 2000),
    "arcene": ("arcene_train.bz2", 10000),
}


def load_shared(name: str):
    """(X dense float64 Fortran-ordered, y in {0, 1}), or None when the file or sklearn is absent."""
    file, n_features = SHARED[name]
    path = DATA_DIR / file
    try:
        from sklearn.datasets import load_svmlight_file
    except ImportError:
        return None
    if not path.exists():
        return None
    X, y = load_svmlight_file(str(path), n_features=n_features)
    return np.asfortranarray(X.toarray()), (y > 0).astype(np.float64)
