# UperNet with an FFNet backbone (official FFNet ADE20K setting): all four
# stages feed UperNet, each through a channels-first LayerNorm (eps 1e-6),
# and an FCN auxiliary head reads stage 3 (index 2). SyncBN everywhere.
_base_ = ['mmseg::_base_/models/upernet_convnext.py']
custom_imports = dict(imports=['mmffnet'], allow_failed_imports=False)

norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    backbone=dict(
        _delete_=True,
        type='FFNet',
        arch='3',
        out_indices=(0, 1, 2, 3),
        final_norm=False,
        out_norm_cfg=dict(type='LN2d', eps=1e-6),
        norm_cfg=norm_cfg,
        drop_path_rate=0.3),
    decode_head=dict(in_channels=[96, 192, 384, 768], channels=512),
    auxiliary_head=dict(in_channels=384, in_index=2))
