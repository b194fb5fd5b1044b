"""The machinery of ``scripts/load_test.py`` (the script holds the scenarios and the command line):
what the sessions record (:mod:`.record`), the servers under test (:mod:`.servers`), the probes
that sample them (:mod:`.sampler`), one timed interaction of a protocol or chromium tab
(:mod:`.steps`) and the report (:mod:`.report`)."""
