"""Tiny networks that train in seconds on a laptop CPU.

``SmallCNN`` is the backbone the CNN methods share (three conv blocks, global average pool);
``MLPHead`` is the one generic head class, and ``projection_head`` its SimCLR-style preset.
``SobelCNN`` puts DeepCluster's fixed edge filter in front of a ``SmallCNN``. ``TinyViT`` and
``MAEDecoder`` are MAE's transformer encoder (patch tokens) and light decoder.
"""

from __future__ import annotations

import contextlib
from typing import Iterator

import torch
import torch.nn.functional as F
from torch import nn

from sslviz import pretext


@contextlib.contextmanager
def eval_mode(module: nn.Module) -> Iterator[nn.Module]:
    """Put ``module`` in eval mode (batch norm uses running statistics), then restore its mode."""
    was_training = module.training
    module.eval()
    try:
        yield module
    finally:
        module.train(was_training)


@torch.no_grad()
def frozen_features(encoder: nn.Module, images: torch.Tensor, batch_size: int = 1024) -> torch.Tensor:
    """Features of ``images`` from ``encoder`` in eval mode, without gradients, in chunks, on the encoder's device."""
    device = next(encoder.parameters()).device
    with eval_mode(encoder):
        return torch.cat([encoder(chunk.to(device)) for chunk in images.split(batch_size)])


def global_average_pool(x: torch.Tensor) -> torch.Tensor:
    """B×C×h×w -> B×C: ``x.mean(dim=(2, 3))`` as a sum divided on the small side. Same values; its backward hands the ReLU
    below a broadcast view of the gradient, where mean's divides into a full-size copy first (an extra pass)."""
    return x.sum(dim=(2, 3)) / (x.shape[2] * x.shape[3])


def conv_block(c_in: int, c_out: int, pool: bool) -> nn.Sequential:
    """3×3 conv → batch norm → ReLU (→ 2×2 max pool), computed as conv → BN (→ pool) → ReLU: the same values and gradients
    (ReLU is monotone), a quarter of the ReLU's memory traffic; parameter names unchanged, so saved models load."""
    layers: list[nn.Module] = [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out)]
    layers += [nn.MaxPool2d(2), nn.ReLU(inplace=True)] if pool else [nn.ReLU(inplace=True)]
    return nn.Sequential(*layers)


class SmallCNN(nn.Module):
    """Three conv blocks (width w, 2w, 4w) and a global average pool: B×C×H×W -> B×4w.

    Small enough that a 256-image batch trains in a fraction of a second on two CPU cores.
    """

    def __init__(self, in_channels: int = 1, width: int = 32) -> None:
        super().__init__()
        if in_channels < 1 or width < 1:
            raise ValueError(f"in_channels and width must be >= 1, got {in_channels} and {width}.")
        self.in_channels = in_channels
        self.width = width
        self.blocks = nn.Sequential(
            conv_block(in_channels, width, pool=True),
            conv_block(width, 2 * width, pool=True),
            conv_block(2 * width, 4 * width, pool=False),
        )
        self.out_dim = 4 * width
        # Channels-last: measured 1.36× faster SimCLR steps on 2 CPU cores (benchmarks/utilization.py).
        self.to(memory_format=torch.channels_last)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return global_average_pool(self.blocks(x.contiguous(memory_format=torch.channels_last)))

    def feature_map(self, x: torch.Tensor, layer: int = 3) -> torch.Tensor:
        """The B×C×h×w output of block ``layer`` (1, 2 or 3) before pooling."""
        if layer not in (1, 2, 3):
            raise ValueError(f"layer must be 1, 2 or 3, got {layer}.")
        return self.blocks[:layer](x.contiguous(memory_format=torch.channels_last))

    def layer_dim(self, layer: int) -> int:
        """Feature dimension after block ``layer``: width, 2·width or 4·width channels."""
        return self.width * (1, 2, 4)[layer - 1]


class LayerFeatures(nn.Module):
    """The features a method transfers: block ``layer`` of a ``SmallCNN``, globally average-pooled.

    Pretext tasks specialise the top layers to their task (RotNet's last block knows about
    rotations), so each pretext method evaluates its backbone at a chosen depth. ``grey``
    converts colour input to grey first, for backbones trained on grey images (colorization).
    """

    def __init__(self, backbone: SmallCNN, layer: int = 3, grey: bool = False) -> None:
        super().__init__()
        self.backbone, self.layer, self.grey = backbone, layer, grey
        self.out_dim = backbone.layer_dim(layer)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.grey:
            x = pretext.grey(x)
        return global_average_pool(self.backbone.feature_map(x, self.layer))


