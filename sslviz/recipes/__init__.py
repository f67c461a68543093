"""What each page runs and publishes, built on :func:`sslviz.experiment.run` and submitted to the runner (:mod:`sslviz.jobs`).

- :mod:`sslviz.recipes.experiment`: one live run (or a loaded checkpoint/bundle) with its live views;
- :mod:`sslviz.recipes.compare`: several runs under one budget; k-means on four feature sets;
- :mod:`sslviz.recipes.downstream`: label efficiency, attribute probes, weak supervision.
"""

from sslviz.recipes.compare import (
           backbone_note,
           clustering_comparison_job,
           comparison_job,
           encoder_width,
           mechanism_runs,
           model_snapshot,
           random_init_features,
           random_init_snapshot,
           same_settings,
           shared_width,
           step_seconds,
)
from sslviz.recipes.downstream import (
           backbone_factory,
           backbone_width,
           downstream_job,
           supervised_preset,
           weak_supervision_job,
)
from sslviz.recipes.experiment import (
           FEW_LABELS,
           LivePublisher,
           Target,
           bundle_source,
           experiment_job,
           pretrained_source,
           round_tracker,
           warm_up,
)

__all__ = ["FEW_LABELS", "LivePublisher", "Target", "backbone_factory", "backbone_note", "backbone_width", "bundle_source", "clustering_comparison_job", "comparison_job", "downstream_job", "encoder_width", "experiment_job", "mechanism_runs", "model_snapshot",
           "pretrained_source", "random_init_features", "random_init_snapshot", "round_tracker", "same_settings", "shared_width", "step_seconds", "supervised_preset", "warm_up", "weak_supervision_job"]
