# FFNet-3D as the official ScanNet / ScanNet200 / S3DIS configs build it
# (ysj9909/FFNet, 3d_sem_segmentation/configs/scannet/scannet-ffnet.py,
# model): Pointcept's DefaultSegmentorV2 around the `ffnet` backbone,
# in_channels 6 (colour + normal), encoder depths (2, 2, 2, 6, 2) and widths
# (32, 64, 128, 256, 512), decoder depths (2, 2, 2, 2) and widths
# (64, 64, 128, 256), kernels 3, stride 2, mlp_ratio 4, drop_path 0.3, a
# Linear(64, classes) head, cross-entropy + Lovasz (weights 1 and 1, label
# -1 ignored). The serialization orders of the official config have no
# effect on FFNet's outputs (its blocks are sparse convolutions, not
# serialized attention), so there is no `order` here. The dataset bases set
# num_classes (and S3DIS use_gelu=False).
model = dict(
    type='PointSegmentor',
    num_classes=20,
    backbone_out_channels=64,
    backbone=dict(
        type='FFNet3D',
        in_channels=6,
        enc_depths=(2, 2, 2, 6, 2),
        enc_channels=(32, 64, 128, 256, 512),
        dec_depths=(2, 2, 2, 2),
        dec_channels=(64, 64, 128, 256),
        stride=(2, 2, 2, 2),
        enc_ks=3,
        dec_ks=3,
        mlp_ratio=4,
        proj_drop=0.0,
        drop_path=0.3,
        use_gelu=True),
    loss_ce=dict(type='CrossEntropyLoss', loss_weight=1.0, ignore_index=-1),
    loss_lovasz=dict(type='LovaszLoss', loss_weight=1.0, ignore_index=-1))
