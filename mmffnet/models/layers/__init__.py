from .ffnet_block import (ChannelMixer, FFNetBlock, FFNifiedAttention,
                          LayerScale, build_depthwise)
from .norm import LayerNorm2d
from .reparam import (ConvBN, NormConvShortcut, RepDWConv, fuse_conv_bn,
                      pad_kernel_to, strip_rep_kernel_sizes)

__all__ = [
    'ChannelMixer', 'ConvBN', 'FFNetBlock', 'FFNifiedAttention',
    'LayerNorm2d', 'LayerScale', 'NormConvShortcut', 'RepDWConv',
    'build_depthwise', 'fuse_conv_bn', 'pad_kernel_to',
    'strip_rep_kernel_sizes'
]
