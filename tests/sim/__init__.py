"""The tests' simulator: the package's read-only simulated Neon API plus faults, a request log,
in-process control of its world and an HTTP control API (``/_sim/``).

    python -m tests.sim --port 0 --projects 50 --key demo=TOKEN
"""

from exporter.simulator import SimEndpoint, SimProject, error_response
from tests.sim.faults import Fault, RequestRecord
from tests.sim.simulator import Simulator

__all__ = ["Fault", "RequestRecord", "SimEndpoint", "SimProject", "Simulator", "error_response"]