class ConvDecoder(nn.Module):
    """B×C×h×w feature map -> B×out_channels×(4h)×(4w) image in [0, 1]: two ×2 upsampling conv blocks."""

    def __init__(self, in_channels: int, out_channels: int, width: int = 16) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.ConvTranspose2d(in_channels, 2 * width, 4, stride=2, padding=1), nn.BatchNorm2d(2 * width), nn.ReLU(inplace=True),
            nn.ConvTranspose2d(2 * width, width, 4, stride=2, padding=1), nn.BatchNorm2d(width), nn.ReLU(inplace=True),
            nn.Conv2d(width, out_channels, 3, padding=1), nn.Sigmoid(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class MLPHead(nn.Module):
    """Linear layers with batch norm and ReLU between them: in_dim -> hidden_dim ... -> out_dim.

    ``output_norm`` adds a final batch norm without learnable scale/shift.
    """

    def __init__(self, in_dim: int, hidden_dim: int, out_dim: int, num_layers: int = 2, batch_norm: bool = True, output_norm: bool = False) -> None:
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"num_layers must be >= 1, got {num_layers}.")
        dims = [in_dim] + [hidden_dim] * (num_layers - 1) + [out_dim]
        layers: list[nn.Module] = []
        for i, (a, b) in enumerate(zip(dims[:-1], dims[1:])):
            last = i == num_layers - 1
            layers.append(nn.Linear(a, b, bias=last or not batch_norm))
            if not last:
                if batch_norm:
                    layers.append(nn.BatchNorm1d(b))
                layers.append(nn.ReLU(inplace=True))
        if output_norm:  # SimSiam's projector ends in batch norm (no affine), which keeps outputs spread
            layers.append(nn.BatchNorm1d(out_dim, affine=False))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def projection_head(in_dim: int, hidden_dim: int = 128, out_dim: int = 64) -> MLPHead:
    """SimCLR's projection head g(·): a 2-layer MLP whose output feeds the contrastive loss."""
    return MLPHead(in_dim, hidden_dim, out_dim, num_layers=2, batch_norm=True)


# ---------------------------------------------------------------------------------------------
# Tiny language models over word ids (for CLIP and VirTex): the vocabulary has ~30 words.


class TextEncoder(nn.Module):
    """B×L word ids -> B×out_dim: word embeddings, mean over the words (padding ignored), a linear map.

    A bag of words: order is lost, but every caption here names each attribute with its own word.
    Being linear after the average, it composes: "a triangle" points where the triangle part of
    every caption points, so short prompts work although no caption was that short (measured:
    with an MLP instead, zero-shot shape accuracy from "a circle"-style prompts varied 0.71–0.95).
    """

    def __init__(self, vocab_size: int, dim: int = 64, out_dim: int = 64, pad: int = 0) -> None:
        super().__init__()
        self.pad = pad
        self.embedding = nn.Embedding(vocab_size, dim, padding_idx=pad)
        self.project = nn.Linear(dim, out_dim)
        self.out_dim = out_dim

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        mask = (ids != self.pad).unsqueeze(-1).float()  # B×L×1
        pooled = (self.embedding(ids) * mask).sum(1) / mask.sum(1).clamp(min=1)  # B×dim
        return self.project(pooled)


