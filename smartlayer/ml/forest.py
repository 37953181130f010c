"""A fitted Isolation Forest compiled into flat NumPy arrays, for the request path.

Why not call scikit-learn at request time: ``IsolationForest.score_samples``
on one row costs milliseconds (input validation, a joblib dispatch, one
``apply`` per tree), the runtime would have to unpickle an estimator (code
execution from a file), and it would drag scikit-learn into every web worker.
A compiled forest is a handful of arrays in an ``.npz`` (loaded with
``allow_pickle=False``) and scores one vector in microseconds.

Layout.  All trees are concatenated; node ``i`` has ``feature[i]`` (-1 at a
leaf), ``threshold[i]``, global child indices ``left[i]``/``right[i]`` and, at
a leaf, ``value[i] = depth(i) + c(n_samples(i)) - 1`` — the path length
scikit-learn charges for ending there: the leaf's depth (root = 1) plus the
average path length of the unbuilt subtree below it, ``c(n)`` from the
original paper.  ``missing_left`` says where a NaN goes, as in scikit-learn.

Scoring.  ``s(x) = 2 ** (-sum_t value[leaf_t(x)] / (n_trees * c(max_samples)))``
— the paper's anomaly score in (0, 1), **higher = more anomalous**, equal to
``-IsolationForest.score_samples(x)`` (the parity tests hold it to 1e-9).  Like
scikit-learn's trees, inputs are rounded to float32 before the comparisons; the
thresholds are stored rounded *down* to float32, which changes no comparison
of a float32 input (see :func:`_floor32`) and keeps every comparison float32.

The single-vector path walks *all trees at once*, three levels at a time.  A NumPy call costs
~3,400 instructions before its first element and ~10–15 a gathered element, so levels go in
*blocks*: a block compares the 7 nodes below a known node all at once (8 comparisons a tree with a
padding slot), ``np.packbits`` makes them one byte a tree, and a table maps (block row, byte) to
where the walk goes on.  The first block starts at the roots, so its features and thresholds are
constants; each further block has one row per distinct node the block before can end on (leaves
reached early stand in for themselves), and the last one's table holds the leaves' values — about
eight NumPy calls per three levels where a level walked alone took six.  A depth-12 forest
(``max_samples`` 4096) is four blocks; its tables are ~3 MiB for 100 trees.  The batch path
(:meth:`CompiledForest.anomaly_scores`) walks level by level in a "doubled" layout (node ``i``
lives at ``2*i``; ``child[2*i | go_right]``; leaves point to themselves).  Measured in
``tests/benchmarks/scoring.py`` against a tight Python loop over flat lists: over three times
as fast for 100 trees; 2026-12-06: 245 k → 223 k instructions a vector (the blocks all the way down),
then → 204 k with every table read by ``take`` of a flat array (:func:`_by_column`), none by NumPy's
two-array subscript.
"""
from __future__ import annotations

import struct
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

#: Euler–Mascheroni constant, for the harmonic-number approximation in c(n).
_EULER_GAMMA = 0.5772156649015329
_NPZ_KEYS = ("feature", "threshold", "left", "right", "value", "missing_left", "roots", "meta")
_FORMAT = 1
#: Levels walked at once by a block (twice, from the roots): 7 nodes and a padding slot, one byte.
_BLOCK_LEVELS = 3
_WIDTH = 1 << _BLOCK_LEVELS


class ForestFormatError(ValueError):
    """The arrays do not describe a valid compiled forest."""


def average_path_length(n: np.ndarray | Sequence[float] | float) -> np.ndarray:
    """``c(n)``: the average path length of an unsuccessful search in a binary
    search tree of ``n`` nodes — the expected depth still to go below a leaf
    that holds ``n`` training samples (Liu et al., 2008).  0 for n <= 1, 1 for n == 2.
    """
    arr = np.asarray(n, dtype=np.float64)
    out = np.zeros(arr.shape, dtype=np.float64)
    out[arr == 2] = 1.0
    big = arr > 2
    m = arr[big]
    out[big] = 2.0 * (np.log(m - 1.0) + _EULER_GAMMA) - 2.0 * (m - 1.0) / m
    return out


