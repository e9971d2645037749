from .reparameterize import fold_submodules, reparameterize_model
from .task_model import ModeDispatchModel

__all__ = ['ModeDispatchModel', 'fold_submodules', 'reparameterize_model']
