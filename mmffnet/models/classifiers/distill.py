"""Knowledge distillation from a frozen teacher (DeiT-style)."""
import os.path as osp
from typing import List, Optional, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.logging import print_log
from mmpretrain.models import ImageClassifier
from mmpretrain.registry import MODELS as MMPRETRAIN_MODELS
from mmpretrain.structures import DataSample

from mmffnet.registry import MODELS
from mmffnet.utils.checkpoint import check_state_dict, read_checkpoint


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

    The teacher is built, and its weights loaded, on first use: the first
    training step (or the first call of :meth:`get_teacher`). Testing,
    exporting, counting or running the student needs neither the teacher nor
    its weights. Once built, the teacher is kept out of the module tree: it
    is not in ``state_dict()`` (checkpoints hold the student only), not in
    ``parameters()`` (the optimizer and DDP never see it), always in eval
    mode and run under ``no_grad``. It is placed on the student's device and
    dtype and follows later ``.to()`` / ``.cuda()`` calls.

    Args:
        teacher (dict | str): Model config of the teacher (e.g.
            ``dict(type='TimmClassifier', model_name='regnety_160')``) or the
            path of an mmpretrain config whose ``model`` is the teacher.
        teacher_checkpoint (str, optional): Teacher weights (path or URL),
            loaded strictly. None keeps random weights, which is only useful
            for smoke tests (a warning says so).
        teacher_url (str, optional): Where the teacher weights can be
            downloaded; named in the error when ``teacher_checkpoint`` is a
            missing file. Defaults to None.
        distill_mode (str): ``'hard'`` or ``'soft'``. Defaults to 'hard'.
        alpha (float): Weight of the distillation term. Defaults to 0.5.
        tau (float): Softmax temperature of the soft mode. Defaults to 1.0.
        **kwargs: The arguments of ``ImageClassifier``.
    """

    def __init__(self,
                 teacher: Union[dict, str],
                 teacher_checkpoint: Optional[str] = None,
                 teacher_url: Optional[str] = None,
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
        self.teacher_cfg = teacher
        self.teacher_checkpoint = teacher_checkpoint
        self.teacher_url = teacher_url
        # A list hides the teacher from nn.Module's registration.
        self._teacher: List[nn.Module] = []

    def get_teacher(self) -> nn.Module:
        """The frozen teacher, built and loaded on the first call.

        A method rather than a property, so that tools which inspect the
        model's attributes (TorchScript, ``hasattr``) never build it.
        """
        if not self._teacher:
            teacher = self._build_teacher()
            for param in teacher.parameters():
                param.requires_grad = False
            student = next(self.parameters(), None)
            if student is not None:
                teacher.to(device=student.device, dtype=student.dtype)
            self._teacher.append(teacher.eval())
        return self._teacher[0]

    def _build_teacher(self) -> nn.Module:
        teacher = self.teacher_cfg
        if isinstance(teacher, str):
            if not osp.isfile(teacher):
                raise FileNotFoundError(
                    f'teacher config {teacher!r} does not exist')
            teacher = Config.fromfile(teacher).model
        checkpoint = self.teacher_checkpoint
        if checkpoint is not None and '://' not in checkpoint \
                and not osp.isfile(checkpoint):
            source = f'download {self.teacher_url} there' \
                if self.teacher_url else 'put the teacher weights there'
            raise FileNotFoundError(
                f'teacher checkpoint {checkpoint!r} does not exist: {source}, '
                f'or point model.teacher_checkpoint to the file '
                f'(model.teacher_checkpoint=None: random teacher, for smoke '
                f'tests only)')
        teacher = dict(teacher)
        teacher.pop('data_preprocessor', None)  # the student's one is used
        model = MMPRETRAIN_MODELS.build(teacher)
        if checkpoint is None:
            print_log(
                'DistilledImageClassifier: the teacher has RANDOM weights '
                '(teacher_checkpoint=None); fine for a smoke test, useless '
                'for training.',
                logger='current',
                level=30)
            return model
        _, state = read_checkpoint(checkpoint)
        own = model.state_dict()
        if not set(state) & set(own) and all(k.startswith('model.')
                                             for k in own):
            # A bare timm checkpoint for mmpretrain's TimmClassifier.
            state = {f'model.{k}': v for k, v in state.items()}
        check_state_dict(model, state, f'Teacher checkpoint {checkpoint}')
        model.load_state_dict(state, strict=True)
        return model

    def _apply(self, fn, *args, **kwargs):
        super()._apply(fn, *args, **kwargs)
        for teacher in self._teacher:
            teacher._apply(fn, *args, **kwargs)
        return self

    def train(self, mode: bool = True):
        super().train(mode)
        for teacher in self._teacher:
            teacher.eval()  # the teacher's BN statistics stay fixed
        return self

    @torch.no_grad()
    def teacher_logits(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.get_teacher()(inputs, mode='tensor')

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
