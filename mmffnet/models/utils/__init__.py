from .reparameterize import fold_submodules, reparameterize_model

__all__ = ['fold_submodules', 'reparameterize_model']
