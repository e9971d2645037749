# The FFNet backbone of every detector in configs/detection/ffnet, as the
# official ``ffnet_N`` detection backbone builds it
# (detection/mmdet_custom/models/backbones/ffnet.py of ysj9909/FFNet): all
# four stages (strides 4-32), each through a channels-first LayerNorm
# (eps 1e-6), no final norm, SyncBN, no frozen stage. ImageNet weights load
# strictly from ``init_cfg.checkpoint`` under ``backbone.``. The detector
# model bases next to this file use it as
# ``dict(_base_.ffnet_backbone, _delete_=True, ...)``; configs set ``arch``,
# ``drop_path_rate`` and the checkpoint.
custom_imports = dict(imports=['mmffnet'], allow_failed_imports=False)

ffnet_backbone = dict(
    type='FFNet',
    out_indices=(0, 1, 2, 3),
    final_norm=False,
    out_norm_cfg=dict(type='LN2d', eps=1e-6),
    frozen_stages=0,
    norm_eval=False,
    norm_cfg=dict(type='SyncBN', requires_grad=True),
    init_cfg=dict(type='Pretrained', prefix='backbone.'))