class CaptionDecoder(nn.Module):
    """A GRU language model conditioned on image features (VirTex's decoder, shrunk).

    The image features set the initial hidden state; trained with teacher forcing to predict
    word t+1 from words ≤ t; ``generate`` decodes greedily from <bos>.
    """

    def __init__(self, feature_dim: int, vocab_size: int, dim: int = 128) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, dim)
        self.init = nn.Linear(feature_dim, dim)
        self.gru = nn.GRU(dim, dim, batch_first=True)
        self.out = nn.Linear(dim, vocab_size)

    def forward(self, features: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        """B×D features, B×L input ids -> B×L×vocab logits for the next word at each position."""
        h0 = torch.tanh(self.init(features)).unsqueeze(0)  # 1×B×dim
        states, _ = self.gru(self.embedding(ids), h0)
        return self.out(states)

    @torch.no_grad()
    def generate(self, features: torch.Tensor, bos: int, eos: int, max_len: int) -> torch.Tensor:
        """B×max_len greedily decoded ids (after <bos>; everything after <eos> is <eos>)."""
        h = torch.tanh(self.init(features)).unsqueeze(0)
        word = torch.full((features.shape[0], 1), bos, dtype=torch.long, device=features.device)
        out = []
        done = torch.zeros(features.shape[0], dtype=torch.bool, device=features.device)
        for _ in range(max_len):
            state, h = self.gru(self.embedding(word), h)
            word = self.out(state).argmax(-1)  # B×1
            word = torch.where(done.unsqueeze(1), torch.full_like(word, eos), word)
            done |= word.squeeze(1) == eos
            out.append(word)
        return torch.cat(out, dim=1)


# ---------------------------------------------------------------------------------------------
# A tiny Vision Transformer (for MAE): images become sequences of patch tokens.


def patchify(images: torch.Tensor, patch_size: int) -> torch.Tensor:
    """N×C×H×W -> N×L×(p·p·C): L = (H/p)·(W/p) patches in row-major order, pixels flattened (p, p, C)."""
    n, c, h, w = images.shape
    p = patch_size
    if h % p or w % p:
        raise ValueError(f"image size {h}×{w} is not divisible by the patch size {p}.")
    x = images.reshape(n, c, h // p, p, w // p, p)  # N, C, gh, p, gw, p
    return x.permute(0, 2, 4, 3, 5, 1).reshape(n, (h // p) * (w // p), p * p * c)


def unpatchify(patches: torch.Tensor, patch_size: int, channels: int, height: int, width: int) -> torch.Tensor:
    """Inverse of ``patchify``: N×L×(p·p·C) -> N×C×H×W."""
    n = patches.shape[0]
    p, gh, gw = patch_size, height // patch_size, width // patch_size
    x = patches.reshape(n, gh, gw, p, p, channels)
    return x.permute(0, 5, 1, 3, 2, 4).reshape(n, channels, height, width)


def sincos_positions(grid_h: int, grid_w: int, dim: int) -> torch.Tensor:
    """Fixed 2-D sine-cosine position embeddings, L×dim (as in MAE): half the channels encode the row, half the column."""
    if dim % 4:
        raise ValueError(f"the embedding width must be divisible by 4 for 2-D sin-cos positions, got {dim}.")
    freqs = 1.0 / 10000 ** (torch.arange(dim // 4, dtype=torch.float32) / (dim // 4))
    rows, cols = torch.meshgrid(torch.arange(grid_h, dtype=torch.float32), torch.arange(grid_w, dtype=torch.float32), indexing="ij")
    parts = [f(pos.reshape(-1, 1) * freqs) for pos in (rows, cols) for f in (torch.sin, torch.cos)]
    return torch.cat(parts, dim=1)


class Attention(nn.Module):
    """Multi-head self-attention; keeps the last attention map when ``keep_attention`` is set (for the page)."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"width {dim} must be divisible by the number of heads {heads}.")
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)
        self.keep_attention = False
        self.attention: torch.Tensor | None = None  # N×heads×L×L, only when keep_attention

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, length, dim = x.shape
        q, k, v = self.qkv(x).reshape(n, length, 3, self.heads, dim // self.heads).permute(2, 0, 3, 1, 4)  # each N×heads×L×d
        if self.keep_attention:  # the explicit softmax(QKᵀ/√d) — slower, but we can look at it
            weights = (q @ k.transpose(-2, -1) / (dim // self.heads) ** 0.5).softmax(dim=-1)
            self.attention = weights.detach()
            y = weights @ v
        else:
            y = F.scaled_dot_product_attention(q, k, v)  # the fused kernel
        return self.out(y.transpose(1, 2).reshape(n, length, dim))


class Block(nn.Module):
    """Pre-norm transformer block: x + attention(LN(x)), then x + MLP(LN(x))."""

    def __init__(self, dim: int, heads: int, mlp_ratio: int = 2) -> None:
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attn = Attention(dim, heads)
        self.mlp = nn.Sequential(nn.Linear(dim, mlp_ratio * dim), nn.GELU(), nn.Linear(mlp_ratio * dim, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class TinyViT(nn.Module):
    """Patch embedding + fixed positions + ``depth`` transformer blocks: B×C×H×W -> B×width.

    ``tokens(x, keep)`` encodes only the patches listed in ``keep`` (B×K indices) — MAE's trick:
    the encoder never sees the masked patches, so it processes K instead of L tokens.
    Calling the module mean-pools all patch tokens into one feature vector per image — or, with
    ``class_token``, returns a learned [CLS] token's output (as DINO does), whose attention over
    the patches ``class_attention`` reads.
    """

    def __init__(self, in_channels: int = 1, image_size: int = 28, patch_size: int = 4, width: int = 96, depth: int = 3, heads: int = 4,
                 class_token: bool = False) -> None:
        super().__init__()
        if image_size % patch_size:
            raise ValueError(f"image size {image_size} is not divisible by the patch size {patch_size}.")
        if min(in_channels, width, depth, heads) < 1:
            raise ValueError("in_channels, width, depth and heads must all be >= 1.")
        self.patch_size, self.in_channels, self.image_size = patch_size, in_channels, image_size
        self.grid = image_size // patch_size
        self.num_patches = self.grid**2
        self.out_dim = width
        self.patch_embed = nn.Linear(patch_size * patch_size * in_channels, width)
        self.register_buffer("pos", sincos_positions(self.grid, self.grid, width), persistent=False)
        self.blocks = nn.ModuleList(Block(width, heads) for _ in range(depth))
        self.norm = nn.LayerNorm(width)
        self.class_token = nn.Parameter(torch.randn(1, 1, width) * 0.02) if class_token else None

    def tokens(self, images: torch.Tensor, keep: torch.Tensor | None = None, replace: torch.Tensor | None = None, mask_token: torch.Tensor | None = None) -> torch.Tensor:
        """Encoded tokens: B×K×width for the kept patches, or B×L×width for all. ``replace`` (B×L bool) with ``mask_token``
        swaps hidden patches for a learned token instead of dropping them — the "encode everything" variant the page times."""
        x = self.patch_embed(patchify(images, self.patch_size)) + self.pos  # B×L×width
        if replace is not None and mask_token is not None:
            x = torch.where(replace.unsqueeze(-1), mask_token + self.pos, x)
        if keep is not None:
            x = torch.gather(x, 1, keep.unsqueeze(-1).expand(-1, -1, x.shape[-1]))  # B×K×width
        if self.class_token is not None:  # token 0: no position, it attends to every patch
            x = torch.cat([self.class_token.expand(x.shape[0], -1, -1), x], dim=1)
        for block in self.blocks:
            x = block(x)
        return self.norm(x)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        out = self.tokens(images)
        return out[:, 0] if self.class_token is not None else out.mean(dim=1)

    @torch.no_grad()
    def class_attention(self, images: torch.Tensor) -> torch.Tensor:
        """B×heads×grid×grid: how much the [CLS] token attends to each patch in the last block (rows sum to 1 with itself)."""
        if self.class_token is None:
            raise ValueError("class_attention needs a ViT built with class_token=True.")
        attn = self.blocks[-1].attn
        attn.keep_attention = True
        try:
            self.tokens(images)
        finally:
            attn.keep_attention = False
        weights = attn.attention[:, :, 0, 1:]  # B×heads×L: the class token's row, patches only
        attn.attention = None
        return weights.reshape(weights.shape[0], weights.shape[1], self.grid, self.grid)


class MAEDecoder(nn.Module):
    """Light decoder: visible tokens + mask tokens at the hidden positions -> pixels of every patch."""

    def __init__(self, encoder_width: int, num_patches: int, grid: int, patch_pixels: int, width: int = 64, depth: int = 1, heads: int = 4) -> None:
        super().__init__()
        self.embed = nn.Linear(encoder_width, width)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, width))
        nn.init.normal_(self.mask_token, std=0.02)
        self.register_buffer("pos", sincos_positions(grid, grid, width), persistent=False)
        self.blocks = nn.ModuleList(Block(width, heads) for _ in range(depth))
        self.norm = nn.LayerNorm(width)
        self.head = nn.Linear(width, patch_pixels)
        self.num_patches = num_patches

    def forward(self, tokens: torch.Tensor, keep: torch.Tensor | None) -> torch.Tensor:
        """``tokens`` B×K×D_enc for the patches in ``keep`` (B×K), or B×L×D_enc when ``keep`` is None -> B×L×patch_pixels."""
        x = self.embed(tokens)
        if keep is not None:  # scatter the visible tokens back into a full sequence of mask tokens
            full = self.mask_token.expand(x.shape[0], self.num_patches, -1).clone()
            x = full.scatter(1, keep.unsqueeze(-1).expand(-1, -1, x.shape[-1]), x)
        x = x + self.pos
        for block in self.blocks:
            x = block(x)
        return self.head(self.norm(x))


class Sobel(nn.Module):
    """Fixed grey-scale + Sobel filter: B×C×H×W -> B×2×H×W (horizontal and vertical edges). DeepCluster puts this in front
    of its CNN so that colour, the easiest cue to cluster on, is gone and the clusters must follow edges and shapes."""

    def __init__(self, in_channels: int) -> None:
        super().__init__()
        gx = torch.tensor([[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]])
        self.register_buffer("kernel", torch.stack([gx, gx.T]).unsqueeze(1), persistent=False)  # 2×1×3×3
        self.in_channels = in_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        grey = x.mean(dim=1, keepdim=True) if self.in_channels > 1 else x
        return F.conv2d(grey, self.kernel, padding=1)


class SobelCNN(nn.Module):
    """``Sobel`` followed by a ``SmallCNN`` on the two edge channels."""

    def __init__(self, in_channels: int = 1, width: int = 32) -> None:
        super().__init__()
        self.sobel = Sobel(in_channels)
        self.cnn = SmallCNN(2, width)
        self.out_dim = self.cnn.out_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.cnn(self.sobel(x))