class CompiledForest:
    """Flat arrays of a fitted ``IsolationForest``; scores without scikit-learn.

    Build one with :meth:`from_estimator` (offline) or :meth:`from_npz`
    (runtime).  Instances are immutable and safe to share between threads.
    """

    def __init__(self, *, feature: np.ndarray, threshold: np.ndarray, left: np.ndarray, right: np.ndarray,
                 value: np.ndarray, missing_left: np.ndarray, roots: np.ndarray, n_features: int,
                 max_samples: int) -> None:
        self.feature = np.ascontiguousarray(feature, dtype=np.int32)
        self.threshold = np.ascontiguousarray(threshold, dtype=np.float64)
        self.left = np.ascontiguousarray(left, dtype=np.int64)
        self.right = np.ascontiguousarray(right, dtype=np.int64)
        self.value = np.ascontiguousarray(value, dtype=np.float64)
        self.missing_left = np.ascontiguousarray(missing_left, dtype=bool)
        self.roots = np.ascontiguousarray(roots, dtype=np.int64)
        self.n_features = int(n_features)
        self.max_samples = int(max_samples)
        self._validate()
        for a in (self.feature, self.threshold, self.left, self.right, self.value, self.missing_left, self.roots):
            a.setflags(write=False)

        n_trees = len(self.roots)
        c = float(average_path_length(self.max_samples))
        self.denominator = n_trees * c
        leaf = self.feature < 0
        self.max_depth = self._depth()
        # levels the batch path walks; extra levels change nothing (leaves point to themselves)
        self._n_levels = max(self.max_depth, 1)
        self._ones = np.ones(n_trees)
        self._pack = struct.Struct(f"{self.n_features}f").pack
        self._build_blocks(*self._tests(leaf))

    def _tests(self, leaf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each node's feature and float32 threshold, as both walks (blocks and batch) read them: a leaf
        tests feature 0 against +inf."""
        return np.where(leaf, 0, self.feature).astype(np.intp), _floor32(np.where(leaf, np.inf, self.threshold))

    #: The batch path's arrays (:meth:`_doubled`), built when first read.
    _DOUBLED = ("_feat2", "_thr2", "_miss_right2", "_child2", "_child_value2", "_roots2")

    def __getattr__(self, name: str) -> Any:
        """The batch path's arrays, built on first read: a request's one vector and a replay's never read
        them (callgrind, the replay benchmark's 91,046-node forest: built from its arrays in 53 M
        instructions instead of 71 M, 3.5 MB instead of 8.8)."""
        if name in CompiledForest._DOUBLED:
            self._doubled()
            return self.__dict__[name]
        raise AttributeError(name)

    def _doubled(self) -> None:
        """The doubled layout of the module docstring, for :meth:`anomaly_scores` (two threads at once
        may both build it: the same arrays, no lock needed)."""
        leaf = self.feature < 0
        feat, thr = self._tests(leaf)
        nodes = np.arange(self.n_nodes, dtype=np.int64)
        child = np.empty(2 * self.n_nodes, dtype=np.intp)
        child[0::2] = 2 * np.where(leaf, nodes, self.left)
        child[1::2] = 2 * np.where(leaf, nodes, self.right)
        built = {
            "_feat2": np.repeat(feat, 2),
            "_thr2": np.repeat(thr, 2),
            "_miss_right2": np.repeat(~self.missing_left & ~leaf, 2),
            "_child2": child,
            # the last level reads the leaf's value where it would read the leaf
            "_child_value2": np.repeat(self.value, 2)[child],
            "_roots2": (2 * self.roots).astype(np.intp),
        }
        self.__dict__.update(built)

    def _build_blocks(self, feat: np.ndarray, thr: np.ndarray) -> None:
        """The blocks of the module docstring, from the roots down to the deepest leaf.

        Block ``k`` has one row per distinct node its walk can start on (the roots for the first; a
        leaf reached early stands in for itself), numbered 0, 1, ...: the 8 features and float32
        thresholds of :meth:`_block`, and the 8 places the walk can end on, left to right — the
        next block's row, or at the last block the leaf's value.  The byte ``np.packbits`` makes of
        a row's comparisons is turned into that position by :func:`_outcomes`'s table (the first
        block's small table is indexed by the byte itself: one call fewer).  Eight a row, not 128:
        the deep blocks have thousands of rows (4,026 and 15,622 on a depth-12 forest of 100 trees).
        """
        n_trees = len(self.roots)
        outcome = _outcomes()
        n_blocks = max(1, -(-self.max_depth // _BLOCK_LEVELS))
        top_feat, top_thr, ends = self._block(self.roots, feat, thr)
        self._top_feat, self._top_thr = top_feat.ravel(), top_thr.ravel()
        self._top_base = np.arange(n_trees, dtype=np.intp) << _WIDTH - 1
        blocks: list[tuple[np.ndarray, np.ndarray]] = []
        exits: list[np.ndarray] = []
        for _ in range(1, n_blocks):
            starts, ids = np.unique(ends.ravel(), return_inverse=True)
            # intp, as NumPy indexes with: a narrower type is cast on every call
            exits.append(ids.reshape(ends.shape).astype(np.intp))
            rows_feat, rows_thr, ends = self._block(starts, feat, thr)
            blocks.append((rows_feat, rows_thr))
        # the last block's ends are leaves (its walk went max_depth levels or more): their values
        values = self.value[ends]
        self._top_exit = (exits[0] if blocks else values)[:, outcome].ravel()
        self._mid = [(f, t, *_by_column(e, outcome)) for (f, t), e in zip(blocks[:-1], exits[1:], strict=True)]
        self._last = (blocks[-1][0], blocks[-1][1], *_by_column(values, outcome)) if blocks else None

    def _block(self, starts: np.ndarray, feat: np.ndarray, thr: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``_BLOCK_LEVELS`` levels below each of ``starts`` as 8 comparisons in a row.

        Row ``i``: a padding slot (never true), then the 7 nodes below ``starts[i]`` in heap order
        (a leaf stands in for its missing descendants, with an infinite threshold): their features
        and float32 thresholds; and the 8 nodes the walk can end on, left to right.
        """
        heap = np.empty((len(starts), 2 * _WIDTH - 1), dtype=np.intp)
        heap[:, 0] = starts
        for p in range(_WIDTH - 1):
            node = heap[:, p]
            internal = self.feature[node] >= 0
            heap[:, 2 * p + 1] = np.where(internal, self.left[node], node)
            heap[:, 2 * p + 2] = np.where(internal, self.right[node], node)
        rows_feat = np.zeros((len(starts), _WIDTH), dtype=np.intp)
        rows_thr = np.full((len(starts), _WIDTH), np.inf, dtype=np.float32)
        rows_feat[:, 1:] = feat[heap[:, :_WIDTH - 1]]
        rows_thr[:, 1:] = thr[heap[:, :_WIDTH - 1]]
        return rows_feat, rows_thr, heap[:, _WIDTH - 1:]

    # ── construction ───────────────────────────────────────────────────────
    @classmethod
    def from_estimator(cls, estimator: Any) -> CompiledForest:
        """Compile a fitted ``sklearn.ensemble.IsolationForest``.

        Reads only its public fitted attributes (``estimators_``,
        ``estimators_features_``, ``max_samples_``, ``n_features_in_``) and each
        tree's ``tree_`` arrays; scikit-learn itself is not imported here.
        """
        try:
            trees = estimator.estimators_
            subsets = estimator.estimators_features_
            n_features = int(estimator.n_features_in_)
            max_samples = int(estimator.max_samples_)
        except AttributeError as exc:
            raise ForestFormatError(f"not a fitted IsolationForest: {exc}") from None
        feature, threshold, left, right, value, missing, roots = [], [], [], [], [], [], []
        offset = 0
        for est, subset in zip(trees, subsets, strict=True):
            t = est.tree_
            n = int(t.node_count)
            cl = np.asarray(t.children_left, dtype=np.int64)
            cr = np.asarray(t.children_right, dtype=np.int64)
            is_leaf = cl == -1
            depth = _node_depths(cl, cr)
            # a tree fitted on a feature subset numbers features within it
            f = np.asarray(subset, dtype=np.int64)[np.where(is_leaf, 0, t.feature)]
            feature.append(np.where(is_leaf, -1, f))
            threshold.append(np.where(is_leaf, 0.0, t.threshold))
            left.append(np.where(is_leaf, -1, cl + offset))
            right.append(np.where(is_leaf, -1, cr + offset))
            # same operation order as scikit-learn: depth + c(n) - 1
            v = depth + average_path_length(t.n_node_samples) - 1.0
            value.append(np.where(is_leaf, v, 0.0))
            missing.append(np.asarray(getattr(t, "missing_go_to_left", np.zeros(n)), dtype=bool))
            roots.append(offset)
            offset += n
        if not roots:
            raise ForestFormatError("the forest has no trees")
        return cls(feature=np.concatenate(feature), threshold=np.concatenate(threshold),
                   left=np.concatenate(left), right=np.concatenate(right), value=np.concatenate(value),
                   missing_left=np.concatenate(missing), roots=np.asarray(roots), n_features=n_features,
                   max_samples=max_samples)

    def _validate(self) -> None:
        n = len(self.feature)
        if not (len(self.threshold) == len(self.left) == len(self.right) == len(self.value)
                == len(self.missing_left) == n) or n == 0:
            raise ForestFormatError("node arrays differ in length or are empty")
        if self.n_features <= 0 or self.max_samples <= 0:
            raise ForestFormatError("n_features and max_samples must be positive")
        if len(self.roots) == 0 or self.roots.min() < 0 or self.roots.max() >= n:
            raise ForestFormatError("root index out of range")
        internal = self.feature >= 0
        if (self.feature >= self.n_features).any():
            raise ForestFormatError("feature index out of range")
        for child in (self.left, self.right):
            c = child[internal]
            if len(c) and (c.min() < 0 or c.max() >= n):
                raise ForestFormatError("child index out of range")
        if not np.isfinite(self.value).all() or np.isnan(self.threshold).any():
            raise ForestFormatError("non-finite leaf value or NaN threshold")

    def _depth(self) -> int:
        """Levels needed to reach every leaf from its root (0 for a lone leaf)."""
        nodes = self.roots.copy()
        for level in range(self.n_nodes + 1):
            internal = self.feature[nodes] >= 0
            if not internal.any():
                return level
            nodes = np.concatenate([self.left[nodes[internal]], self.right[nodes[internal]]])
        raise ForestFormatError("the trees contain a cycle")

    # ── persistence (NumPy only) ───────────────────────────────────────────
    def to_npz(self, path: str | Path) -> None:
        """Write the arrays (uncompressed .npz; load with :meth:`from_npz`)."""
        meta = np.array([_FORMAT, self.n_features, self.max_samples], dtype=np.int64)
        with open(path, "wb") as fh:
            np.savez(fh, feature=self.feature, threshold=self.threshold, left=self.left, right=self.right,
                     value=self.value, missing_left=self.missing_left, roots=self.roots, meta=meta)

    @classmethod
    def from_npz(cls, path: str | Path) -> CompiledForest:
        """Read what :meth:`to_npz` wrote.  Never unpickles; validates structure."""
        try:
            with np.load(path, allow_pickle=False) as data:
                missing = [k for k in _NPZ_KEYS if k not in data.files]
                if missing:
                    raise ForestFormatError(f"missing arrays {missing}")
                arrays = {k: data[k] for k in _NPZ_KEYS}
        except ForestFormatError:
            raise
        except Exception as exc:  # zipfile/format errors of a damaged file
            raise ForestFormatError(f"unreadable forest file: {exc}") from exc
        meta = arrays.pop("meta")
        if meta.shape != (3,) or int(meta[0]) != _FORMAT:
            raise ForestFormatError("unknown forest file format")
        return cls(**arrays, n_features=int(meta[1]), max_samples=int(meta[2]))

    # ── scoring ────────────────────────────────────────────────────────────
    @property
    def n_nodes(self) -> int:
        return len(self.feature)

    @property
    def n_trees(self) -> int:
        return len(self.roots)

    def _to_score(self, depth_sum: float) -> float:
        if self.denominator == 0.0:
            # one training sample: depths and c(max_samples) are 0; scikit-learn takes the exponent
            # as 1 (its comment says "score 1"; its output is 2 ** -1)
            return 0.5
        return 2.0 ** (-depth_sum / self.denominator)

    def anomaly_score(self, x: Sequence[float]) -> float:
        """Anomaly score of one vector (higher = more anomalous, in (0, 1))."""
        if len(x) != self.n_features:
            raise ValueError(f"expected {self.n_features} features, got {len(x)}")
        # a NaN anywhere makes the sum NaN (so may inf - inf: the batch path is exact for it too)
        total = sum(x) if not isinstance(x, np.ndarray) else float(x.sum())
        if total != total:  # the batch path honours missing_left
            return float(self.anomaly_scores(np.asarray(x, dtype=np.float64).reshape(1, -1))[0])
        # rounded to float32 by C casts, as NumPy (and so scikit-learn's input check) rounds
        xv = np.frombuffer(self._pack(*x), np.float32)
        ends = self._top_exit.take(self._top_base | np.packbits(xv.take(self._top_feat) > self._top_thr))
        for rows_feat, rows_thr, column, exits in self._mid:
            code = np.packbits(xv.take(rows_feat.take(ends, 0)) > rows_thr.take(ends, 0))
            ends = exits.take(column.take(code) + ends)
        last = self._last
        if last is not None:
            rows_feat, rows_thr, column, values = last
            code = np.packbits(xv.take(rows_feat.take(ends, 0)) > rows_thr.take(ends, 0))
            ends = values.take(column.take(code) + ends)
        depth_sum = float(ends.dot(self._ones))
        return self._to_score(depth_sum)

    def anomaly_scores(self, X: np.ndarray | Sequence[Sequence[float]], *, chunk: int = 2048) -> np.ndarray:
        """Anomaly scores of many vectors at once (same values as :meth:`anomaly_score`)."""
        X = np.asarray(X, dtype=np.float32)
        if X.ndim != 2 or X.shape[1] != self.n_features:
            raise ValueError(f"expected shape (n, {self.n_features}), got {X.shape}")
        out = np.empty(len(X), dtype=np.float64)
        feat, thr, child, miss_right = self._feat2, self._thr2, self._child2, self._miss_right2
        any_nan = bool(np.isnan(X).any())
        for start in range(0, len(X), chunk):
            Xc = X[start:start + chunk]
            n = np.broadcast_to(self._roots2, (len(Xc), self.n_trees)).copy()
            for level in range(self._n_levels):
                xv = np.take_along_axis(Xc, feat[n], axis=1)
                go_right = xv > thr[n]
                if any_nan:
                    nan = np.isnan(xv)
                    go_right = np.where(nan, miss_right[n], go_right)
                if level == self._n_levels - 1:
                    depth = self._child_value2[n + go_right].sum(axis=1)
                else:
                    n = child[n + go_right]
            if self.denominator == 0.0:
                out[start:start + len(Xc)] = 0.5  # as _to_score
            else:
                out[start:start + len(Xc)] = np.exp2(-depth / self.denominator)
        return out


def _outcomes() -> np.ndarray:
    """For each byte ``np.packbits`` makes of a block's row (padding first, so below 128): the
    position, left to right, of the node the 3 comparisons lead to."""
    outcome = np.empty(1 << _WIDTH - 1, dtype=np.intp)
    for code in range(len(outcome)):
        p = 0  # heap position; node p's comparison is bit 6 - p
        for _ in range(_BLOCK_LEVELS):
            p = 2 * p + 1 + (code >> (_WIDTH - 2 - p) & 1)
        outcome[code] = p - (_WIDTH - 1)
    return outcome


def _by_column(ends: np.ndarray, outcome: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A block's ends (one row per start, 8 columns) laid out column after column, and the table
    from a row's byte to where its column starts: the walk's next index is ``column[byte] + row``,
    one ``take`` of a flat array, where ``ends[row, outcome[byte]]`` took NumPy's slower
    two-array indexing."""
    return outcome * len(ends), np.ascontiguousarray(ends.T).ravel()


def _floor32(t: np.ndarray) -> np.ndarray:
    """The largest float32 at or below each threshold.  For a float32 ``x``, ``x > t`` exactly when
    ``x > _floor32(t)``: no float32 lies in between.  So the comparisons run float32 against float32
    (half the memory of float64 thresholds, no widening of the input) with scikit-learn's outcomes."""
    t = np.asarray(t, dtype=np.float64)
    with np.errstate(over="ignore"):
        t32 = t.astype(np.float32)
    above = t32.astype(np.float64) > t
    t32[above] = np.nextafter(t32[above], np.float32(-np.inf))
    return t32


def _node_depths(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Depth of every node of one tree, root = 1 (scikit-learn's convention).
    Children always have larger indices than their parent in a fitted tree."""
    depth = np.zeros(len(left), dtype=np.float64)
    depth[0] = 1.0
    for i in range(len(left)):
        if left[i] != -1:
            depth[left[i]] = depth[i] + 1.0
            depth[right[i]] = depth[i] + 1.0
    return depth
