"""AI Score: a model's prediction of a paper's field- and age-normalised citation percentile.

Label (only for papers whose impact is known): the percentile of the paper's citation count among
the labelled papers of the same category, year and count source (a count a source reported, or the
in-store citations of a closed citation graph such as the ACL Anthology Network), for papers at
least `min_age` years old. Features are what was known when the paper came out: its text (principal
components of its embedding), its length, authors, references, venue, code, category, and its
authors' earlier papers and the citations those had received *before* its year. Never the paper's
own citations. The model is a ridge regression on standardised features, so a score splits exactly
into `baseline + sum(coef * standardised value)`, the explanation.

Evaluation is a time split: fit on the older labelled papers, test on the newest ones (Spearman and
NDCG@20 against the true percentiles); then the model is refitted on every labelled paper.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np

from paperscope.analytics.novelty import percentile_within

MIN_LABELLED = 200
MIN_AGE = 2
MIN_GROUP = 5
TEXT_COMPONENTS = 16
MIN_CATEGORY_EXAMPLES = 20
TEST_FRACTION = 0.2
NDCG_K = 20

Row = dict[str, Any]


# --- labels -------------------------------------------------------------------------------------


def compute_citation_labels(
    facts: Sequence[Row],
    incoming: dict[str, int],
    graph_ids: dict[str, set[str]],
    as_of_year: int,
    min_age: int = MIN_AGE,
    min_group: int = MIN_GROUP,
) -> tuple[np.ndarray, list[str | None], np.ndarray]:
    """(label percentiles 0-100 or NaN, label source per paper, citation counts or NaN).

    A paper's count is the one a source reported (cited_by_count) or, for a paper of a closed
    citation graph (`graph_ids`: source -> paper ids), its in-store incoming citations."""
    n = len(facts)
    counts = np.full(n, np.nan)
    sources: list[str | None] = [None] * n
    for i, paper in enumerate(facts):
        year = paper["year"]
        if year is None or year > as_of_year - min_age:
            continue
        if paper["cited_by_count"] is not None:
            counts[i] = paper["cited_by_count"]
            sources[i] = f"reported:{paper['cited_by_source'] or 'unknown'}"
            continue
        for source, ids in graph_ids.items():
            if paper["id"] in ids:
                counts[i] = incoming.get(paper["id"], 0)
                sources[i] = f"graph:{source}"
                break
    groups = [(facts[i]["primary_category"], facts[i]["year"], sources[i]) for i in range(n)]
    labels, _ = percentile_within(np.log1p(counts), groups, min_group)
    return labels, sources, counts


# --- features -----------------------------------------------------------------------------------

BASE_FEATURES = (
    "authors (log)",
    "author count known",
    "abstract length (log chars)",
    "has abstract",
    "title length (log chars)",
    "venue or journal given",
    "has code link",
    "references (log)",
    "references listed",
    "authors' earlier papers, max (log)",
    "authors' earlier papers, mean (log)",
    "citations to authors' earlier work before publication, max (log)",
    "citations to authors' earlier work before publication, mean (log)",
)


def compute_base_features(
    facts: Sequence[Row],
    authorships: Sequence[tuple[str, str]],
    citations: Sequence[tuple[str, str]],
    references: dict[str, int],
) -> np.ndarray:
    """The features that need no fitting, one row per paper (order of `facts`)."""
    index = {paper["id"]: i for i, paper in enumerate(facts)}
    years = [paper["year"] for paper in facts]
    authors_of: dict[int, list[str]] = defaultdict(list)
    paper_years: dict[str, list[int]] = defaultdict(list)
    for paper_id, author_id in authorships:
        i = index.get(paper_id)
        if i is None:
            continue
        authors_of[i].append(author_id)
        if years[i] is not None:
            paper_years[author_id].append(years[i])
    cited_years: dict[str, list[int]] = defaultdict(list)
    for citing, cited in citations:
        ci, qi = index.get(citing), index.get(cited)
        if ci is None or qi is None or years[ci] is None:
            continue
        for author_id in authors_of.get(qi, ()):
            cited_years[author_id].append(years[ci])
    for values in paper_years.values():
        values.sort()
    for values in cited_years.values():
        values.sort()

    # Plain Python per paper: the lists are short, and numpy's per-call overhead would dominate.
    log1p = math.log1p
    rows: list[tuple[float, ...]] = []
    for i, paper in enumerate(facts):
        ids = authors_of.get(i, [])
        n_authors = paper["author_count"] or len(ids)
        abstract = paper["abstract_chars"] or 0
        refs = references.get(paper["id"], 0)
        year = years[i]
        prior_papers = prior_cites = (0.0,)
        if ids and year is not None:
            prior_papers = tuple(log1p(bisect_left(paper_years.get(a, ()), year)) for a in ids)
            prior_cites = tuple(log1p(bisect_left(cited_years.get(a, ()), year)) for a in ids)
        rows.append(
            (
                log1p(n_authors),
                float(n_authors > 0),
                log1p(abstract),
                float(abstract > 0),
                log1p(len(paper["title"] or "")),
                float(bool(paper["venue"] or paper["journal_ref"])),
                float(bool(paper["has_code"])),
                log1p(refs),
                float(refs > 0),
                max(prior_papers),
                sum(prior_papers) / len(prior_papers),
                max(prior_cites),
                sum(prior_cites) / len(prior_cites),
            )
        )
    out = np.array(rows, dtype=np.float64).reshape(len(facts), len(BASE_FEATURES))
    return out


@dataclass
class TextProjection:
    """The top principal components of the training papers' embeddings."""

    mean: np.ndarray
    components: np.ndarray  # (t, d)

    @classmethod
    def fit(cls, vectors: np.ndarray, n: int = TEXT_COMPONENTS) -> TextProjection:
        mean = vectors.mean(axis=0)
        centred = vectors - mean
        n = max(0, min(n, centred.shape[0] - 1, centred.shape[1]))
        if n == 0:
            return cls(mean, np.zeros((0, vectors.shape[1])))
        # Eigenvectors of the d x d covariance: the same axes as an SVD of the data, far cheaper.
        sample = centred[: min(len(centred), 50_000)].astype(np.float64)
        eigenvalues, eigenvectors = np.linalg.eigh(sample.T @ sample)
        order = np.argsort(eigenvalues)[::-1][:n]
        return cls(mean, eigenvectors[:, order].T)

    def transform(self, vectors: np.ndarray) -> np.ndarray:
        return (vectors - self.mean) @ self.components.T


