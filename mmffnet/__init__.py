"""mmffnet: FFNet (MetaMixer) backbones as OpenMMLab 2.0 plugins."""
from .version import __version__

__all__ = ['__version__']
