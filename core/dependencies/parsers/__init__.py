"""One parser per ecosystem's manifest and lockfile formats, each a plain function `parse_x(src: Source)` that
adds the file's dependencies and problems to `src` (see `common.Source`). `core.dependencies.inventory` decides
which files to read and calls them."""
