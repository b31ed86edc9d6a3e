"""Project settings. Kedro 1.x's defaults are enough for this example
(OmegaConfigLoader reading conf/base and conf/local, the default DataCatalog)."""
