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
options left out take the defaults of the task's ``write_dataset``
(the tasks and their options: :mod:`mmffnet.tasks`).
"""
import argparse
import os.path as osp

from mmffnet.tasks import get_task, tasks


def parse_args() -> dict:
    parser = argparse.ArgumentParser(
        prog='python -m mmffnet.datasets.demo',
        description=__doc__.split('\n')[0])
    commands = parser.add_subparsers(
        dest='task', required=True, metavar='TASK')
    for task in tasks():
        sub = commands.add_parser(task.name, help=f'the {task.name} demo')
        sub.add_argument(
            'out_dir', nargs='?', help='dataset folder (default: the '
            "demo config's data_root)")
        for name, text in task.demo_options.items():
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
    task = get_task(options.pop('task'))
    out_dir = options.pop('out_dir') or osp.join('data', task.demo_data)
    if osp.isdir(out_dir):
        print(f'{out_dir} exists; delete it to regenerate')
        return
    task.write_demo(out_dir, **options)
    print(f'wrote the {task.name} demo to {out_dir}')


if __name__ == '__main__':
    main()
