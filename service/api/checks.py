"""``POST /v1/checks/*``: the Litestar routes of the checks on caller-provided arrays.

Thin controllers: the request Structs and the ``run_*`` adapters are in ``service.checks`` (shared
with the gRPC check RPCs); each route runs its adapter in a worker thread.
"""

from __future__ import annotations

import anyio
from litestar import Controller, post
from litestar.datastructures import State

from service.analysis.agreement import AgreementResult
from service.analysis.duplicates import DuplicatesResult
from service.analysis.imbalance import ImbalanceResult
from service.analysis.mislabels import MislabelsResult
from service.analysis.sample_size import SampleSizeResult
from service.api.problems import problem_responses
from service.checks.duplicates import DuplicatesRequest, run_duplicates
from service.checks.imbalance import ImbalanceRequest, run_imbalance
from service.checks.mislabels import (
    AgreementRequest,
    MislabelsRequest,
    run_agreement,
    run_mislabels,
)
from service.checks.sample_size import SampleSizeRequest, run_sample_size


class DuplicatesCheckController(Controller):
    path = "/v1/checks"
    tags = ["checks"]

    @post(
        "/duplicates",
        summary="Which items are exact or near copies? Leakage across splits, label conflicts",
        description=(
            "Exact copies by equal `byte_hashes` (same bytes) and `pixel_hashes` (same decoded "
            "pixels), near copies by cosine similarity >= `threshold` (exact search up to 20k "
            "items, an inverted-file search with measured recall above). Exact copies form their "
            "groups whole; near pairs group by star linkage (an item joins a group only as a near "
            "copy of its representative, so chains of look-alikes never merge). Each group names "
            "a member to keep (test before val before train, then the majority label, then input "
            "order) and the rest to drop; evaluation members are never dropped. When too many pairs "
            "reach the threshold it is raised until they fit, with a note. Leakage: "
            "groups spanning splits, counted per split pair. Label conflicts: groups whose "
            "members disagree. Outliers: mean cosine distance to the `outlier_k` nearest "
            "neighbours above Q3 + `iqr_factor` * IQR."
        ),
        status_code=200,
        responses=problem_responses(400, 401, 413, 422),
    )
    async def duplicates(self, state: State, data: DuplicatesRequest) -> DuplicatesResult:
        return await anyio.to_thread.run_sync(run_duplicates, data, state.settings.max_items)


class ImbalanceCheckController(Controller):
    path = "/v1/checks/imbalance"
    tags = ["checks"]

    @post(
        "/",
        summary="How skewed are the classes, and what weights or resampling fix it?",
        description=(
            "Counts, proportions, imbalance ratio, normalised entropy, minority classes; class "
            "weights (inverse frequency, inverse sqrt, effective number, median frequency), each "
            "normalised to N; an oversampling/undersampling plan; label drift between splits "
            "(total variation, chi-square p-value); with embeddings, a class hierarchy grouping "
            "rare classes with their nearest frequent ones."
        ),
        status_code=200,
        responses=problem_responses(400, 401, 413, 422),
    )
    async def imbalance(self, state: State, data: ImbalanceRequest) -> ImbalanceResult:
        return await anyio.to_thread.run_sync(run_imbalance, data, state.settings.max_items)


class MislabelsCheckController(Controller):
    path = "/v1/checks"
    tags = ["checks"]

    @post(
        "/mislabels",
        summary="Which labels are most likely wrong? Ranking, suggested labels, per-class noise",
        description=(
            "Predicted probabilities come from a 5-fold linear probe on `embeddings` (out of "
            "sample, whitened PCA) or from your model (`probabilities` or `logits`, columns in "
            "`class_names` order). Each item is scored by self-confidence `p[i, y_i]` "
            "(labelfix), normalised margin and, with embeddings, the agreement of its nearest "
            "neighbours' labels; confident learning (Northcutt et al. 2021) marks the estimated "
            "issue set and gives per-class noise rates and confusable pairs. Candidates: the "
            "`top_fraction` lowest-scoring items plus every confident-learning issue and "
            "duplicate-conflict item, most suspicious first."
        ),
        status_code=200,
        responses=problem_responses(400, 401, 413, 422),
    )
    async def mislabels(self, state: State, data: MislabelsRequest) -> MislabelsResult:
        return await anyio.to_thread.run_sync(run_mislabels, data, state.settings.max_items)

    @post(
        "/agreement",
        summary="Do the annotators agree? Consensus, Fleiss' and Cohen's kappa, disputed items",
        status_code=200,
        responses=problem_responses(400, 401, 413, 422),
    )
    async def agreement(self, state: State, data: AgreementRequest) -> AgreementResult:
        return await anyio.to_thread.run_sync(run_agreement, data, state.settings.max_items)


class SampleSizeCheckController(Controller):
    path = "/v1/checks/sample-size"
    tags = ["checks"]

    @post(
        "/",
        summary="Is there enough data? Learning curve, saturating fit, images needed",
        description=(
            "With `embeddings` and `labels`: linear probes on stratified subsets (default "
            "5/10/20/35/50 % of the pool, 5 repeats, plus the full pool) scored on a held-out "
            "split; a saturating inverse power law `a - b n^-c` and the keras `a n^b` are fitted; "
            "predictions at 2x/5x/10x, images needed for `target_accuracy` with a bootstrap "
            "interval, per-class images for `target_recall`. With `observations`: the same fit "
            "and extrapolation on your own runs."
        ),
        status_code=200,
        responses=problem_responses(400, 401, 413, 422),
    )
    async def sample_size(self, state: State, data: SampleSizeRequest) -> SampleSizeResult:
        return await anyio.to_thread.run_sync(run_sample_size, data, state.settings.max_items)
