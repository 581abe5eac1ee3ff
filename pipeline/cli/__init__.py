"""The ``codegen`` command line."""
