"""mmffnet's tools from any directory: ``python -m mmffnet COMMAND ...``.

    python -m mmffnet list [PATTERN]           # config names, task, weights
    python -m mmffnet train CONFIG [args]      # tools/train.py
    python -m mmffnet test CONFIG CKPT [args]  # tools/test.py
    python -m mmffnet infer CONFIG CKPT IMAGE  # tools/infer.py
    python -m mmffnet convert SRC DST [args]   # tools/model_converters/...
    python -m mmffnet export CONFIG [args]     # tools/deployment/export.py
    python -m mmffnet flops CONFIG [args]      # tools/analysis_tools/...
    python -m mmffnet benchmark CONFIG [args]  # tools/analysis_tools/...
    python -m mmffnet check-dataset CONFIG     # tools/analysis_tools/...

CONFIG is a config file or a config name (``ffnet-1_8xb128_in1k``). Each
command runs the tool shipped in the package (``mmffnet/.mim/tools``) with
the remaining arguments; ``python -m mmffnet train -h`` shows its options.
Multi-process training: ``torchrun --nproc_per_node N -m mmffnet train
CONFIG --launcher pytorch``.
"""
import os.path as osp
import runpy
import sys

from mmffnet.apis import list_configs, mim_dir, model_index

TOOLS = {
    'train': 'train.py',
    'test': 'test.py',
    'infer': 'infer.py',
    'convert': 'model_converters/official_to_mmffnet.py',
    'export': 'deployment/export.py',
    'flops': 'analysis_tools/get_flops.py',
    'benchmark': 'analysis_tools/benchmark.py',
    'check-dataset': 'analysis_tools/check_dataset.py',
}


def print_configs(pattern: str = '*') -> None:
    """One line per config: name, task and official weights if any."""
    index = model_index()
    for name in list_configs(pattern):
        weights = index[name].get('Weights', '')
        print(f'{name:<48s} {index[name]["Task"]:<16s} {weights}'.rstrip())


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    commands = ', '.join(['list', *TOOLS])
    if not argv or argv[0] in ('-h', '--help'):
        print(__doc__)
        return
    command, args = argv[0], argv[1:]
    if command == 'list':
        print_configs(*args[:1])
        return
    if command not in TOOLS:
        sys.exit(f'error: unknown command {command!r}; the commands are '
                 f'{commands} (python -m mmffnet -h)')
    tool = osp.join(mim_dir(), 'tools', TOOLS[command])
    sys.argv = [tool, *args]
    runpy.run_path(tool, run_name='__main__')


if __name__ == '__main__':
    main()
