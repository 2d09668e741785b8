"""Async Python SDK for the Pacta e-signature API."""
