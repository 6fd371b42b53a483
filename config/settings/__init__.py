"""Settings modules: ``base`` (shared), ``local`` (embedded demo), ``test`` and ``production``."""
