"""Annotation: yes/no questions, assignment, answers, consolidation and the annotator UI (issue 4)."""
