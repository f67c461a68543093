"""Datasets as tensors: one module per dataset, each registering its facts once (``DatasetInfo``).

``load(name, split, seed)`` returns a :class:`Dataset` (float images in [0, 1] shaped N×C×H×W,
integer labels, per-image attributes and captions). The generated and bundled datasets need no
download, so the app runs offline on a fresh machine. Text (vocabulary, tokenizer, captions), the
paired modalities (clips, depth maps, sounds) and the validation of uploaded images have their
own modules. Adding a dataset: one file that calls :func:`register`, plus one import line below.
"""

# The registrations: one line per dataset. Their order is the sidebar's (the offline datasets, then the downloads).
from sslviz.data import clutter, digits, photos, shapes  # noqa: E402,F401,I001  (each module registers itself)
from sslviz.data import mnist, fashion_mnist, cifar10, svhn, stl10  # noqa: E402,F401  (downloads, read by sslviz.data.files)
from sslviz.data import own  # noqa: E402,F401  (your own images: a folder or a zip, resolved by name at run time)
from sslviz.data.base import (
    REGISTRY,
    SPLITS,
    VALIDATION_SHARE,
    Dataset,
    DatasetInfo,
    Inputs,
    check_inputs,
    info,
    load,
    missing,
    names,
    register,
    take,
    to_device,
    validation_index,
)
from sslviz.data.paired import (
    CLIP_FRAMES,
    HELD_OUT_COMBOS,
    MODALITIES,
    PARTNER_NAMES,
    SOUND_RATE,
    SOUND_SAMPLES,
    SPECTROGRAM_FFT,
    SPECTROGRAM_HOP,
    TIMBRES,
    check_pairable,
    held_out_mask,
    pairs,
    partner_pictures,
    spectrogram,
)
from sslviz.data.render import (
    COLOURS,
    SHAPE_NAMES,
    SHAPES_SIZE,
    object_masks,
    position_words,
    render_shapes,
    shape_alpha,
    shape_caption,
)
from sslviz.data.text import (
    BOS,
    CAPTION_LENGTH,
    CAPTION_TEMPLATES,
    CAPTION_VARIANTS,
    EOS,
    PAD,
    SPECIAL_TOKENS,
    VOCAB,
    WORD_INDEX,
    caption_variants,
    detokenize,
    text_problem,
    tokenize,
    unknown_words,
    usable_lines,
    words,
)

__all__ = [
    "BOS", "CAPTION_LENGTH", "CAPTION_TEMPLATES", "CAPTION_VARIANTS", "CLIP_FRAMES", "COLOURS", "Dataset", "DatasetInfo", "EOS",
    "HELD_OUT_COMBOS", "Inputs", "check_inputs", "take", "to_device", "MODALITIES", "PARTNER_NAMES", "PAD", "REGISTRY", "SHAPES_SIZE", "SHAPE_NAMES", "object_masks", "SOUND_RATE", "SOUND_SAMPLES", "SPECIAL_TOKENS",
    "SPECTROGRAM_FFT", "SPECTROGRAM_HOP", "SPLITS", "TIMBRES", "VALIDATION_SHARE", "validation_index", "VOCAB", "WORD_INDEX", "caption_variants", "check_pairable", "detokenize",
    "held_out_mask", "info", "load", "missing", "names", "pairs", "partner_pictures", "position_words", "register", "render_shapes", "shape_alpha", "shape_caption",
    "spectrogram", "text_problem", "tokenize", "unknown_words", "usable_lines", "words",
]
