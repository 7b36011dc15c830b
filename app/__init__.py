"""Rapport: an open REST API for apps that help couples grow emotional intimacy."""
