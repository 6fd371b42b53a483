"""Demo data: a seeded generator of COSMO-style candidates and the data set it ships."""
