"""Print the parameters and MACs of any mmffnet config.

    python tools/analysis_tools/get_flops.py CONFIG [--shape H W] [--deploy]

MACs are counted by mmengine's analysis (one multiply-add = one "FLOP",
the convention of the FFNet paper). ``--deploy`` folds the model first, the
form the paper's numbers refer to.
"""
import argparse
import sys

import torch
from mmengine.model import revert_sync_batchnorm

from mmffnet import reparameterize_model
from mmffnet.apis import build_model, load_config
from mmffnet.tasks import task_of
from mmffnet.deployment import TensorForward, add_model_args, input_shape_of


def parse_args():
    parser = argparse.ArgumentParser(
        description='Parameters and MACs of a model config')
    add_model_args(parser, checkpoint=False)
    parser.add_argument(
        '--deploy', action='store_true', help='fold the model first')
    parser.add_argument(
        '--show-table', action='store_true', help='print per-module table')
    return parser.parse_args()


def main():
    args = parse_args()
    try:
        cfg = load_config(args.config, args.cfg_options)
        shape = input_shape_of(cfg, args.shape)
        model = revert_sync_batchnorm(build_model(cfg)).eval()
    except (FileNotFoundError, ValueError) as err:
        sys.exit(f'error: {err}')
    if args.deploy:
        reparameterize_model(model, inplace=True)
    task = task_of(cfg)
    wrapped = TensorForward(model, task).eval()
    inputs = task.example_inputs(shape)
    with torch.no_grad():
        macs, table = task.complexity(wrapped, inputs, args.show_table)
    if table:
        print(table)
    params = sum(p.numel() for p in model.parameters())
    split = '=' * 40
    print(f'{split}\nConfig: {args.config}\n'
          f'Input shape: {shape[0]}x{shape[1]}\n'
          f'Folded (deploy): {args.deploy or getattr(model, "deploy", False)}\n'
          f'Params: {params / 1e6:.2f} M\n'
          f'MACs (GFLOPs as in the paper): {macs / 1e9:.2f} G\n'
          f'{split}')


if __name__ == '__main__':
    main()
