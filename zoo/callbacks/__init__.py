"""Keras callbacks of the zoo (one public class per file); importing the package registers each with
keras.saving.

- `PrototypeReassignment`: the Hungarian label-to-prototype step of DL2PA during `fit`.
- `RetrievalEvaluation`: recall@k, MAP@R and nearest-centroid accuracy of the embeddings every epoch.
- `EmbeddingProjector`: embeddings, labels and image sprites for TensorBoard's projector every n epochs (Poincaré as
  ball and tangent views).
- `EmbeddingPlotSummary`: the 2-D picture of the embeddings (the head's own picture at d = 2, else PCA/t-SNE) as a
  TensorBoard image every n epochs.
- `ReIDEvaluation`: CMC rank-k, mAP and mINP of a validation query/gallery every epoch (re-ID).
- `FewShotEvaluation`: mean accuracy ± 95% CI over fixed evaluation episodes every epoch.
- `AtomicBackupAndRestore`, `AtomicModelCheckpoint`: Keras' checkpoint callbacks with atomic file writes.
- `StopOnInterrupt`: Ctrl-C stops `fit` cleanly after the current batch (on JAX a plain Ctrl-C is lost).

Example:
    >>> model.fit(ds, epochs=10, callbacks=[zoo.callbacks.PrototypeReassignment(every_n_epochs=1)])
"""

from zoo.callbacks.atomic_backup_and_restore import AtomicBackupAndRestore
from zoo.callbacks.atomic_model_checkpoint import AtomicModelCheckpoint
from zoo.callbacks.embedding_plot_summary import EmbeddingPlotSummary
from zoo.callbacks.embedding_projector import EmbeddingProjector
from zoo.callbacks.fewshot_evaluation import FewShotEvaluation
from zoo.callbacks.prototype_reassignment import PrototypeReassignment
from zoo.callbacks.reid_evaluation import ReIDEvaluation
from zoo.callbacks.retrieval_evaluation import RetrievalEvaluation
from zoo.callbacks.stop_on_interrupt import StopOnInterrupt

__all__ = ["AtomicBackupAndRestore", "AtomicModelCheckpoint", "EmbeddingPlotSummary", "EmbeddingProjector",
           "FewShotEvaluation", "PrototypeReassignment", "ReIDEvaluation", "RetrievalEvaluation", "StopOnInterrupt"]
