"""Benchmarks for cekura-gate: ``python -m bench`` (``make bench``) prints one table.

Sections: evaluation at scale (against the ``json.load`` floor), waiting (requests and lag
against fixed polling, in virtual time through the real poller), runs fetch (concurrent
chunks against one at a time, over a real socket), and start-up time.
"""
