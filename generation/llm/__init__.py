"""Prompting an LLM for explanations of behaviour pairs: prompts, output parsing, backends. No Django here."""
