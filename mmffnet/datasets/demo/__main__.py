"""Write an embedded demo dataset (the datasets also write it on first use).

    python -m mmffnet.datasets.demo classification [OUT_DIR]
        [--num-train-per-class N] [--num-val-per-class N] [--image-size PX]
        [--seed S]
    python -m mmffnet.datasets.demo detection [OUT_DIR] [--num-train N]
        [--num-val N] [--image-size PX] [--max-objects K] [--seed S]
    python -m mmffnet.datasets.demo segmentation [OUT_DIR] [--num-train N]
        [--num-val N] [--image-size PX] [--seed S]
    python -m mmffnet.datasets.demo super_resolution [OUT_DIR]
        [--num-train N] [--num-val N] [--image-size PX] [--seed S]

OUT_DIR defaults to the folder the demo configs read (``data/ffnet_demo_*``);
options left out take the defaults of the task's ``write_dataset``.
"""
import argparse
import importlib
import os.path as osp

from .common import generate_atomically

# The integer options of each task's write_dataset, with their help.
OPTIONS = {
    'classification': {
        'num_train_per_class': 'training images per class',
        'num_val_per_class': 'validation images per class',
        'image_size': 'image side in pixels',
        'seed': 'random seed of the training split (validation: seed + 1)',
    },
    'detection': {
        'num_train': 'training images',
        'num_val': 'validation images',
        'image_size': 'image side in pixels',
        'max_objects': 'most shapes per image',
        'seed': 'random seed of the training split (validation: seed + 1)',
    },
    'segmentation': {
        'num_train': 'training images',
        'num_val': 'validation images',
        'image_size': 'image side in pixels',
        'seed': 'random seed of the training split (validation: seed + 1)',
    },
    'super_resolution': {
        'num_train': 'training image pairs',
        'num_val': 'validation image pairs',
        'image_size': 'side of the HR images in pixels (even)',
        'seed': 'random seed of the training split (validation: seed + 1)',
    },
}


def parse_args() -> dict:
    parser = argparse.ArgumentParser(
        prog='python -m mmffnet.datasets.demo',
        description=__doc__.split('\n')[0])
    tasks = parser.add_subparsers(dest='task', required=True, metavar='TASK')
    for task, options in OPTIONS.items():
        sub = tasks.add_parser(task, help=f'the {task} demo')
        sub.add_argument(
            'out_dir', nargs='?', help='dataset folder (default: the '
            "demo config's data_root)")
        for name, text in options.items():
            sub.add_argument(
                '--' + name.replace('_', '-'),
                dest=name,
                type=int,
                metavar='N',
                default=argparse.SUPPRESS,
                help=text)
    return vars(parser.parse_args())


def main():
    options = parse_args()
    task = options.pop('task')
    module = importlib.import_module(f'{__package__}.{task}')
    out_dir = options.pop('out_dir') or module.DATA_ROOT
    if osp.isdir(out_dir):
        print(f'{out_dir} exists; delete it to regenerate')
        return
    generate_atomically(out_dir, module.write_dataset, **options)
    print(f'wrote the {task} demo to {out_dir}')


if __name__ == '__main__':
    main()
