"""The developer portal: which API suits which use, guides, interactive docs, downloads."""
