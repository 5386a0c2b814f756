"""Benign background activity, one module per product family."""
