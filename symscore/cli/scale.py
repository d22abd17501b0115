"""``--scheduler ADDRESS | local:N``: run a subcommand's computation on Dask.

The output is the run's without the option (losses, estimates and chains are
the single-process numbers; see :mod:`symscore.distributed`). ``.npy`` data are
then read as memory maps, chunk by chunk, on the workers.

>>> import argparse
>>> p = argparse.ArgumentParser(); add_option(p)
>>> p.parse_args(["--scheduler", "local:2"]).scheduler
'local:2'
"""

from __future__ import annotations

from contextlib import ExitStack, contextmanager

from ..distributed import require_dask
from .common import load_array

__all__ = ["add_option", "scheduled", "Scaled"]


def add_option(parser) -> None:
    parser.add_argument("--scheduler", metavar="ADDRESS|local:N",
                        help="run on Dask: a scheduler address (tcp://host:8786) or local:N "
                             "worker processes; same output (needs the [dask] extra)")


class Scaled:
    """Turns a subcommand's inputs into dask arrays. The client (and a local cluster)
    starts on first use, so that bad input is refused before any cluster starts."""

    def __init__(self, spec: str, stack: ExitStack):
        self.spec, self._stack, self._client = spec, stack, None

    @property
    def client(self):
        if self._client is None:
            from ..distributed.scheduler import session
            self._client = self._stack.enter_context(session(self.spec))
        return self._client

    def data(self, path: str):
        """DATA as a dask array: ``.npy`` memory-mapped on the workers, else loaded here."""
        from ..distributed import scheduler
        if str(path).endswith(".npy"):
            from pathlib import Path
            from .common import UsageError
            if not Path(path).is_file():
                raise UsageError(f"data file {path!r} does not exist")
            try:
                return scheduler.open_npy(path, self.client)
            except (ValueError, OSError) as e:
                raise UsageError(f"cannot read {path!r} as a numeric array: {e}") from None
        X = load_array(path)
        da = require_dask("--scheduler")
        return da.from_array(X, chunks=(scheduler.data_rows(len(X), self.client),) +
                             X.shape[1:])

    def chains(self, x0):
        """Starting points as a dask array chunked along chains."""
        from ..distributed import scheduler
        da = require_dask("--scheduler")
        return da.from_array(x0, chunks=(scheduler.chain_rows(len(x0), self.client),
                                         x0.shape[1]))


@contextmanager
def scheduled(args):
    """A :class:`Scaled` while ``args.scheduler``'s client is active, else None."""
    spec = getattr(args, "scheduler", None)
    if spec is None:
        yield None
        return
    from ..distributed.scheduler import parse
    parse(spec)   # a malformed spec is refused at once
    with ExitStack() as stack:
        yield Scaled(spec, stack)
