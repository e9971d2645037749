from .distill import (DistilledImageClassifier, hard_distillation_loss,
                      soft_distillation_loss)

__all__ = [
    'DistilledImageClassifier', 'hard_distillation_loss',
    'soft_distillation_loss'
]
