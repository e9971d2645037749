import os.path as osp

from setuptools import find_packages, setup


def read_version():
    namespace = {}
    with open(osp.join(osp.dirname(__file__), 'mmffnet', 'version.py')) as f:
        exec(f.read(), namespace)
    return namespace['__version__']


def read_requirements(name):
    path = osp.join(osp.dirname(__file__), 'requirements', name)
    with open(path) as f:
        return [
            line.strip() for line in f
            if line.strip() and not line.startswith('#')
        ]


MIM_FILES = [
    '.mim/model-index.yml',
    '.mim/configs/**/*.py',
    '.mim/configs/**/*.yml',
    '.mim/configs/**/*.md',
    '.mim/tools/*.py',
    '.mim/tools/*/*.py',
    '.mim/tools/dist_*.sh',
    '.mim/tools/slurm_*.sh',
]

setup(
    name='mmffnet',
    version=read_version(),
    description='FFNet (MetaMixer) backbones for mmpretrain, mmdet, mmseg and '
    'super-resolution',
    long_description=open('README.md').read() if osp.exists('README.md') else '',
    long_description_content_type='text/markdown',
    license='Apache-2.0',
    packages=find_packages(include=('mmffnet', 'mmffnet.*')),
    # configs/, the user-facing tools and model-index.yml ship inside the
    # package as OpenMMLab's libraries ship them (mmffnet/.mim links to them
    # in the checkout; the wheel holds copies): mmffnet.apis.config_dir(),
    # `python -m mmffnet` and mmengine's `mmffnet::` lookup read them there.
    package_data={'mmffnet': MIM_FILES},
    python_requires='>=3.9',
    install_requires=read_requirements('runtime.txt'),
    extras_require=dict(
        deploy=read_requirements('deploy.txt'),
        tests=read_requirements('tests.txt')),
    zip_safe=False,
)
