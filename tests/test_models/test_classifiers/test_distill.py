import pytest
import torch
import torch.nn.functional as F
from mmengine.registry import DefaultScope
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

import mmffnet  # noqa: F401
from mmffnet.models.classifiers import (hard_distillation_loss,
                                        soft_distillation_loss)
from mmffnet.utils.checkpoint import CheckpointMismatchError

@pytest.fixture(autouse=True)
def mmpretrain_scope():
    """The classifiers are built in mmpretrain's scope, as the
    ``default_scope`` of a config puts them."""
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        yield


TINY_ARCH = dict(
    depths=[1, 1, 1, 1],
    channels=[8, 16, 16, 32],
    channel_mixer_kernels=[3, 3, 3, 3],
    token_mixer_kernels=[3, 3, 3, 3],
    mlp_ratio=2)


def _classifier(arch, channels, num_classes=5):
    return dict(
        type='ImageClassifier',
        backbone=dict(type='FFNet', arch=arch),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(
            type='LinearClsHead',
            num_classes=num_classes,
            in_channels=channels,
            loss=dict(type='CrossEntropyLoss')))


def _student(mode, alpha=0.3, tau=2.0, teacher_checkpoint=None):
    teacher_arch = dict(TINY_ARCH, channels=[8, 8, 16, 32])
    cfg = _classifier(TINY_ARCH, 32)
    cfg.update(
        type='mmffnet.DistilledImageClassifier',
        teacher=_classifier(teacher_arch, 32),
        teacher_checkpoint=teacher_checkpoint,
        distill_mode=mode,
        alpha=alpha,
        tau=tau)
    return MODELS.build(cfg)


def _batch(n=6, num_classes=5):
    torch.manual_seed(0)
    inputs = torch.randn(n, 3, 32, 32)
    labels = torch.randint(0, num_classes, (n, ))
    samples = [DataSample().set_gt_label(int(y)) for y in labels]
    return inputs, labels, samples


@pytest.mark.parametrize('mode', ['hard', 'soft'])
def test_loss_equals_definition(mode):
    alpha, tau = 0.3, 2.0
    model = _student(mode, alpha, tau)
    model.train()
    inputs, labels, samples = _batch()
    losses = model.loss(inputs, samples)

    with torch.no_grad():
        student = model(inputs, mode='tensor')
        teacher = model.get_teacher()(inputs, mode='tensor')
    ce = F.cross_entropy(student, labels)
    if mode == 'hard':
        kd = F.cross_entropy(student, teacher.argmax(1))
    else:
        # KL(p_t || p_s) summed over the batch, times tau^2 / (N * C)
        p_t = F.softmax(teacher / tau, 1)
        kl = (p_t * (F.log_softmax(teacher / tau, 1) -
                     F.log_softmax(student / tau, 1))).sum()
        kd = kl * tau**2 / student.numel()
    assert losses['loss_cls'].item() == pytest.approx(
        (1 - alpha) * ce.item(), rel=1e-5)
    assert losses['loss_distill'].item() == pytest.approx(
        alpha * kd.item(), rel=1e-5)
    assert kd.item() > 0


def test_soft_loss_is_zero_for_identical_logits():
    logits = torch.randn(4, 7)
    assert soft_distillation_loss(logits, logits, 3.0).abs() < 1e-7
    assert hard_distillation_loss(logits * 100, logits).item() < 1e-3


def test_teacher_frozen_hidden_and_excluded():
    model = _student('hard')
    model.train()
    teacher = model.get_teacher()
    assert not teacher.training
    assert all(not p.requires_grad for p in teacher.parameters())
    # not in the module tree: neither checkpoints nor optimizers see it
    assert not any(k.startswith('teacher') or '_teacher' in k
                   for k in model.state_dict())
    teacher_ids = {id(p) for p in teacher.parameters()}
    assert not teacher_ids & {id(p) for p in model.parameters()}
    # gradients reach the student only
    inputs, _, samples = _batch()
    losses = model.loss(inputs, samples)
    sum(losses.values()).backward()
    assert model.backbone.stages[0][0].channel_mixer.fc1.weight.grad \
        is not None
    assert all(p.grad is None for p in teacher.parameters())
    # .to() moves the teacher too
    model.to(torch.float64)
    assert next(teacher.parameters()).dtype == torch.float64


def test_teacher_checkpoint_loading(tmp_path):
    teacher_arch = dict(TINY_ARCH, channels=[8, 8, 16, 32])
    reference = MODELS.build(_classifier(teacher_arch, 32))
    path = tmp_path / 'teacher.pth'
    torch.save(dict(state_dict=reference.state_dict()), path)
    model = _student('soft', teacher_checkpoint=str(path))
    for key, value in reference.state_dict().items():
        assert torch.equal(model.get_teacher().state_dict()[key], value)

    torch.save(dict(state_dict={'foo': torch.zeros(1)}), path)
    model = _student('hard', teacher_checkpoint=str(path))
    with pytest.raises(CheckpointMismatchError,
                       match='Teacher checkpoint .* does not match'):
        model.get_teacher()


def test_teacher_is_built_when_training_needs_it(tmp_path):
    """Building, running and testing the student never touch the teacher
    file; the first loss does, and a missing file is named with its
    download location."""
    missing = str(tmp_path / 'missing.pth')
    model = _student('hard', teacher_checkpoint=missing)
    model.teacher_url = 'https://example.com/teacher.pth'
    inputs, _, samples = _batch()
    model.eval()
    with torch.no_grad():
        assert model(inputs, mode='tensor').shape == (6, 5)
        assert len(model(inputs, mode='predict')) == 6
    model.to(torch.float64).to(torch.float32)
    model.train()
    assert not model._teacher
    with pytest.raises(FileNotFoundError) as error:
        model.loss(inputs, samples)
    message = str(error.value)
    assert missing in message
    assert 'download https://example.com/teacher.pth there' in message
    assert 'model.teacher_checkpoint=None' in message


def test_teacher_follows_the_student_device_and_dtype():
    model = _student('hard').to(torch.float64)
    assert next(model.get_teacher().parameters()).dtype == torch.float64
    assert not model.get_teacher().training


def test_bad_arguments():
    with pytest.raises(ValueError, match='distill_mode'):
        _student('medium')
    with pytest.raises(ValueError, match='alpha'):
        _student('hard', alpha=1.5)
