# Validation and test sets of the official FFNetSR options, x2, in the
# layout of the usual benchmark package (e.g. EDSR's benchmark.tar):
#   data/benchmark/Set5/HR/baby.png  data/benchmark/Set5/LR_bicubic/X2/babyx2.png
# - val: Urban100 every 5000 iterations, PSNR on Y with crop_border 2
#   (options/train/*.yaml: datasets.val_1, val.metrics.psnr)
# - test: Set5, Set14, B100, Urban100, Manga109, PSNR and SSIM on Y with
#   crop_border 2 (options/test/*.yaml: test_1..test_5, val.metrics)
# BasicSR crops each GT to 2x its LR before measuring (AlignGTToLR) and
# runs whole images one at a time (batch 1).
benchmark_root = 'data/benchmark'
scale = 2

test_pipeline = [
    dict(type='LoadPairedImages'),
    dict(type='AlignGTToLR'),
    dict(type='PackSRInputs'),
]


def _benchmark(name):
    return dict(
        batch_size=1,
        num_workers=2,
        persistent_workers=False,
        drop_last=False,
        sampler=dict(type='DefaultSampler', shuffle=False),
        dataset=dict(
            type='PairedImageDataset',
            data_root=f'{benchmark_root}/{name}',
            data_prefix=dict(img=f'LR_bicubic/X{scale}', gt='HR'),
            filename_tmpl=dict(img=f'{{}}x{scale}', gt='{}'),
            scale=scale,
            metainfo=dict(dataset_name=name),
            test_mode=True,
            pipeline=test_pipeline))


val_dataloader = _benchmark('Urban100')
val_evaluator = [dict(type='PSNR', crop_border=scale, convert_to='Y')]

test_dataloader = [
    _benchmark(name)
    for name in ('Set5', 'Set14', 'B100', 'Urban100', 'Manga109')
]
test_evaluator = [
    dict(type='PSNR', crop_border=scale, convert_to='Y'),
    dict(type='SSIM', crop_border=scale, convert_to='Y'),
]
