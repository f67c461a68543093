"""Evaluation, one module per protocol (docs/ARCHITECTURE.md, "Evaluation protocol").

- :mod:`sslviz.evaluate.frozen`: frozen features — linear probe, kNN, few-label probe, baselines, attribute probes;
- :mod:`sslviz.evaluate.clustering`: clustering metrics (NMI, ARI, stability) and DeepCluster's round scoring;
- :mod:`sslviz.evaluate.supervised`: with labels — fine-tuning, training from scratch, label efficiency, weak supervision.

The names are re-exported here, so ``evaluate.linear_probe`` and the like read as one API.
"""

from sslviz.evaluate.clustering import (
    ari,
    changed_fraction,
    cluster_cues,
    contingency,
    empty_cluster_demo,
    kmeans_scores,
    nmi,
    score_round,
)
from sslviz.evaluate.frozen import (
    ATTRIBUTE_READERS,
    KNN_K,
    PROBE_C,
    PROBE_MAX_ITER,
    as_numpy,
    attribute_probes,
    attribute_targets,
    chance_levels,
    confusion_matrix,
    evaluate_encoder,
    evaluate_features,
    extract_features,
    few_label_probe,
    knn_accuracy,
    layer_scores,
    linear_probe,
    nearest_neighbours,
    probe_predictions,
    random_init_baseline,
    raw_pixel_baseline,
)
from sslviz.evaluate.supervised import (
    FINE_TUNE_ENCODER_LR_SCALE,
    LABEL_FRACTIONS,
    MODES,
    SCRATCH,
    SupervisedConfig,
    fine_tune,
    label_efficiency,
    label_subset,
    noisy_labels,
    summarise,
    supervised_from_scratch,
    train_classifier,
    weakly_supervised,
)

__all__ = [
    "ATTRIBUTE_READERS", "FINE_TUNE_ENCODER_LR_SCALE", "KNN_K", "LABEL_FRACTIONS", "MODES", "PROBE_C", "PROBE_MAX_ITER", "SCRATCH",
    "SupervisedConfig", "ari", "as_numpy", "attribute_probes", "attribute_targets", "chance_levels", "changed_fraction", "cluster_cues",
    "confusion_matrix", "contingency", "empty_cluster_demo", "evaluate_encoder", "evaluate_features", "extract_features", "few_label_probe", "fine_tune",
    "kmeans_scores", "knn_accuracy", "label_efficiency", "label_subset", "layer_scores", "linear_probe", "nearest_neighbours", "nmi", "noisy_labels",
    "probe_predictions", "random_init_baseline", "raw_pixel_baseline", "score_round", "summarise", "supervised_from_scratch",
    "train_classifier", "weakly_supervised",
]
