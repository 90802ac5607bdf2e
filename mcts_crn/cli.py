"""What the command lines share: bad input (a ``ValueError`` naming the file, row and column, or a file that
cannot be opened) is printed as ``error: ...`` with exit status 2, not as a traceback."""
from __future__ import annotations

import sys
from typing import Callable


def run(main: Callable[[], int]) -> None:
    """Exit with ``main()``'s status; a ``ValueError`` or ``OSError`` prints its message and exits with 2."""
    try:
        sys.exit(main())
    except (ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
