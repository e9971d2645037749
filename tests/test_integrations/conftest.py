# One torch thread for these small models, as for the deployment tests.
from tests.test_deployment.conftest import one_torch_thread  # noqa: F401
