"""Scale-out: data-parallel training on the engines Keras supports.

- `data_parallel(devices=None)`: context manager; JAX `keras.distribution.DataParallel` (global-batch SPMD:
  equal to one device, stateful heads included), TensorFlow `tf.distribute.MirroredStrategy` (per-replica
  steps, float state averaged over replicas); torch raises (Keras 3.15 has no data-parallel `fit` there).
- `initialize(coordinator, num_processes, process_id, seed=0)`: multi-process JAX, same seed everywhere.
- `process_info()` -> (num_processes, process_index); `num_replicas()` -> devices of the active block.
Task models (`zoo.models`) pad `predict`/`evaluate`/`embed` batches to the device count under JAX data
parallelism and strip the padding. See docs/scaling.md.
"""

from zoo.distribute.data_parallel import DataParallelContext, data_parallel
from zoo.distribute.process import initialize, num_replicas, process_info

__all__ = ["DataParallelContext", "data_parallel", "initialize", "num_replicas", "process_info"]
