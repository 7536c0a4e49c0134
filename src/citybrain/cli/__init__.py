"""The ``citybrain`` command line: the top layer, free to call every stage."""
