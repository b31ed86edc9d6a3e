"""Project settings. Kedro 0.19's defaults are enough for this example
(OmegaConfigLoader reading conf/base and conf/local, the default DataCatalog)."""
