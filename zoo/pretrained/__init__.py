"""The published zoo: list, download (sha256-verified), cache and load pretrained task models.

- `list_weights(task=None, dataset=None)`, `info(name)`: the manifest (inside the package: works offline).
- `path(name_or_source, *, sha256, cache_dir, offline)`: a verified local file (downloads with pooch; `hf://`
  with huggingface_hub when installed); `load(...)`: the ready task model; `fetch(names, dir)`: copies for an
  air-gapped machine.
- `evaluate(model, protocol)`: a published model's test protocol (what its card's metric comes from).
- `python -m zoo.pretrained list | info NAME | fetch NAME DIR | path NAME | hash FILE | evaluate NAME`.

Publishing is `python -m recipes.publish RUN_DIR --name NAME` (weights/<name>/, the manifest entry, the card).
"""

from zoo.pretrained import reid_protocol  # noqa: F401  (registers the "reid" kind)
from zoo.pretrained._download import WeightsUnavailableError, fetch, path
from zoo.pretrained._load import load
from zoo.pretrained._manifest import TASKS, info, list_weights
from zoo.pretrained.protocols import PROTOCOLS, check_protocol, describe_protocol, evaluate, register_protocol

__all__ = ["list_weights", "info", "path", "load", "fetch", "TASKS", "WeightsUnavailableError",
           "evaluate", "register_protocol", "describe_protocol", "check_protocol", "PROTOCOLS"]
