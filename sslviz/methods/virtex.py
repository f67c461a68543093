"""VirTex (Desai & Johnson, 2021): pre-train the image encoder by writing the caption.

    image ──CNN──> features ──> GRU decoder ──> "a small red triangle at the top left"

The encoder is trained only through the captioning loss (cross-entropy of each next word), so
its features must hold everything the caption names: shape, colour, size and position. After
pre-training the decoder is thrown away and the encoder is evaluated like any other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from sslviz import augment, data
from sslviz.methods.base import CHANNELS, DIM, PRESETS, WIDTH, Method
from sslviz.methods.crossmodal import without_held_out
from sslviz.methods.paired_scores import caption_scores
from sslviz.methods.registry import MethodSpec
from sslviz.nets import CaptionDecoder, SmallCNN, eval_mode
from sslviz.setting import Config, internal


@dataclass(frozen=True)
class VirTexConfig(Config):
    """VirTex's settings: image encoder width and the decoder's hidden size."""

    in_channels: int = internal(3, CHANNELS)
    width: int = internal(16, WIDTH)
    decoder_dim: int = internal(128, DIM)
    augment: str = internal("none", PRESETS)


class VirTex(Method):
    """A CNN encoder and a GRU captioner trained with next-word cross-entropy (teacher forcing)."""

    name = "virtex"

    def __init__(self, config: VirTexConfig = VirTexConfig()) -> None:
        super().__init__()
        self.config = config
        self.augment = augment.preset(config.augment)
        self.encoder = SmallCNN(config.in_channels, config.width)
        self.decoder = CaptionDecoder(self.encoder.out_dim, len(data.VOCAB), config.decoder_dim)

    def inputs(self, dataset: data.Dataset) -> dict[str, torch.Tensor]:
        pairs = data.pairs(dataset, "text")
        return without_held_out(dataset, {"images": pairs["images"], "caption": pairs["caption"]})

    def training_step(self, batch: dict[str, torch.Tensor], generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        images = augment.augment(batch["images"], self.augment, generator)
        caption = batch["caption"]  # B×L: <bos> words <eos> <pad>...
        logits = self.decoder(self.encoder(images), caption[:, :-1])  # B×(L-1)×V: predict word t+1 from words <= t
        target = caption[:, 1:]
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1), ignore_index=data.PAD)
        with torch.no_grad():
            real = target != data.PAD
            word_acc = (logits.argmax(-1) == target)[real].float().mean()
        return {"loss": loss, "word_acc": word_acc}

    @torch.no_grad()
    def caption(self, images: torch.Tensor) -> list[str]:
        """Greedy captions for ``images``."""
        with eval_mode(self):
            device = next(self.parameters()).device
            ids = self.decoder.generate(self.encoder(images.to(device)), data.BOS, data.EOS, data.CAPTION_LENGTH - 1)
        return [data.detokenize(row) for row in ids.cpu()]

    def report(self, test: data.Dataset) -> dict[str, Any]:
        """``multimodal``: how often the generated captions name the true shape, colour, size and position."""
        return {"multimodal": caption_scores(self, test)}

    @torch.no_grad()
    def snapshot(self, batch: dict[str, torch.Tensor] | torch.Tensor, generator: torch.Generator | None = None) -> dict[str, Any]:
        """Generated captions for the batch's images (with the true ones when the batch has them)."""
        images = batch["images"] if isinstance(batch, dict) else batch
        out: dict[str, Any] = {"generated": self.caption(images)}
        if isinstance(batch, dict) and "caption" in batch:
            out["true"] = [data.detokenize(row[1:]) for row in batch["caption"].cpu()]
        return out


SPEC = MethodSpec(
    "virtex", "VirTex", "multi-modal", VirTex, VirTexConfig,
    "Multi-modal: pre-train the image encoder by generating the image's caption word by word.",
    train={"batch_size": 128, "lr": 2e-3},
    pairs="text",
    code=(VirTex.training_step,),
)
