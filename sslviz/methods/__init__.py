"""The self-supervised methods, one file each, and their registry (:mod:`sslviz.methods.registry`).

Adding a method is one file in this folder that ends with ``SPEC = MethodSpec(...)`` plus one
``register_module`` line below (docs/ARCHITECTURE.md, "Add a method in one file").
"""

from sslviz.methods.base import Method
from sslviz.methods.registry import (
    COLLAPSE_MECHANISMS,
    FAMILIES,
    REGISTRY,
    MethodSpec,
    by_mechanism,
    create,
    default_config,
    of_family,
    register,
    register_module,
    spec,
    title,
    train_defaults,
    unregister,
)

# The registrations: one line per method, in the order pages list them.
register_module("simclr")
register_module("moco")
register_module("byol")
register_module("simsiam")
register_module("barlow_twins")
register_module("vicreg")
register_module("dino")
register_module("swav")
register_module("deepcluster")
register_module("mae")
register_module("autoencoder")
register_module("rotation")
register_module("jigsaw")
register_module("inpainting")
register_module("colorization")
register_module("clip")
register_module("virtex")
register_module("temporal")
register_module("depth")
register_module("audiovisual")

__all__ = ["COLLAPSE_MECHANISMS", "FAMILIES", "by_mechanism", "REGISTRY", "Method", "MethodSpec", "create", "default_config", "of_family", "register", "register_module", "spec",
           "title", "train_defaults", "unregister"]
