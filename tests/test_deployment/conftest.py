import pytest
import torch


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Tiny inputs gain nothing from a second thread, and on a busy 2-core
    machine OpenMP's spinning threads make them several times slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
