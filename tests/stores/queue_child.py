"""A claiming process for the SQLite queue race.

Started as ``python -c "from tests.stores.queue_child import main; main()" DB MOST``:
prints its lease owner and ``ready``, claims from queue ``q`` after a ``go``
line until a claim comes back empty (or it claimed more than ``MOST``, which
only a broken claim does), printing each claimed workflow, then ``done``.
It stays alive until an ``exit`` line, so that its leases never belong to a
dead process while the others still claim.
"""

from __future__ import annotations

import json
import os
import random
import sys
import time

import waku
from waku._stores.base import new_owner


def main() -> None:
    """Claim queued workflows from the store at ``sys.argv[1]`` in random batches."""
    rng = random.Random(os.getpid())
    owner = new_owner()
    with waku.SQLiteStore(sys.argv[1]) as store:
        print(owner, flush=True)
        print("ready", flush=True)
        sys.stdin.readline()
        most, taken = int(sys.argv[2]), 0
        while taken <= most and (
            claimed := store.claim_workflows(["q"], owner, 60, rng.randint(1, 4))
        ):
            taken += len(claimed)
            for key in claimed:
                print(json.dumps(key))
            time.sleep(0.001)  # as a worker runs what it claimed, letting the others in
        print("done", flush=True)
        sys.stdin.readline()
