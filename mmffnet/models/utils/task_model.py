"""The one ``forward`` of mmffnet's own MMEngine models."""
from typing import Optional

from mmengine.model import BaseModel


class ModeDispatchModel(BaseModel):
    """An MMEngine model whose ``forward`` hands each ``mode`` to its
    method, as mmengine's runner and loops call it: ``'loss'`` to
    :meth:`loss`, ``'predict'`` to :meth:`predict` and ``'tensor'`` (the
    plain network, what exports trace) to :meth:`_forward`.

    Subclasses (``SRModel``, ``Forecaster``, ``PointSegmentor``) implement
    the three methods.
    """

    def forward(self,
                inputs,
                data_samples: Optional[list] = None,
                mode: str = 'tensor'):
        if mode == 'tensor':
            return self._forward(inputs)
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        raise ValueError(f"Invalid mode {mode!r}: use 'loss', 'predict' or "
                         "'tensor'")

    def _forward(self, inputs):
        """The network's output on ``inputs`` (``mode='tensor'``)."""
        raise NotImplementedError

    def loss(self, inputs, data_samples: list) -> dict:
        """The losses of a training batch (``mode='loss'``)."""
        raise NotImplementedError

    def predict(self, inputs, data_samples: Optional[list] = None) -> list:
        """The data samples with the predictions (``mode='predict'``)."""
        raise NotImplementedError
