"""The built-in signature table, one module per group of attack families.

Each module exports ``SIGNATURES``; :mod:`..signatures` joins them.  The
families follow how attacks are *written* (a quote closing a literal then a
boolean connector, a shell separator then a command, a template opener then an
expression), not any one list of payloads.
"""