@dataclass
class FeatureSpace:
    projection: TextProjection
    categories: list[str]  # one-hot levels; anything else (or none) is the zero vector

    @property
    def names(self) -> list[str]:
        text = [f"text component {j + 1}" for j in range(len(self.projection.components))]
        return [*BASE_FEATURES, *text, *(f"category {c}" for c in self.categories)]

    def build(self, base: np.ndarray, vectors: np.ndarray, categories: Sequence[str | None]) -> np.ndarray:
        onehot = np.zeros((len(base), len(self.categories)))
        level = {c: j for j, c in enumerate(self.categories)}
        for i, category in enumerate(categories):
            if category in level:
                onehot[i, level[category]] = 1.0
        return np.hstack([base, self.projection.transform(vectors), onehot])


def fit_feature_space(vectors: np.ndarray, categories: Sequence[str | None]) -> FeatureSpace:
    counts = Counter(c for c in categories if c)
    levels = sorted(c for c, n in counts.items() if n >= MIN_CATEGORY_EXAMPLES)
    return FeatureSpace(TextProjection.fit(vectors), levels)


# --- model --------------------------------------------------------------------------------------


@dataclass
class LinearModel:
    names: list[str]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    alpha: float

    def standardise(self, X: np.ndarray) -> np.ndarray:
        return (X - self.mean) / self.scale

    def linear(self, X: np.ndarray) -> np.ndarray:
        return self.standardise(X) @ self.coef + self.intercept

    def contributions(self, X: np.ndarray) -> np.ndarray:
        """Per-feature terms: linear(X) == intercept + contributions(X).sum(axis=1)."""
        return self.standardise(X) * self.coef


