"""DeepCluster (Caron et al., 2018): cluster the features, learn to predict the clusters, repeat.

    round r:  features f(x) of every training image ──PCA-whiten──> k-means (k clusters)
              ──> pseudo-label y(x) ∈ {0..k−1};  fresh linear classifier c
    steps:    minimise cross-entropy(c(f(aug(x))), y(x)) for ``steps_per_round`` steps
    round r+1: the improved features give new clusters ...

A random CNN already groups images a little (by colour, brightness, position); training on
those groups sharpens the features, which gives better groups. Two trivial solutions lurk:
empty clusters (k-means fix in ``sslviz.cluster``) and a few huge clusters that the classifier
can always predict (fix: sample batches uniformly over the pseudo-labels). Both fixes are
switches, so the page can show what happens without them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from sslviz import augment
from sslviz.cluster import kmeans, pca_whiten
from sslviz.methods.base import CHANNELS, WIDTH, Method
from sslviz.methods.registry import MethodSpec
from sslviz.nets import SmallCNN, SobelCNN, eval_mode, frozen_features
from sslviz.setting import Config, internal, setting

LESSON_ROUNDS = 3  # a run on the Deep clustering page shows at least this many clusterings: pseudo-labels changing is the lesson


def steps_for_rounds(steps_per_round: int, rounds: int = LESSON_ROUNDS) -> int:
    """Training steps until the ``rounds``-th clustering has been made and trained on (a round starts every ``steps_per_round`` steps)."""
    if steps_per_round < 1 or rounds < 1:
        raise ValueError(f"steps_per_round and rounds must be >= 1, got {steps_per_round} and {rounds}.")
    return (rounds - 1) * steps_per_round + 1


@dataclass(frozen=True)
class DeepClusterConfig(Config):
    """Hyper-parameters; the defaults suit ``digits`` and ``shapes`` within a minute."""

    in_channels: int = internal(1, CHANNELS)
    width: int = internal(16, WIDTH)
    k: int = setting(30, "Clusters k", tuple(range(2, 101)), "The paper over-clusters: more clusters than classes.")  # more clusters than classes, as in the paper (k = 10,000 for 1,000 ImageNet classes)
    pca_dim: int = internal(32, (1, 256))
    whiten: bool = setting(True, "PCA-whiten features", help="Whiten + L2-normalise the features before k-means (as in the paper).")  # PCA-whiten + L2-normalise the features before k-means (as the paper); off: k-means on the raw features
    steps_per_round: int = setting(50, "Steps per round", (10, 25, 50, 100, 200), "Training steps between two clusterings.", valid=(1, 10_000))  # measured: 50-100 beat 25 (the classifier needs time after each reset)
    kmeans_iterations: int = internal(20, (1, 1000))
    fix_empty: bool = setting(True, "Refill empty clusters")
    uniform_sampling: bool = setting(True, "Sample uniformly over clusters", help="Off: batches sample images uniformly, so a huge cluster dominates the loss.")  # batches sample pseudo-labels uniformly, then an image of that cluster
    sobel: bool = setting(True, "Sobel input", help="Grey-scale + edge filter before the CNN (as in the paper): colour can no longer drive the clusters.")  # grey-scale + Sobel edges in front of the CNN, as in the paper. Off, shapes cluster by colour (NMI with shape 0.16 vs 0.49, 30 s)
    augment: str = setting("digits", "Augmentations", tuple(augment.PRESETS), "The dataset's own preset is the default.")

    def __post_init__(self) -> None:
        super().__post_init__()


class DeepCluster(Method):
    """A CNN and a linear classifier trained on k-means pseudo-labels that are renewed every round."""

    name = "deepcluster"

    def __init__(self, config: DeepClusterConfig = DeepClusterConfig()) -> None:
        super().__init__()
        self.config = config
        self.augment = augment.preset(config.augment)
        self.encoder = (SobelCNN if config.sobel else SmallCNN)(config.in_channels, config.width)
        self.classifier = nn.Linear(self.encoder.out_dim, config.k)
        self.images: torch.Tensor | None = None
        self.pseudo_labels: torch.Tensor | None = None
        self.rounds: list[dict[str, Any]] = []  # one record per clustering: labels, sizes, empty clusters, ...
        self.steps_in_round = 0
        self.reinitialised: list[nn.Parameter] = []  # parameters reset since the Trainer last asked

    def begin(self, images: torch.Tensor) -> None:
        """Keep the whole training set: every round clusters all of it."""
        if images.shape[0] < self.config.k:
            raise ValueError(f"k = {self.config.k} clusters need at least {self.config.k} images, got {images.shape[0]}.")
        self.images, self.pseudo_labels, self.rounds, self.steps_in_round = images, None, [], 0

    @torch.no_grad()
    def cluster(self, images: torch.Tensor, generator: torch.Generator | None = None) -> Any:
        """k-means on PCA-whitened, L2-normalised frozen features of ``images``."""
        c = self.config
        features = frozen_features(self.encoder, images)
        if c.whiten:
            features = pca_whiten(features, c.pca_dim)
        return kmeans(features, c.k, c.kmeans_iterations, c.fix_empty, generator)

    def new_round(self, generator: torch.Generator | None = None) -> None:
        """Re-cluster every training image, replace the pseudo-labels, reset the classifier."""
        result = self.cluster(self.images, generator)
        sizes = torch.bincount(result.labels, minlength=self.config.k)
        self.pseudo_labels = result.labels
        self.classifier.reset_parameters()  # the old classifier's outputs mean nothing for the new cluster ids
        self.reinitialised = list(self.classifier.parameters())  # and its optimiser state neither: the Trainer drops it
        self.rounds.append({"round": len(self.rounds) + 1, "labels": result.labels.cpu().numpy(), "sizes": sizes.cpu().numpy(),
                            "empty": result.empty, "refilled": result.refilled})
        self.steps_in_round = 0

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Indices of a batch: uniform over pseudo-labels (then over their members), or uniform over images."""
        labels, device = self.pseudo_labels, self.images.device
        if not self.config.uniform_sampling:
            return torch.randint(len(labels), (n,), generator=generator, device=device)
        counts = torch.bincount(labels, minlength=self.config.k)
        clusters = torch.nonzero(counts).flatten()
        order = labels.argsort()  # members of cluster c are order[start[c] : start[c] + counts[c]]
        start = counts.cumsum(0) - counts
        pick = clusters[torch.randint(len(clusters), (n,), generator=generator, device=device)]
        offset = (torch.rand(n, generator=generator, device=device) * counts[pick]).long()
        return order[start[pick] + offset]

    def training_step(self, batch: torch.Tensor, generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        if self.images is None:  # called outside the Trainer: treat this batch as the dataset
            self.begin(batch)
        if self.pseudo_labels is None or self.steps_in_round >= self.config.steps_per_round:
            self.new_round(generator)
        idx = self.sample(batch.shape[0], generator)
        x = augment.augment(self.images[idx], self.augment, generator)
        logits = self.classifier(self.encoder(x))  # B×k
        target = self.pseudo_labels[idx]
        loss = F.cross_entropy(logits, target)
        self.steps_in_round += 1
        last = self.rounds[-1]
        return {"loss": loss, "pseudo_label_acc": (logits.argmax(1) == target).float().mean().detach(),
                "round": torch.tensor(float(last["round"])), "empty_clusters": torch.tensor(float(last["empty"])),
                "largest_cluster": torch.tensor(float(last["sizes"].max() / last["sizes"].sum()))}

    def take_reinitialised(self) -> list[nn.Parameter]:
        taken, self.reinitialised = self.reinitialised, []
        return taken

    def rounds_so_far(self) -> list[dict[str, Any]]:
        return self.rounds

    def on_loaded(self, train_images: torch.Tensor, generator: torch.Generator) -> None:
        """A loaded model kept no rounds: cluster its final features once, so the round views have one record."""
        result = self.cluster(train_images, generator)
        sizes = torch.bincount(result.labels, minlength=self.config.k)
        self.rounds = [{"round": 1, "labels": result.labels.cpu().numpy(), "sizes": sizes.cpu().numpy(), "empty": result.empty, "refilled": result.refilled}]

    @torch.no_grad()
    def snapshot(self, batch: torch.Tensor, generator: torch.Generator | None = None) -> dict[str, Any]:
        """Cluster assignment of each image in ``batch`` by the current classifier."""
        with eval_mode(self):
            logits = self.classifier(self.encoder(batch))
        return {"images": batch.cpu(), "cluster": logits.argmax(1).cpu(), "rounds": len(self.rounds)}


SPEC = MethodSpec(
    "deepcluster", "DeepCluster", "clustering", DeepCluster, DeepClusterConfig,
    "Deep clustering: k-means on the features gives pseudo-labels, the network learns to predict them, repeat.",
    train={"batch_size": 256, "lr": 1e-3},
    overrides={"digits": {"steps_per_round": 100}},
    dataset_augment=True,
    code=(DeepCluster.new_round, DeepCluster.sample, DeepCluster.training_step, kmeans),
    diagram=(("images x", "CNN f → features"), ("CNN f → features", "PCA-whiten + k-means"), ("PCA-whiten + k-means", "pseudo-labels y"),
             ("pseudo-labels y", "train f + fresh classifier\n(cross-entropy)"), ("images x", "train f + fresh classifier\n(cross-entropy)"),
             ("train f + fresh classifier\n(cross-entropy)", "CNN f → features", "next round")),
)
