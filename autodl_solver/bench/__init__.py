"""The benchmark machinery ``autodl-solver bench`` runs, installed with the package.

Offline dataset builders (:mod:`.datasets` and one module per domain), the
suite runner that goes through ingestion + scoring (:mod:`.suite`,
:mod:`.protocol_runner`), report tables and plots (:mod:`.report`) and the
machine / provenance facts recorded beside every number (:mod:`.machine`,
which also decides where results go: ``benchmarks/results`` of a source
checkout, ``./bench_results`` from an installed package). The single studies
and their recorded results stay in the repository's ``benchmarks/``.
"""