def fit_linear(X: np.ndarray, y: np.ndarray, names: list[str]) -> LinearModel:
    from sklearn.linear_model import RidgeCV

    mean = X.mean(axis=0)
    scale = X.std(axis=0)
    scale[scale < 1e-9] = 1.0
    ridge = RidgeCV(alphas=(0.1, 1.0, 10.0, 100.0, 1000.0, 10000.0)).fit((X - mean) / scale, y)
    return LinearModel(
        names, mean, scale, ridge.coef_.astype(np.float64), float(ridge.intercept_), float(ridge.alpha_)
    )


def to_score(linear: np.ndarray) -> np.ndarray:
    return np.clip(100.0 * linear, 0.0, 100.0)


# --- evaluation ---------------------------------------------------------------------------------


def spearman(a: np.ndarray, b: np.ndarray) -> float | None:
    from scipy.stats import spearmanr

    if len(a) < 3 or np.all(a == a[0]) or np.all(b == b[0]):
        return None
    return float(spearmanr(a, b).statistic)


def ndcg_at_k(truth: np.ndarray, predicted: np.ndarray, k: int = NDCG_K) -> float | None:
    """NDCG@k of ranking by `predicted`, with the true percentiles (0-100) as gains."""
    if len(truth) == 0:
        return None
    k = min(k, len(truth))
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    ranked = truth[np.argsort(-predicted, kind="stable")[:k]]
    ideal = np.sort(truth)[::-1][:k]
    best = float((ideal * discounts).sum())
    return float((ranked * discounts).sum()) / best if best > 0 else None


def random_ndcg(truth: np.ndarray, k: int = NDCG_K, rounds: int = 200, seed: int = 0) -> float | None:
    """What NDCG@k a random ranking gets on the same papers (the no-skill line)."""
    if len(truth) == 0:
        return None
    rng = np.random.default_rng(seed)
    values = [ndcg_at_k(truth, rng.random(len(truth)), k) for _ in range(rounds)]
    known = [v for v in values if v is not None]
    return float(np.mean(known)) if known else None


