"""Evaluation metrics on embeddings and scores, host-side numpy (one topic per file).

- `zoo.metrics.retrieval`: `retrieval_metrics` (recall@k, precision@k, MAP@R, mAP), `recall_at_k`,
  `class_centroids`, `nearest_centroid_accuracy`, in any `zoo.geometry`.
- `zoo.metrics.fewshot`: `confidence_interval` (mean ± 95% CI), `evaluate_episodes`.
- `zoo.metrics.hyperbolicity`: `delta_hyperbolicity` (δ, δ_rel), `gromov_delta`, `pairwise_distances`,
  `suggest_curvature`, `DISK_DELTA_REL`.
- `zoo.metrics.uncertainty`: `distance_to_origin` OOD scores, `max_softmax_probability`, `auroc`, `ood_auroc`,
  `fpr_at_tpr`, `ood_report`.
- `zoo.metrics.reid`: `evaluate_rank` (the re-ID protocol: CMC, mAP in the non-interpolated and Market variants,
  mINP, same-pid-same-camera removal, query-chunked); `zoo.metrics.re_ranking`: k-reciprocal re-ranking (dense
  reference and a memory-light sparse version); `zoo.metrics.query_expansion`: α-query expansion.
- `zoo.metrics.long_tail`: `long_tail_accuracy` (head / medium / tail).
- `zoo.metrics.calibration`: `expected_calibration_error` (DL2PA's 15-bin ECE, reliability-diagram bins).
- `zoo.metrics.verification`: `equal_error_rate` (EER of a confidence score vs correctness), the exponential-triplet
  'range' classifier (`range_votes`, `range_scores`, `range_accuracy`).
- `zoo.metrics.distarc`: `distarc_predictions` (DistArc's nearest radial proxy, the code's Accuracy1, angular),
  `distarc_geometry`.

Example:
    >>> zoo.metrics.retrieval_metrics(test_emb, y_test, train_emb, y_train, ks=(1, 5))["recall@1"]
"""

from zoo.metrics.calibration import expected_calibration_error
from zoo.metrics.distarc import distarc_geometry, distarc_predictions
from zoo.metrics.fewshot import confidence_interval, evaluate_episodes
from zoo.metrics.hyperbolicity import (
    DISK_DELTA_REL,
    delta_hyperbolicity,
    gromov_delta,
    pairwise_distances,
    suggest_curvature,
)
from zoo.metrics.long_tail import long_tail_accuracy
from zoo.metrics.query_expansion import query_expansion
from zoo.metrics.re_ranking import re_ranking
from zoo.metrics.reid import AP_VARIANTS, evaluate_rank
from zoo.metrics.retrieval import class_centroids, nearest_centroid_accuracy, recall_at_k, retrieval_metrics
from zoo.metrics.uncertainty import (
    auroc,
    distance_to_origin,
    fpr_at_tpr,
    max_softmax_probability,
    ood_auroc,
    ood_report,
)
from zoo.metrics.verification import equal_error_rate, range_accuracy, range_scores, range_votes

__all__ = [
    "equal_error_rate", "range_votes", "range_scores", "range_accuracy",
    "expected_calibration_error", "distarc_predictions", "distarc_geometry",
    "confidence_interval", "evaluate_episodes",
    "delta_hyperbolicity", "gromov_delta", "pairwise_distances", "suggest_curvature", "DISK_DELTA_REL",
    "long_tail_accuracy",
    "evaluate_rank", "AP_VARIANTS", "re_ranking", "query_expansion",
    "retrieval_metrics", "recall_at_k", "class_centroids", "nearest_centroid_accuracy",
    "distance_to_origin", "max_softmax_probability", "auroc", "ood_auroc", "fpr_at_tpr", "ood_report",
]
