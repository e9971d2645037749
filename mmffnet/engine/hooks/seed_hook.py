"""Per-epoch seeds, so that a resumed run replays its epochs exactly."""
import random

import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.runner import EpochBasedTrainLoop

from mmffnet.registry import HOOKS


@HOOKS.register_module()
class SeedEachEpochHook(Hook):
    """Seed Python's, NumPy's and torch's generators at the start of every
    training epoch from the run's seed and the epoch.

    mmengine resumes at the checkpoint's epoch boundary but does not save
    the generators' states, so after a restart the main process would draw
    other random numbers (augmentations with ``num_workers=0``, batch
    augments such as mixup, drop-path masks) than the uninterrupted run.
    With this hook each epoch draws the same whether it runs first or is
    replayed after ``--resume``. Iteration-based loops have one epoch and
    are left alone. (Dataloader workers seed themselves from the run's seed
    when they start, see mmengine's ``worker_init_fn``, so a replay draws
    the same there only when workers are not persistent.)
    """

    priority = 'VERY_HIGH'  # before anything of the epoch draws

    def before_train_epoch(self, runner) -> None:
        if not isinstance(runner.train_loop, EpochBasedTrainLoop):
            return
        seed = int(
            np.random.SeedSequence([runner.seed, runner.epoch
                                    ]).generate_state(1)[0])
        random.seed(seed)
        np.random.seed(seed)
        torch.manual_seed(seed)  # all CUDA devices too
