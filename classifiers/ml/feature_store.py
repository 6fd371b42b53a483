"""Hashed-feature rows cached on disk by id range: one ``.npz`` per (scheme, range), written atomically.

Rows depend only on a candidate's text, which never changes, so a cached row stays valid; a range that gained
candidates since it was cached gets the missing rows computed and the file rewritten. Counts are stored as
uint8 (clipped at 255) and column indices as int32, about 5 bytes per non-zero. Deleting the folder is safe.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from classifiers.ml.data import Example

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix


class FeatureStore:
    def __init__(self, root: Path, scheme: str, n_features: int) -> None:
        self.folder = Path(root) / scheme
        self.n_features = n_features

    def _path(self, start_id: int, end_id: int) -> Path:
        return self.folder / f"{start_id:012d}-{end_id:012d}.npz"

    def get(self, start_id: int, end_id: int) -> tuple[np.ndarray, csr_matrix] | None:
        from scipy.sparse import csr_matrix

        path = self._path(start_id, end_id)
        if not path.exists():
            return None
        with np.load(path) as data:
            matrix = csr_matrix(
                (data["data"].astype(np.float32), data["indices"], data["indptr"]),
                shape=(len(data["ids"]), self.n_features),
            )
            return data["ids"], matrix

    def put(self, start_id: int, end_id: int, ids: np.ndarray, rows: csr_matrix) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        rows = rows.tocsr()
        rows.sum_duplicates()
        handle, name = tempfile.mkstemp(dir=self.folder, suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as out:
                np.savez(
                    out,
                    ids=np.asarray(ids, dtype=np.int64),
                    data=np.clip(rows.data, 0, 255).astype(np.uint8),
                    indices=rows.indices.astype(np.int32),
                    indptr=rows.indptr.astype(np.int64),
                )
            os.replace(name, self._path(start_id, end_id))
        except BaseException:
            Path(name).unlink(missing_ok=True)
            raise

    def rows_for(
        self,
        start_id: int,
        end_id: int,
        ids: Sequence[int],
        examples_of: Callable[[list[int]], dict[int, Example]],
        transform: Callable[[Sequence[Example]], csr_matrix],
    ) -> tuple[np.ndarray, csr_matrix, int]:
        """``(ids found, their rows in that order, rows computed now)`` for ``ids`` (sorted, within the range).
        ``examples_of`` reads the text of candidates that are not cached yet (an id it does not return is left
        out of the result)."""
        from scipy.sparse import csr_matrix, vstack

        wanted = np.asarray(ids, dtype=np.int64)
        cached = self.get(start_id, end_id)
        cached_ids, cached_rows = cached if cached is not None else (np.zeros(0, dtype=np.int64), None)
        missing = np.setdiff1d(wanted, cached_ids, assume_unique=True)
        computed = 0
        if len(missing):
            examples = examples_of(missing.tolist())
            missing = np.array([i for i in missing.tolist() if i in examples], dtype=np.int64)
            computed = len(missing)
            if computed:
                new_rows = transform([examples[int(i)] for i in missing])
                all_ids = np.concatenate([cached_ids, missing])
                all_rows = new_rows if cached_rows is None else vstack([cached_rows, new_rows], format="csr")
                order = np.argsort(all_ids, kind="stable")
                cached_ids, cached_rows = all_ids[order], all_rows[order]
                self.put(start_id, end_id, cached_ids, cached_rows)
        if cached_rows is None or not len(cached_ids):
            return np.zeros(0, dtype=np.int64), csr_matrix((0, self.n_features), dtype=np.float32), computed
        positions = np.clip(np.searchsorted(cached_ids, wanted), 0, len(cached_ids) - 1)
        present = cached_ids[positions] == wanted
        return wanted[present], cached_rows[positions[present]], computed
