"""Knowledge distillation from a frozen teacher (DeiT-style)."""
import os.path as osp
from typing import List, Optional, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.logging import print_log
from mmpretrain.models import ImageClassifier
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample


def hard_distillation_loss(student_logits: torch.Tensor,
                           teacher_logits: torch.Tensor) -> torch.Tensor:
    """Cross-entropy against the teacher's arg-max class."""
    return F.cross_entropy(student_logits, teacher_logits.argmax(dim=1))


def soft_distillation_loss(student_logits: torch.Tensor,
                           teacher_logits: torch.Tensor,
                           tau: float) -> torch.Tensor:
    """KL(teacher || student) of tau-softened distributions, times tau^2.

    Normalised by the number of logits (batch x classes), the convention of
    DeiT's soft distillation that the official FFNet recipe inherits.
    """
    return F.kl_div(
        F.log_softmax(student_logits / tau, dim=1),
        F.log_softmax(teacher_logits / tau, dim=1),
        reduction='sum',
        log_target=True) * (tau * tau) / student_logits.numel()


@MODELS.register_module()
class DistilledImageClassifier(ImageClassifier):
    """An ``ImageClassifier`` trained against a frozen teacher.

    ``loss = (1 - alpha) * head_loss + alpha * distillation_loss`` where the
    distillation term is the cross-entropy against the teacher's predicted
    class (``distill_mode='hard'``) or the tau-softened KL divergence
    (``'soft'``). The teacher sees the same augmented batch as the student.

    The teacher is kept out of the module tree: it is not in
    ``state_dict()`` (checkpoints hold the student only), not in
    ``parameters()`` (the optimizer and DDP never see it), always in eval
    mode and run under ``no_grad``. It still follows ``.to()`` / ``.cuda()``.

    Args:
        teacher (dict | str): Model config of the teacher (e.g.
            ``dict(type='TimmClassifier', model_name='regnety_160')``) or the
            path of an mmpretrain config whose ``model`` is the teacher.
        teacher_checkpoint (str, optional): Teacher weights, loaded
            strictly. None keeps random weights, which is only useful for
            smoke tests (a warning says so).
        distill_mode (str): ``'hard'`` or ``'soft'``. Defaults to 'hard'.
        alpha (float): Weight of the distillation term. Defaults to 0.5.
        tau (float): Softmax temperature of the soft mode. Defaults to 1.0.
        **kwargs: The arguments of ``ImageClassifier``.
    """

    def __init__(self,
                 teacher: Union[dict, str],
                 teacher_checkpoint: Optional[str] = None,
                 distill_mode: str = 'hard',
                 alpha: float = 0.5,
                 tau: float = 1.0,
                 **kwargs):
        super().__init__(**kwargs)
        if distill_mode not in ('hard', 'soft'):
            raise ValueError(f"distill_mode must be 'hard' or 'soft', got "
                             f'{distill_mode!r}')
        if not 0 <= alpha <= 1:
            raise ValueError(f'alpha must be in [0, 1], got {alpha}')
        if tau <= 0:
            raise ValueError(f'tau must be positive, got {tau}')
        self.distill_mode = distill_mode
        self.alpha = alpha
        self.tau = tau
        teacher_model = self._build_teacher(teacher, teacher_checkpoint)
        for param in teacher_model.parameters():
            param.requires_grad = False
        # A list hides the teacher from nn.Module's registration.
        self._teacher: List[nn.Module] = [teacher_model.eval()]

    @property
    def teacher(self) -> nn.Module:
        return self._teacher[0]

    @staticmethod
    def _build_teacher(teacher: Union[dict, str],
                       checkpoint: Optional[str]) -> nn.Module:
        if isinstance(teacher, str):
            if not osp.isfile(teacher):
                raise FileNotFoundError(
                    f'teacher config {teacher!r} does not exist')
            teacher = Config.fromfile(teacher).model
        teacher = dict(teacher)
        teacher.pop('data_preprocessor', None)  # the student's one is used
        model = MODELS.build(teacher)
        if checkpoint is None:
            print_log(
                'DistilledImageClassifier: the teacher has RANDOM weights '
                '(teacher_checkpoint=None); fine for a smoke test, useless '
                'for training.',
                logger='current',
                level=30)
            return model
        if not osp.isfile(checkpoint):
            raise FileNotFoundError(
                f'teacher checkpoint {checkpoint!r} does not exist: download '
                f'the teacher weights there (see configs/classification/'
                f'ffnet/README.md) or set model.teacher_checkpoint=None for a '
                f'smoke test with a random teacher')
        state = torch.load(checkpoint, map_location='cpu', weights_only=True)
        for key in ('state_dict', 'model'):
            if isinstance(state, dict) and isinstance(state.get(key), dict):
                state = state[key]
                break
        own = model.state_dict()
        if not set(state) & set(own) and all(k.startswith('model.')
                                             for k in own):
            # A bare timm checkpoint for mmpretrain's TimmClassifier.
            state = {f'model.{k}': v for k, v in state.items()}
        missing = sorted(set(own) - set(state))
        unexpected = sorted(set(state) - set(own))
        if missing or unexpected:
            raise KeyError(
                f'teacher checkpoint {checkpoint} does not match the teacher '
                f'model: missing {missing[:5]}, unexpected {unexpected[:5]}; '
                f'check model.teacher')
        model.load_state_dict(state, strict=True)
        return model

    def _apply(self, fn, *args, **kwargs):
        super()._apply(fn, *args, **kwargs)
        self.teacher._apply(fn, *args, **kwargs)
        return self

    def train(self, mode: bool = True):
        super().train(mode)
        self.teacher.eval()  # the teacher's BN statistics stay fixed
        return self

    @torch.no_grad()
    def teacher_logits(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.teacher(inputs, mode='tensor')

    def distillation_loss(self, student_logits: torch.Tensor,
                          teacher_logits: torch.Tensor) -> torch.Tensor:
        if self.distill_mode == 'hard':
            return hard_distillation_loss(student_logits, teacher_logits)
        return soft_distillation_loss(student_logits, teacher_logits,
                                      self.tau)

    def loss(self, inputs: torch.Tensor,
             data_samples: List[DataSample]) -> dict:
        feats = self.extract_feat(inputs)
        student_logits = self.head(feats)
        losses = self.head._get_loss(student_logits, data_samples)
        teacher_logits = self.teacher_logits(inputs)
        kd = self.distillation_loss(student_logits, teacher_logits)
        losses['loss_cls'] = losses.pop('loss') * (1 - self.alpha)
        losses['loss_distill'] = kd * self.alpha
        return losses
