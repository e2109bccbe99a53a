"""Benchmarks of linkedthreads against the alternatives, on the emulator.

``python -m benchmarks [--quick] [--out benchmarks/results]`` runs the whole set and writes
``results.json`` (raw), ``results.md`` (tables, targets met or not) and the plots
``requests.png`` and ``round_trips.png``. The method is in ``benchmarks/README.md``.

Modules:

- ``_host``: the emulator in a child process, with its settings switchable at run time;
- ``_measure``: request counting (emulator counters) and round trips (injected latency);
- ``_populate``: fast creation of many objects with raw HTTP (setup, not measured);
- ``_ours``: the figures of ``ThreadIndex``;
- ``_naive``, ``_listing``: the alternatives (a) and (b)/(c);
- ``_concurrency``: the same concurrent-writers test for every design;
- ``_density``: IDs per index object against the limit of the format;
- ``_report``, ``_plot``: Markdown tables, targets, figures;
- ``_seconds``: seconds at a modelled service latency, from the measured round trips;
- ``scale`` (``python -m benchmarks.scale``): one conversations index grown to 1,000,000;
- ``startup`` (``python -m benchmarks.startup``): start-up time of the command line.
"""
