"""Dates and times as Plausi shows them in English: ISO-like ("2026-12-05 21:53"), never "Dec. 5, 2026, 9:53 p.m."
(its abbreviations' periods doubled up before a sentence's own). Django's localisation reads these before the
``DATE_FORMAT``/``DATETIME_FORMAT`` settings, which say the same for any other language."""

DATE_FORMAT = "Y-m-d"
DATETIME_FORMAT = "Y-m-d H:i"
TIME_FORMAT = "H:i"
SHORT_DATE_FORMAT = "Y-m-d"
SHORT_DATETIME_FORMAT = "Y-m-d H:i"
MONTH_DAY_FORMAT = "F j"
YEAR_MONTH_FORMAT = "F Y"
