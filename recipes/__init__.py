"""Ready recipes pairing backbones, heads and data: `python -m recipes.classification --help`."""