def time_split(
    years: np.ndarray, days: np.ndarray, test_fraction: float = TEST_FRACTION
) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) index arrays: the newest `test_fraction` of papers by (year, day) are the test."""
    order = np.lexsort((days, years))
    cut = int(round(len(order) * (1 - test_fraction)))
    # Keep a year on one side where possible: move the cut back to the start of its year.
    boundary_year = years[order[cut]] if cut < len(order) else None
    if boundary_year is not None:
        first = int(np.searchsorted(years[order], boundary_year, side="left"))
        if first >= len(order) * 0.5:
            cut = first
    return order[:cut], order[cut:]


@dataclass
class Training:
    model: LinearModel | None
    space: FeatureSpace | None
    card: dict[str, Any] = field(default_factory=dict)


def _years_span(values: np.ndarray) -> list[int]:
    return [int(values.min()), int(values.max())] if len(values) else []


def train_ai_score(
    base: np.ndarray,
    vectors: np.ndarray,
    categories: Sequence[str | None],
    years: Sequence[int | None],
    dates: Sequence[date | None],
    labels: np.ndarray,
    label_sources: Sequence[str | None],
    min_labelled: int = MIN_LABELLED,
) -> Training:
    """Evaluate on a time split, then fit on every labelled paper. Too few labels: no model."""
    labelled = np.flatnonzero(~np.isnan(labels))
    source_counts = Counter(label_sources[i] for i in labelled)
    card: dict[str, Any] = {
        "n_labelled": int(len(labelled)),
        "label_sources": dict(sorted(source_counts.items())),
        "min_labelled": min_labelled,
    }
    if len(labelled) < min_labelled:
        card["status"] = "insufficient"
        card["reason"] = (
            f"only {len(labelled)} papers have a known, field- and age-normalisable citation count; "
            f"at least {min_labelled} are needed to train the AI Score, so no paper gets one"
        )
        return Training(None, None, card)

    y = labels / 100.0
    year_arr = np.array([years[i] for i in labelled], dtype=np.int64)
    day_arr = np.array([dates[i].toordinal() if dates[i] else 0 for i in labelled], dtype=np.int64)
    # Each count source is split on its own: its older papers train, its newest ones test (sources
    # cover different eras, and one global cut would test some on years they never trained on).
    train_parts, test_parts = [], []
    source_arr = np.array([label_sources[i] or "" for i in labelled])
    for source in sorted(set(source_arr.tolist())):
        members = np.flatnonzero(source_arr == source)
        tr, te = time_split(year_arr[members], day_arr[members])
        train_parts.append(members[tr])
        test_parts.append(members[te])
    train_pos, test_pos = np.concatenate(train_parts), np.concatenate(test_parts)
    train, test = labelled[train_pos], labelled[test_pos]
    cats = list(categories)

    space = fit_feature_space(vectors[train], [cats[i] for i in train])
    X_train = space.build(base[train], vectors[train], [cats[i] for i in train])
    X_test = space.build(base[test], vectors[test], [cats[i] for i in test])
    model = fit_linear(X_train, y[train], space.names)
    predicted = model.linear(X_test)
    truth = labels[test]
    by_source: dict[str, Any] = {}
    for source in sorted({label_sources[i] for i in test if label_sources[i]}):
        mask = np.array([label_sources[i] == source for i in test])
        by_source[source] = {
            "n": int(mask.sum()),
            "spearman": spearman(truth[mask], predicted[mask]),
            "ndcg@20": ndcg_at_k(truth[mask], predicted[mask]),
            "ndcg@20_random": random_ndcg(truth[mask]),
        }
    card["evaluation"] = {
        "split": f"time: within each count source, trained on its older papers and tested on its newest "
        f"{TEST_FRACTION:.0%} by publication date (whole years kept together); {len(test)} test papers",
        "train": {"n": int(len(train)), "years": _years_span(year_arr[train_pos])},
        "test": {"n": int(len(test)), "years": _years_span(year_arr[test_pos])},
        "years_by_label_source": {
            source: {
                "train": _years_span(year_arr[train_pos][source_arr[train_pos] == source]),
                "test": _years_span(year_arr[test_pos][source_arr[test_pos] == source]),
            }
            for source in sorted(set(source_arr.tolist()))
        },
        "spearman": spearman(truth, predicted),
        "ndcg@20": ndcg_at_k(truth, predicted),
        "ndcg@20_random": random_ndcg(truth),
        "mean_absolute_error_points": float(np.mean(np.abs(to_score(predicted) - truth))),
        "by_label_source": by_source,
    }

    space = fit_feature_space(vectors[labelled], [cats[i] for i in labelled])
    X_all = space.build(base[labelled], vectors[labelled], [cats[i] for i in labelled])
    model = fit_linear(X_all, y[labelled], space.names)
    order = np.argsort(-np.abs(model.coef))
    card.update(
        {
            "status": "trained",
            "model": "ridge regression on standardised features (alpha chosen by leave-one-out CV)",
            "alpha": model.alpha,
            "n_trained": int(len(labelled)),
            "years": _years_span(np.array([years[i] for i in labelled])),
            "categories": dict(Counter(cats[i] or "none" for i in labelled).most_common()),
            "features": space.names,
            "strongest_features": [[model.names[j], round(float(model.coef[j]), 5)] for j in order[:12]],
        }
    )
    return Training(model, space, card)


def explain_rows(model: LinearModel, X: np.ndarray, top: int = 8) -> list[dict[str, Any]]:
    """Per paper: the baseline, the `top` largest feature terms, and the rest summed as "other"."""
    terms = model.contributions(X)
    order = np.argsort(-np.abs(terms), axis=1, kind="stable")[:, :top]
    shown_terms = np.take_along_axis(terms, order, axis=1)
    shown_values = np.round(np.take_along_axis(X, order, axis=1), 6).tolist()
    others = (terms.sum(axis=1) - shown_terms.sum(axis=1)).tolist()
    shown_terms_list = shown_terms.tolist()
    names = model.names
    out = []
    for i, columns in enumerate(order.tolist()):
        shown = [[names[j], shown_values[i][m], shown_terms_list[i][m]] for m, j in enumerate(columns)]
        out.append({"baseline": model.intercept, "contributions": shown, "other": others[i]})
    return out


def compute_author_ai_score(paper_scores: dict[str, Sequence[float | None]]) -> dict[str, float | None]:
    """Author AI Score: the mean over their papers that have one."""
    out: dict[str, float | None] = {}
    for author, values in paper_scores.items():
        known = [v for v in values if v is not None and not np.isnan(v)]
        out[author] = float(np.mean(known)) if known else None
    return out
