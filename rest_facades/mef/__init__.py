"""MEF LSO Sonata and Cantata (Grace): one definition, mounted once per flavour."""
