from .builder import build_activation_layer, build_norm_layer
from .ffnet_block import (ChannelMixer, DropPath, FFNetBlock,
                          FFNifiedAttention, LayerScale, build_depthwise)
from .norm import LayerNorm2d
from .reparam import (ConvBN, KernelSize, NormConvShortcut, RepDWConv,
                      fuse_conv_bn, pad_kernel_to, strip_rep_kernel_sizes)

__all__ = [
    'ChannelMixer', 'ConvBN', 'DropPath', 'FFNetBlock', 'FFNifiedAttention',
    'KernelSize', 'LayerNorm2d', 'LayerScale', 'NormConvShortcut',
    'RepDWConv', 'build_activation_layer', 'build_depthwise',
    'build_norm_layer', 'fuse_conv_bn', 'pad_kernel_to',
    'strip_rep_kernel_sizes'
]
