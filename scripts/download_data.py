"""Download the Severstal competition into a folder: `python scripts/download_data.py data/severstal`.

A thin wrapper over the `steel-download` console script (same options, see --help)."""
from steel_segmentation.cli import steel_download

if __name__ == '__main__': steel_download()
